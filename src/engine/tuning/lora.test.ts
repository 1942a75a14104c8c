import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { TinyGpt } from '../models/tinyGpt'
import { Lora, parseLoraTargets } from './lora'
import { bitsEqual, lmLoss, maxAbsDiff, smallModel, tokens, useCpu } from './testUtils'

let model: TinyGpt
beforeAll(useCpu)
afterEach(() => model?.dispose())

describe('Lora', () => {
  it('leaves the outputs bit-identical at initialisation, even with LoRA dropout on', async () => {
    model = smallModel()
    const lora = new Lora(model, { rank: 4, alpha: 8, dropout: 0.2, seed: 3 })
    const tok = tokens()
    const base = model.forward(tok)
    const inference = model.forward(tok, { hooks: lora.hooks })
    const training = model.forward(tok, { hooks: lora.hooks, training: true })
    expect(await bitsEqual(base, inference)).toBe(true)
    expect(await bitsEqual(base, training)).toBe(true)
    tf.dispose([tok, base, inference, training])
    lora.dispose()
  })

  it('targets the chosen kinds and blocks with A [in, r] and B [r, out]', () => {
    model = smallModel()
    const lora = new Lora(model, { rank: 2, alpha: 4, targets: ['qkv', 'out'], blocks: [1] })
    expect(lora.layers).toEqual(['h1.attn.qkv', 'h1.mlp.out'])
    expect(lora.blocks).toEqual([1])
    expect(lora.params.map((p) => [p.name, p.variable.shape])).toEqual([
      ['h1.attn.qkv.lora_A', [16, 2]],
      ['h1.attn.qkv.lora_B', [2, 48]],
      ['h1.mlp.out.lora_A', [32, 2]],
      ['h1.mlp.out.lora_B', [2, 16]],
    ])
    expect(lora.scale).toBe(2)
    const x = tf.ones([3, 16]) as tf.Tensor2D
    expect(lora.delta('h0.attn.qkv', x, false)).toBeNull()
    x.dispose()
    lora.dispose()
  })

  it('merged weights give the unmerged outputs within 1e-5 after B moves', async () => {
    model = smallModel()
    const lora = new Lora(model, { rank: 4, alpha: 8, seed: 5 })
    let s = 100
    for (const p of lora.params) {
      if (p.name.endsWith('lora_B')) p.variable.assign(tf.tidy(() => tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', s++)))
    }
    const tok = tokens()
    const base = model.forward(tok)
    const unmerged = model.forward(tok, { hooks: lora.hooks })
    expect(await maxAbsDiff(base, unmerged)).toBeGreaterThan(1e-3) // the update does something
    const before = tf.memory().numTensors
    lora.merge(model)
    expect(tf.memory().numTensors).toBe(before)
    const merged = model.forward(tok)
    expect(await maxAbsDiff(unmerged, merged)).toBeLessThan(1e-5)
    tf.dispose([tok, base, unmerged, merged])
    lora.dispose()
  })

  it('trains only its own weights when given its variable list', async () => {
    model = smallModel()
    const lora = new Lora(model, { rank: 2, alpha: 2, dropout: 0.1, seed: 7 })
    const tok = tokens()
    const body = model.params.map((p) => tf.keep(p.variable.clone()))
    const loraBefore = lora.params.map((p) => tf.keep(p.variable.clone()))
    const opt = tf.train.sgd(0.5)
    for (let i = 0; i < 3; i++) {
      const cost = opt.minimize(
        () => lmLoss(model, tok, { hooks: lora.hooks, training: true }),
        true,
        lora.params.map((p) => p.variable),
      )
      cost?.dispose()
    }
    for (const [i, p] of model.params.entries()) expect(await bitsEqual(p.variable, body[i]!)).toBe(true)
    for (const [i, p] of lora.params.entries()) expect(await bitsEqual(p.variable, loraBefore[i]!)).toBe(false)
    tf.dispose([tok, ...body, ...loraBefore])
    opt.dispose()
    lora.dispose()
  })

  it('rejects a rank larger than a layer allows, naming the layer, and allocates nothing', () => {
    model = smallModel()
    const before = tf.memory().numTensors
    expect(() => new Lora(model, { rank: 17, alpha: 16 })).toThrow(/rank 17 is too large for layer h0\.attn\.qkv.*min\(in 16, out 48\) = 16/)
    expect(() => new Lora(model, { rank: 0, alpha: 1 })).toThrow(/positive integer/)
    expect(() => new Lora(model, { rank: 2, alpha: 1, blocks: [2] })).toThrow(/block 2 does not exist/)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('frees every tensor it made on dispose', () => {
    model = smallModel()
    const before = tf.memory().numTensors
    new Lora(model, { rank: 4, alpha: 4, seed: 1 }).dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('does not leak in a forward pass under tidy', () => {
    model = smallModel()
    const lora = new Lora(model, { rank: 2, alpha: 2, dropout: 0.1, seed: 1 })
    const tok = tokens()
    tf.tidy(() => model.forward(tok, { hooks: lora.hooks, training: true })).dispose() // warms the mask cache
    const before = tf.memory().numTensors
    tf.tidy(() => model.forward(tok, { hooks: lora.hooks, training: true })).dispose()
    expect(tf.memory().numTensors).toBe(before)
    tok.dispose()
    lora.dispose()
  })
})

describe('parseLoraTargets', () => {
  it('parses, dedupes and rejects unknown kinds', () => {
    expect(parseLoraTargets(' qkv, out ,qkv')).toEqual(['qkv', 'out'])
    expect(() => parseLoraTargets('qkv,mlp')).toThrow(/Unknown LoRA target "mlp"/)
    expect(() => parseLoraTargets(' , ')).toThrow(/at least one/)
  })
})
