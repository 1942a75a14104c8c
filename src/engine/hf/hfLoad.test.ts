// A model from its files (config, weights, tokenizer, generation config), every missing or
// mismatched file refused by name; and the reverse, a merged checkpoint written in Hugging Face's
// layout that loads back (and, where torch is installed, that the independent reference reads).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { Lora } from '../tuning/lora'
import { hfCheckpointTensors, loadHfBundle, mapSource, parseGenerationConfig, writeHfCheckpoint } from './hfLoad'
import { buildHfModel } from './hfModel'
import { parseSafetensors, writeSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
const ROOT = path.resolve(__dirname, '../../..')
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const HAS_TORCH = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
// The live PyTorch check below runs wherever Debian's python3-torch is installed; CI installs
// it (.ci/run), so there a missing torch is a failure, not a silently skipped check.
if (process.env.CI && !HAS_TORCH) throw new Error(`CI needs the PyTorch reference: ${PYTHON} cannot import torch (.ci/run installs python3-torch)`)
const REF = JSON.parse(readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, { ids: number[][]; logits: number[] }>
const enc = (s: string) => new TextEncoder().encode(s)

/** A word-level tokenizer.json of `n` tokens (WordPiece model, whitespace split): small enough
 *  for the tiny fixtures' vocabularies. */
function tinyTokenizer(n: number): string {
  const vocab = Object.fromEntries(['[UNK]', ...Array.from({ length: n - 1 }, (_, i) => `w${i}`)].map((t, i) => [t, i]))
  return JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab } })
}

