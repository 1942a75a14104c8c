import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { TinyGpt } from '../models/tinyGpt'
import { Adapters, combineHooks } from './adapters'
import { Lora } from './lora'
import { bitsEqual, lmLoss, maxAbsDiff, smallModel, tokens, useCpu } from './testUtils'

let model: TinyGpt
beforeAll(useCpu)
afterEach(() => model?.dispose())

describe('Adapters', () => {
  it('change nothing at initialisation (bit-identical), alone or combined with LoRA', async () => {
    model = smallModel()
    const adapters = new Adapters(model, { size: 4, seed: 2 })
    const lora = new Lora(model, { rank: 2, alpha: 4, seed: 3 })
    const tok = tokens()
    const base = model.forward(tok)
    const adapted = model.forward(tok, { hooks: adapters.hooks, training: true })
    const both = model.forward(tok, { hooks: combineHooks(lora.hooks, adapters.hooks) })
    expect(await bitsEqual(base, adapted)).toBe(true)
    expect(await bitsEqual(base, both)).toBe(true)
    tf.dispose([tok, base, adapted, both])
    adapters.dispose()
    lora.dispose()
  })

  it('own down [D, m], up [m, D] and biases after the chosen blocks', () => {
    model = smallModel()
    const adapters = new Adapters(model, { size: 3, blocks: [1] })
    expect(adapters.blocks).toEqual([1])
    expect(adapters.params.map((p) => [p.name, p.variable.shape])).toEqual([
      ['h1.adapter.down.kernel', [16, 3]],
      ['h1.adapter.down.bias', [3]],
      ['h1.adapter.up.kernel', [3, 16]],
      ['h1.adapter.up.bias', [16]],
    ])
    expect(() => new Adapters(model, { size: 0 })).toThrow(/positive integer/)
    expect(() => new Adapters(model, { size: 2, blocks: [-1] })).toThrow(/block -1 does not exist/)
    adapters.dispose()
  })

  it('train: the first step moves `up`, and the model weights stay put', async () => {
    model = smallModel()
    const adapters = new Adapters(model, { size: 4, seed: 2 })
    const tok = tokens()
    const vars = adapters.params.map((p) => p.variable)
    const { value, grads } = tf.variableGrads(() => lmLoss(model, tok, { hooks: adapters.hooks, training: true }), vars)
    const upGrad = grads[adapters.params[2]!.variable.name]!
    const norm = tf.norm(upGrad)
    expect((await norm.data())[0]).toBeGreaterThan(0)
    norm.dispose()
    expect(Object.keys(grads).sort()).toEqual(vars.map((v) => v.name).sort())
    tf.dispose([value, tok, ...Object.values(grads)])
    adapters.dispose()
  })

  it('frees every tensor it made on dispose', () => {
    model = smallModel()
    const before = tf.memory().numTensors
    new Adapters(model, { size: 4, seed: 1 }).dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('combineHooks', () => {
  it('sums linear deltas and chains block hooks in order', async () => {
    model = smallModel()
    const a = new Lora(model, { rank: 2, alpha: 2, seed: 1, targets: ['qkv'] })
    const b = new Lora(model, { rank: 2, alpha: 2, seed: 9, targets: ['qkv', 'proj'] })
    for (const l of [a, b]) for (const p of l.params) if (p.name.endsWith('lora_B')) p.variable.assign(tf.onesLike(p.variable))
    const hooks = combineHooks(a.hooks, undefined, b.hooks)
    const x = tf.randomNormal([5, 16], 0, 1, 'float32', 4) as tf.Tensor2D
    const sum = hooks.linearDelta!('h0.attn.qkv', x, false)!
    const expected = tf.add(a.delta('h0.attn.qkv', x, false)!, b.delta('h0.attn.qkv', x, false)!)
    expect(await maxAbsDiff(sum, expected)).toBe(0)
    const onlyB = hooks.linearDelta!('h0.attn.proj', x, false)!
    expect(await bitsEqual(onlyB, b.delta('h0.attn.proj', x, false)!)).toBe(true)
    expect(hooks.linearDelta!('h0.mlp.fc', x, false)).toBeNull()

    const order: string[] = []
    const chained = combineHooks(
      { afterBlock: (_i, y) => (order.push('first'), tf.add(y, 1) as tf.Tensor3D) },
      { afterBlock: (_i, y) => (order.push('second'), tf.mul(y, 2) as tf.Tensor3D) },
    )
    const y = chained.afterBlock!(0, tf.zeros([1, 1, 2]) as tf.Tensor3D, false)
    expect(order).toEqual(['first', 'second'])
    expect(Array.from(await y.data())).toEqual([2, 2])
    a.dispose()
    b.dispose()
  })
})
