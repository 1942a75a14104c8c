// The studio's Hugging Face forward passes against an independent implementation: tiny random
// checkpoints with Hugging Face's names and layouts, and the reference outputs computed from them
// in float64 by scripts/hf-reference/make_fixtures.py (PyTorch, written from the HF modelling
// code). Each fixture goes through the real loader (safetensors parse, config check, layout).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HfModel, buildHfModel, greedyGenerate } from './hfModel'
import { parseSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
interface DecoderRef { ids: number[][]; logits: number[]; shape: number[]; prompt: number[]; greedy: number[] }
interface EncoderRef { ids: number[][]; mask: number[][]; tokenTypes?: number[][]; hidden: number[]; shape: number[]; cls: number[]; mean: number[] }
const REF = JSON.parse(readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, DecoderRef | EncoderRef>

function load(name: string): HfModel {
  const bytes = new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))
  return buildHfModel(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'), parseSafetensors(bytes, `${name}/model.safetensors`).tensors)
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

describe.each(['gpt2', 'gpt2-prefixed', 'llama-gqa-tied', 'llama-untied'])('decoder fixture %s', (name) => {
  let model: HfModel
  const ref = REF[name] as DecoderRef
  beforeAll(() => {
    model = load(name)
  })
  afterAll(() => model.dispose())

  it('logits for two sequences agree with the reference to 1e-4', async () => {
    const logits = tf.tidy(() => model.logits(model.forward(tf.tensor2d(ref.ids, undefined, 'int32'))))
    expect(logits.shape).toEqual(ref.shape)
    const got = await logits.data()
    logits.dispose()
    expect(maxAbsDiff(got, ref.logits)).toBeLessThan(1e-4)
  })

  it('greedy generation agrees token for token, and leaks no tensors', async () => {
    const before = tf.memory().numTensors
    expect(await greedyGenerate(model, ref.prompt, ref.greedy.length)).toEqual(ref.greedy)
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe.each(['bert', 'distilbert'])('encoder fixture %s', (name) => {
  let model: HfModel
  const ref = REF[name] as EncoderRef
  beforeAll(() => {
    model = load(name)
  })
  afterAll(() => model.dispose())

  it('hidden states, [CLS] and masked-mean pooling agree with the reference to 1e-4 (padding and token types included)', async () => {
    const [hidden, cls, mean] = tf.tidy(() => {
      const mask = tf.tensor2d(ref.mask, undefined, 'int32')
      const opts = { attentionMask: mask, ...(ref.tokenTypes ? { tokenTypeIds: tf.tensor2d(ref.tokenTypes, undefined, 'int32') } : {}) }
      const h = model.forward(tf.tensor2d(ref.ids, undefined, 'int32'), opts)
      return [h, model.pool(h, 'cls'), model.pool(h, 'mean', mask)]
    })
    expect(hidden.shape).toEqual(ref.shape)
    // Padded positions' own outputs are not compared (HF leaves them computed but meaningless).
    const h = await hidden.data()
    const [b, t, d] = ref.shape as [number, number, number]
    let worst = 0
    for (let i = 0; i < b; i++) for (let j = 0; j < t; j++) if (ref.mask[i]![j]) for (let k = 0; k < d; k++) worst = Math.max(worst, Math.abs(h[(i * t + j) * d + k]! - ref.hidden[(i * t + j) * d + k]!))
    expect(worst).toBeLessThan(1e-4)
    expect(maxAbsDiff(await cls.data(), ref.cls)).toBeLessThan(1e-4)
    expect(maxAbsDiff(await mean.data(), ref.mean)).toBeLessThan(1e-4)
    tf.dispose([hidden, cls, mean])
  })
})

describe('loader checks on the fixtures', () => {
  it('reads the half-precision fixtures as such (bf16 and f16 converted on load)', () => {
    const bf = parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, 'llama-gqa-tied', 'model.safetensors'))))
    expect(bf.tensors.get('model.embed_tokens.weight')!.storedAs).toBe('BF16')
    const f16 = parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, 'llama-untied', 'model.safetensors'))))
    expect(f16.tensors.get('lm_head.weight')!.storedAs).toBe('F16')
  })

  it('the prefixed GPT-2 loads with its attn.bias buffers and lm_head ignored, and the same weights count as the unprefixed layout needs', () => {
    const m = load('gpt2-prefixed')
    // 80·24 + 16·24 + 2·(4·24 + 24·72 + 72 + 24·24 + 24 + 24·40 + 40 + 40·24 + 24) + 2·24, by hand:
    const perBlock = 4 * 24 + 24 * 72 + 72 + 24 * 24 + 24 + 24 * 40 + 40 + 40 * 24 + 24
    expect(m.parameterCount()).toBe(80 * 24 + 16 * 24 + 2 * perBlock + 2 * 24)
    expect(m.linearLayers).toEqual(['h.0.attn.c_attn', 'h.0.attn.c_proj', 'h.0.mlp.c_fc', 'h.0.mlp.c_proj', 'h.1.attn.c_attn', 'h.1.attn.c_proj', 'h.1.mlp.c_fc', 'h.1.mlp.c_proj'])
    m.dispose()
  })

  it('a config whose shapes do not match the weights is refused naming the tensor and both shapes', () => {
    const cfg = JSON.parse(readFileSync(path.join(DIR, 'gpt2', 'config.json'), 'utf8'))
    const tensors = parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, 'gpt2', 'model.safetensors')))).tensors
    const before = tf.memory().numTensors
    expect(() => buildHfModel(JSON.stringify({ ...cfg, n_embd: 48, n_head: 4 }), tensors)).toThrow('model.safetensors: tensor "wte.weight" has shape [96, 32] but config.json needs [96, 48].')
    expect(() => buildHfModel(JSON.stringify({ ...cfg, n_layer: 3 }), tensors)).toThrow('model.safetensors: has no tensor "h.2.ln_1.weight", which config.json\'s gpt2 model needs.')
    expect(() => buildHfModel(JSON.stringify({ ...cfg, model_type: 'llama' }), tensors)).toThrow(/has no tensor "embed_tokens\.weight" \(nor with a prefix "model\."\), so it is not a llama checkpoint matching config\.json/)
    expect(tf.memory().numTensors).toBe(before)
  })
})