function fixtureFiles(name: string, vocab: number): Map<string, Uint8Array> {
  return new Map<string, Uint8Array>([
    ['config.json', new Uint8Array(readFileSync(path.join(DIR, name, 'config.json')))],
    ['model.safetensors', new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))],
    ['tokenizer.json', enc(tinyTokenizer(vocab))],
    ['tokenizer_config.json', enc('{"eos_token":"w3","model_max_length":32}')],
    ['generation_config.json', enc('{"eos_token_id":[3,7],"max_new_tokens":20,"do_sample":false,"temperature":0.7}')],
  ])
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('loading a model from its files', () => {
  it('reads config, weights, tokenizer and generation config, and the model gives the reference logits', async () => {
    const b = await loadHfBundle(mapSource(fixtureFiles('gpt2', 96)))
    expect(b.config.modelType).toBe('gpt2')
    expect(b.tokenizer.encode('w0 w5 nope')).toEqual([1, 6, 0])
    expect(b.tokenizer.eosId).toBe(4)
    expect(b.generation).toEqual({ eosTokenIds: [3, 7], maxNewTokens: 20, doSample: false, temperature: 0.7 })
    expect(b.weightBytes).toBe(readFileSync(path.join(DIR, 'gpt2', 'model.safetensors')).length)
    const logits = tf.tidy(() => b.model.logits(b.model.forward(tf.tensor2d(REF.gpt2!.ids, undefined, 'int32'))))
    expect(maxAbsDiff(await logits.data(), REF.gpt2!.logits)).toBeLessThan(1e-4)
    logits.dispose()
    b.model.dispose()
  })

  it('reads a sharded set through its index', async () => {
    const files = fixtureFiles('llama-untied', 72)
    const { tensors } = parseSafetensors(files.get('model.safetensors')!)
    const names = [...tensors.keys()]
    const half = Math.ceil(names.length / 2)
    const shard = (list: string[]) => writeSafetensors(list.map((n) => ({ name: n, shape: tensors.get(n)!.shape, data: tensors.get(n)!.data })))
    files.delete('model.safetensors')
    files.set('model-00001-of-00002.safetensors', shard(names.slice(0, half)))
    files.set('model-00002-of-00002.safetensors', shard(names.slice(half)))
    files.set('model.safetensors.index.json', enc(JSON.stringify({ weight_map: Object.fromEntries(names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors'])) })))
    const b = await loadHfBundle(mapSource(files))
    const logits = tf.tidy(() => b.model.logits(b.model.forward(tf.tensor2d(REF['llama-untied']!.ids, undefined, 'int32'))))
    expect(maxAbsDiff(await logits.data(), REF['llama-untied']!.logits)).toBeLessThan(1e-4)
    logits.dispose()
    b.model.dispose()
  })

  it('refuses each missing or mismatched file by name, with what to do, building nothing', async () => {
    const before = tf.memory().numTensors
    const without = (name: string, ...drop: string[]) => {
      const f = fixtureFiles(name, 96)
      for (const d of drop) f.delete(d)
      return mapSource(f)
    }
    await expect(loadHfBundle(without('gpt2', 'config.json'))).rejects.toThrow('config.json is missing. Choose it together with the weights')
    await expect(loadHfBundle(without('gpt2', 'model.safetensors'))).rejects.toThrow('model.safetensors is missing (and there is no model.safetensors.index.json for a sharded set).')
    await expect(loadHfBundle(without('gpt2', 'model.safetensors'), { otherFiles: ['config.json', 'pytorch_model.bin'] })).rejects.toThrow('The weights are in pytorch_model.bin, a format the studio does not read.')
    await expect(loadHfBundle(without('gpt2', 'tokenizer.json'))).rejects.toThrow(/^tokenizer\.json: the model has none\./)
    const big = fixtureFiles('gpt2', 96)
    big.set('tokenizer.json', enc(tinyTokenizer(200)))
    await expect(loadHfBundle(mapSource(big))).rejects.toThrow("tokenizer.json has 200 tokens but config.json's model only 96: they come from different models.")
    const mistral = fixtureFiles('gpt2', 96)
    mistral.set('config.json', enc('{"model_type":"mistral"}'))
    await expect(loadHfBundle(mapSource(mistral))).rejects.toThrow('config.json: names model_type "mistral", which the studio cannot run. Supported: gpt2, llama, bert, distilbert')
    const sharded = fixtureFiles('gpt2', 96)
    sharded.delete('model.safetensors')
    sharded.set('model.safetensors.index.json', enc('{"weight_map":{"wte.weight":"model-00001-of-00002.safetensors"}}'))
    await expect(loadHfBundle(mapSource(sharded))).rejects.toThrow('model-00001-of-00002.safetensors is missing: model.safetensors.index.json lists it. Choose every shard of the set.')
    expect(tf.memory().numTensors).toBe(before)
  })

  it('reads generation_config.json: one eos id or a list, sampling settings, nothing when absent', () => {
    expect(parseGenerationConfig('{"bos_token_id":1,"eos_token_id":2,"top_k":50,"top_p":0.9,"repetition_penalty":1.1}')).toEqual({ eosTokenIds: [2], bosTokenId: 1, topK: 50, topP: 0.9, repetitionPenalty: 1.1 })
    expect(parseGenerationConfig(null)).toEqual({ eosTokenIds: [] })
    expect(() => parseGenerationConfig('{')).toThrow('generation_config.json: is not JSON.')
  })
})

describe('writing a merged checkpoint in Hugging Face’s layout', () => {
  it.each([
    ['gpt2', 'transformer.h.0.attn.c_attn.weight', [32, 96]], // Conv1D stays [in, out]
    ['llama-untied', 'model.layers.0.mlp.gate_proj.weight', [48, 32]], // nn.Linear back to [out, in]
  ] as const)('%s with LoRA merged: keys and layouts as the HF class saves them, and it loads back with the LoRA logits', async (name, key, shape) => {
    const files = fixtureFiles(name, 64)
    const b = await loadHfBundle(mapSource(files))
    const lora = new Lora(b.model, { rank: 2, alpha: 4, layers: b.model.linearLayers, seed: 5 })
    for (const p of lora.params) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 11))
    const ids = tf.tensor2d(REF[name]!.ids, undefined, 'int32')
    const hooked = tf.tidy(() => b.model.logits(b.model.forward(ids, { hooks: lora.hooks })))
    lora.merge(b.model)
    const tensors = await hfCheckpointTensors(b.model)
    expect(tensors.find((t) => t.name === key)!.shape).toEqual(shape)
    if (name === 'llama-untied') expect(tensors.find((t) => t.name === 'lm_head.weight')!.shape).toEqual([72, 32])
    const bytes = await writeHfCheckpoint(b.model)
    const back = buildHfModel(new TextDecoder().decode(files.get('config.json')!), parseSafetensors(bytes).tensors)
    const again = tf.tidy(() => back.logits(back.forward(ids)))
    const want = await hooked.data()
    expect(maxAbsDiff(await again.data(), want)).toBeLessThan(1e-4)
    if (HAS_TORCH) {
      const tmp = mkdtempSync(path.join(tmpdir(), 'hfckpt-'))
      writeFileSync(path.join(tmp, 'config.json'), files.get('config.json')!)
      writeFileSync(path.join(tmp, 'model.safetensors'), bytes)
      const run = spawnSync(PYTHON, [path.join(ROOT, 'scripts/hf-reference/forward.py'), tmp, path.join(tmp, 'out.json')], { encoding: 'utf8' })
      expect(run.stderr).toBe('')
      expect(maxAbsDiff(JSON.parse(readFileSync(path.join(tmp, 'out.json'), 'utf8')).logits, want)).toBeLessThan(1e-4)
    }
    tf.dispose([ids, hooked, again])
    lora.dispose()
    back.dispose()
    b.model.dispose()
  })
})
