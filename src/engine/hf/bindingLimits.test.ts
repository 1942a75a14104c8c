// WebGPU's storage-buffer binding limit: which tensors of a model are over it (by hand: GPT-2's
// embedding is 50,257 × 768 × 4 = 154,389,504 bytes against 134,217,728), and the split tied
// head / embedding lookup giving the unsplit numbers (checked here on the cpu backend against
// plain loops and the PyTorch reference; bench/node/bindingSplit.test.ts runs it on Dawn).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { Lora } from '../tuning/lora'
import { WEBGPU_DEFAULT_LIMITS, bindingAdvice, chunkedEmbeddingLookup, chunkedTiedLogits, rowsPerChunk, splitRows, tensorsOverBindingLimit } from './bindingLimits'
import { parseHfConfig } from './config'
import { bindingProblems } from '../session/families/hf'
import { DEFAULTS } from '../../settings/schema'
import { generate } from './generate'
import { buildHfModel } from './hfModel'
import { parseSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
const REF = JSON.parse(readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, { ids: number[][]; logits: number[]; prompt: number[]; greedy: number[] }>
const load = (name: string) => buildHfModel(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'), parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))).tensors)

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('what is over the binding limit', () => {
  const gpt2 = parseHfConfig({ model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 })
  it('GPT-2 124M under WebGPU’s default 128 MiB: the embedding, in 2 chunks of 43,690 rows; 8 × 1024 tokens of logits in 13', () => {
    expect(rowsPerChunk(768, 134_217_728)).toBe(43_690) // 134,217,728 / 3,072 bytes a row
    expect(tensorsOverBindingLimit(gpt2, WEBGPU_DEFAULT_LIMITS)).toEqual([{ name: 'wte.weight', shape: [50257, 768], bytes: 154_389_504, chunks: 2 }])
    // logits of 8,192 tokens: 8,192 · 50,257 · 4 = 1,646,821,376 bytes; a row is 201,028 bytes, 667 rows a chunk, 13 chunks
    expect(tensorsOverBindingLimit(gpt2, WEBGPU_DEFAULT_LIMITS, { tokens: 8192 })[1]).toEqual({ name: 'logits', shape: [8192, 50257], bytes: 1_646_821_376, chunks: 13 })
  })
  it('nothing with a desktop GPU’s 2 GiB binding; the smaller of binding and buffer size counts', () => {
    expect(tensorsOverBindingLimit(gpt2, { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 })).toEqual([])
    expect(tensorsOverBindingLimit(gpt2, { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 100_000_000 }).map((t) => t.name)).toEqual(['wte.weight'])
  })
  it('SmolLM2-135M’s 49,152 × 576 table (113 MB) fits the default; TinyLlama’s untied 32,000 × 2,048 embedding and head (262 MB) do not', () => {
    const smol = parseHfConfig({ model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152, tie_word_embeddings: true })
    expect(tensorsOverBindingLimit(smol, WEBGPU_DEFAULT_LIMITS)).toEqual([])
    const tiny = parseHfConfig({ model_type: 'llama', hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22, num_attention_heads: 32, num_key_value_heads: 4, vocab_size: 32000, tie_word_embeddings: false })
    expect(tensorsOverBindingLimit(tiny, WEBGPU_DEFAULT_LIMITS).map((t) => [t.name, t.bytes, t.chunks])).toEqual([
      ['embed_tokens.weight', 262_144_000, 2],
      ['lm_head.weight', 262_144_000, 2],
    ])
  })
})

describe('split tables give the unsplit numbers', () => {
  const V = 50
  const D = 8
  const table = Float32Array.from({ length: V * D }, (_, i) => Math.sin(i * 0.7) * 0.5)
  const x = Float32Array.from({ length: 3 * D }, (_, i) => Math.cos(i * 1.3))
  it('tied logits from 4 chunks (16, 16, 16, 2 rows) equal the plain loops', async () => {
    const t = tf.tensor2d(table, [V, D])
    const chunks = await splitRows(t, 16 * D * 4)
    expect(chunks.map((c) => c.shape[0])).toEqual([16, 16, 16, 2])
    const got = await chunkedTiedLogits(tf.tensor2d(x, [3, D]), chunks).data()
    for (let n = 0; n < 3; n++)
      for (let v = 0; v < V; v++) {
        let s = 0
        for (let k = 0; k < D; k++) s += x[n * D + k]! * table[v * D + k]!
        expect(got[n * V + v]).toBeCloseTo(s, 5)
      }
    tf.dispose([t, ...chunks])
  })
  it('an embedding lookup across chunks returns exactly the rows', async () => {
    const t = tf.tensor2d(table, [V, D])
    const chunks = await splitRows(t, 16 * D * 4)
    const ids = [0, 15, 16, 31, 32, 48, 49, 7]
    const got = await chunkedEmbeddingLookup(chunks, tf.tensor1d(ids, 'int32')).data()
    expect([...got]).toEqual(ids.flatMap((id) => [...table.slice(id * D, id * D + D)]))
    tf.dispose([t, ...chunks])
  })

  it.each(['gpt2', 'llama-untied'])('%s split below its table size: the reference logits, the reference greedy tokens, no tensors left after', async (name) => {
    const model = load(name)
    const ref = REF[name]!
    const before = tf.memory().numTensors
    // gpt2: wte 96 × 32 (12,288 bytes) → 39 rows a chunk, 3 chunks; llama-untied: embedding 72 × 32 and head kernel [32, 72]
    expect(await model.splitLargeTables(5000)).toEqual(name === 'gpt2' ? ['wte.weight'] : ['embed_tokens.weight', 'lm_head.kernel'])
    const logits = tf.tidy(() => model.logits(model.forward(tf.tensor2d(ref.ids, undefined, 'int32'))))
    const got = await logits.data()
    logits.dispose()
    let worst = 0
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - ref.logits[i]!))
    expect(worst).toBeLessThan(1e-4)
    expect((await generate(model, ref.prompt, { maxNewTokens: ref.greedy.length })).ids).toEqual(ref.greedy)
    model.unsplitTables()
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  })

  it('LoRA on a split GPT-2 gets the unsplit loss and LoRA gradients', async () => {
    const run = async (split: boolean) => {
      const model = load('gpt2')
      if (split) await model.splitLargeTables(5000)
      const lora = new Lora(model, { rank: 2, alpha: 4, layers: model.linearLayers, seed: 3 })
      for (const p of lora.params) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 5))
      const ids = tf.tensor2d(REF.gpt2!.ids, undefined, 'int32')
      const vars = lora.params.map((p) => p.variable)
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.logits(model.forward(ids, { hooks: lora.hooks, training: true, frozenBase: true }), { headFrozen: true }))) as tf.Scalar, vars)
      const out = { loss: (await value.data())[0]!, grads: await Promise.all(vars.map((v) => grads[v.name]!.data())) }
      tf.dispose([ids, value, ...Object.values(grads)])
      lora.dispose()
      model.dispose()
      return out
    }
    const [a, b] = [await run(false), await run(true)]
    expect(b.loss).toBeCloseTo(a.loss, 5)
    for (let i = 0; i < a.grads.length; i++) for (let j = 0; j < a.grads[i]!.length; j++) expect(Math.abs(b.grads[i]![j]! - a.grads[i]![j]!)).toBeLessThan(1e-5)
  })
})

