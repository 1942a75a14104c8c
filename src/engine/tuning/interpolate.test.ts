import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { TinyGpt } from '../models/tinyGpt'
import { applyInterpolation, disposeWeights, interpolateWeights, resetWeights, snapshotWeights, type WeightMap } from './interpolate'
import { bitsEqual, maxAbsDiff, smallModel, useCpu } from './testUtils'

let model: TinyGpt
let base: WeightMap
let tuned: WeightMap
beforeAll(useCpu)
afterEach(() => {
  disposeWeights(base)
  disposeWeights(tuned)
  model.dispose()
})

/** A model, its weights, then every weight moved: base and tuned snapshots. */
function setUp(): void {
  model = smallModel()
  base = snapshotWeights(model.params)
  let s = 50
  for (const p of model.params) p.variable.assign(tf.tidy(() => tf.add(p.variable, tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', s++))))
  tuned = snapshotWeights(model.params)
}

describe('interpolation', () => {
  it('snapshots keep the old values after the variables move', async () => {
    setUp()
    const name = 'h0.attn.qkv.kernel'
    expect(await bitsEqual(base.get(name)!, tuned.get(name)!)).toBe(false)
    expect(await bitsEqual(model.get(name), tuned.get(name)!)).toBe(true)
  })

  it('α = 0 gives the base, α = 1 the tuned weights exactly, α = ½ the midpoint', async () => {
    setUp()
    const before = tf.memory().numTensors
    applyInterpolation(model, base, tuned, 0)
    for (const p of model.params) expect(await bitsEqual(p.variable, base.get(p.name)!)).toBe(true)
    applyInterpolation(model, base, tuned, 1)
    for (const p of model.params) expect(await bitsEqual(p.variable, tuned.get(p.name)!)).toBe(true)
    applyInterpolation(model, base, tuned, 0.5)
    expect(tf.memory().numTensors).toBe(before)
    // The midpoint worked out number by number in float64, off the device.
    for (const p of model.params) {
      const [b, t, got] = await Promise.all([base.get(p.name)!.data(), tuned.get(p.name)!.data(), p.variable.data()])
      got.forEach((x, i) => expect(Math.abs(x - (b[i]! + t[i]!) / 2)).toBeLessThanOrEqual(1e-6))
    }
  })

  it('mixes hand-picked weights to the values worked out by hand', async () => {
    const b: WeightMap = new Map([['w', tf.tensor1d([0, 2, -4, 1, 10])]])
    const t: WeightMap = new Map([['w', tf.tensor1d([4, 6, 0, 1, -10])]])
    const quarter = interpolateWeights(b, t, 0.25)
    expect(Array.from(await quarter.get('w')!.data())).toEqual([1, 3, -3, 1, 5])
    const beyond = interpolateWeights(b, t, 1.5) // extrapolation past the tuned weights
    expect(Array.from(await beyond.get('w')!.data())).toEqual([6, 8, 2, 1, -20])
    disposeWeights(quarter)
    disposeWeights(beyond)
    disposeWeights(b)
    disposeWeights(t)
  })

  it('interpolateWeights returns new tensors the caller owns', async () => {
    setUp()
    const mixed = interpolateWeights(base, tuned, 0.25)
    expect([...mixed.keys()]).toEqual([...tuned.keys()])
    const name = 'lnf.gamma'
    // The model's weights stay untouched; the caller's copy holds ¾ base + ¼ tuned (checked in float64).
    expect(await bitsEqual(model.get(name), tuned.get(name)!)).toBe(true)
    const [b, t, got] = await Promise.all([base.get(name)!.data(), tuned.get(name)!.data(), mixed.get(name)!.data()])
    got.forEach((x, i) => expect(Math.abs(x - (0.75 * b[i]! + 0.25 * t[i]!))).toBeLessThanOrEqual(1e-6))
    disposeWeights(mixed)
    expect(await bitsEqual(tuned.get(name)!, model.get(name))).toBe(true) // still alive after the copy is freed
  })

  it('resetWeights puts a snapshot back bit-exact, survives the snapshot being freed, and leaks nothing', async () => {
    setUp() // the model holds the tuned weights
    const before = tf.memory().numTensors
    resetWeights(model, base)
    expect(tf.memory().numTensors).toBe(before)
    for (const p of model.params) expect(await bitsEqual(p.variable, base.get(p.name)!)).toBe(true)
    const name = 'h0.attn.qkv.kernel'
    const expected = Array.from(await base.get(name)!.data())
    // The variables keep their values once the snapshot is disposed and after a later step moves them.
    const copy = snapshotWeights(model.params)
    resetWeights(model, copy)
    disposeWeights(copy)
    expect(Array.from(await model.get(name).data())).toEqual(expected)
    resetWeights(model, tuned)
    expect(await bitsEqual(model.get(name), tuned.get(name)!)).toBe(true)
    expect(Array.from(await base.get(name)!.data())).toEqual(expected)
  })

  it('resetWeights refuses a name the model lacks or another shape, writing nothing', async () => {
    setUp()
    const name = 'lnf.gamma'
    const stranger: WeightMap = new Map([[name, base.get(name)!], ['nope', base.get(name)!]])
    expect(() => resetWeights(model, stranger)).toThrow(/Reset: the model has no weight "nope"/)
    const wrongShape = base.get('lnf.beta')!.reshape([4, 4])
    expect(() => resetWeights(model, new Map([[name, wrongShape]]))).toThrow(/Reset: "lnf.gamma" is \[16\] in the model but \[4, 4\] saved/)
    wrongShape.dispose()
    expect(await bitsEqual(model.get(name), tuned.get(name)!)).toBe(true) // untouched
  })

  it('reports missing names and shape mismatches', () => {
    setUp()
    const partial: WeightMap = new Map([['lnf.gamma', base.get('lnf.gamma')!]])
    expect(() => interpolateWeights(partial, tuned, 0.5)).toThrow(/base weights have no "wte.embeddings"/)
    const wrong: WeightMap = new Map([['lnf.gamma', base.get('lnf.beta')!.reshape([4, 4])]])
    expect(() => interpolateWeights(base, wrong, 0.5)).toThrow(/"lnf.gamma" is \[16\] in the base but \[4, 4\] tuned/)
    const stranger: WeightMap = new Map([['nope', base.get('lnf.gamma')!]])
    expect(() => applyInterpolation(model, stranger, stranger, 0.5)).toThrow(/model has no weight "nope"/)
    expect(() => interpolateWeights(base, tuned, Number.NaN)).toThrow(/finite/)
    wrong.get('lnf.gamma')!.dispose()
  })
})