describe('advice for a run under a binding limit', () => {
  const gpt2 = parseHfConfig({ model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 })
  it('GPT-2 124M at 128 MiB: LoRA splits the embedding and allows 667 tokens a batch (134,217,728 / 201,028 bytes a row of logits)', () => {
    expect(bindingAdvice(gpt2, WEBGPU_DEFAULT_LIMITS, { method: 'lora', tokensPerBatch: 512 })).toEqual({ split: ['wte.weight'], maxTokensPerBatch: 667, refusal: null })
  })
  it('refuses full fine-tuning (the embedding would train whole) and a batch of logits over the limit, saying what to use', () => {
    expect(bindingAdvice(gpt2, WEBGPU_DEFAULT_LIMITS, { method: 'full' }).refusal).toBe("The token embedding (154 MB) is over this GPU's 134 MB storage-buffer limit, so full fine-tuning cannot train it here. Use LoRA, or train the last blocks only (freeze), which keep the embedding frozen.")
    expect(bindingAdvice(gpt2, WEBGPU_DEFAULT_LIMITS, { method: 'lora', tokensPerBatch: 8 * 128 }).refusal).toBe("The logits of 1024 tokens a batch (206 MB) are over this GPU's 134 MB storage-buffer limit. Use at most 667 tokens a batch (batch size × sequence length).")
  })
  it('nothing to split or refuse with a 2 GiB binding; an untied Llama head is split by its kernel', () => {
    expect(bindingAdvice(gpt2, { maxStorageBufferBindingSize: 2 ** 31, maxBufferSize: 2 ** 32 }, { method: 'full', tokensPerBatch: 8192 })).toEqual({ split: [], maxTokensPerBatch: 10_682, refusal: null })
    const tiny = parseHfConfig({ model_type: 'llama', hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22, num_attention_heads: 32, num_key_value_heads: 4, vocab_size: 32000, tie_word_embeddings: false })
    expect(bindingAdvice(tiny, WEBGPU_DEFAULT_LIMITS, { method: 'lora' }).split).toEqual(['embed_tokens.weight', 'lm_head.kernel'])
  })
  it('an untied head over the limit refuses freezing (the last blocks train the head) and full fine-tuning, and advises LoRA only', () => {
    // TinyLlama-class: the untied head is 32,000 × 2,048 × 4 = 262,144,000 bytes (262 MB)
    const tiny = parseHfConfig({ model_type: 'llama', hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22, num_attention_heads: 32, num_key_value_heads: 4, vocab_size: 32000, tie_word_embeddings: false })
    expect(bindingAdvice(tiny, WEBGPU_DEFAULT_LIMITS, { method: 'freeze' }).refusal).toBe("The LM head (262 MB) is over this GPU's 134 MB storage-buffer limit, and training the last blocks trains the head too, which cannot be done here. Use LoRA, which keeps the head frozen.")
    expect(bindingAdvice(tiny, WEBGPU_DEFAULT_LIMITS, { method: 'full' }).refusal).toBe("The token embeddings and the LM head (262 MB) are over this GPU's 134 MB storage-buffer limit, so full fine-tuning cannot train them here. Use LoRA, which keeps both frozen.")
    expect(bindingAdvice(tiny, WEBGPU_DEFAULT_LIMITS, { method: 'lora' }).refusal).toBeNull()
    // the page flags the Method control, the one to change
    expect(bindingProblems(tiny, WEBGPU_DEFAULT_LIMITS, { ...DEFAULTS, method: 'freeze', batchSize: 1, seqLen: 32 }, 'lm', 2048).map((p) => p.field)).toEqual(['method'])
    // GPT-2's head is its embedding (tied): freezing keeps it frozen, so it is not refused
    expect(bindingAdvice(parseHfConfig({ model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257 }), WEBGPU_DEFAULT_LIMITS, { method: 'freeze' }).refusal).toBeNull()
  })
})
