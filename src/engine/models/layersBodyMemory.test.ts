import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { mobileNetV2 } from '../../../scripts/make-mobilenet-fixture.mjs'
import { FeatureCache } from '../train/featureCache'
import { LayersBody, ROWS_PER_PASS_BYTES } from './layersBody'
import { residualModel } from './testModels'

// Issue 15, point 10: a 224 px MobileNetV2 aborted the wasm backend because inference passes
// kept every intermediate of 64 images (88 MB each) inside one tf.tidy. LayersBody now frees
// what no later layer reads when no gradient is recorded, and bounds the rows of a pass.
beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('LayersBody inference memory', () => {
  it('outside a gradient tape, a pass through every block leaves only its result alive, with unchanged values', async () => {
    const body = new LayersBody(residualModel())
    const x = tf.randomUniform([3, 8, 8, 3], 0, 255, 'float32', 9)
    const want = await (body.features.predict(body.embed(x)) as tf.Tensor).data()
    const e = body.embed(x)
    const got = tf.tidy(() => {
      const before = tf.memory().numTensors
      const y = body.forwardFrom(e, 0)
      // stem, res_a, res_b, res_add, top and gap each made an output; only gap's is left.
      expect(tf.memory().numTensors - before).toBe(1)
      return y
    })
    expect(e.isDisposed).toBe(false) // the caller's input is the caller's
    const values = await got.data()
    expect(values.length).toBe(want.length)
    values.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5))
    tf.dispose([x, e, got])
    body.dispose()
  })

  it('under a gradient tape nothing is freed early: gradients equal those of the plain layers model', async () => {
    const body = new LayersBody(residualModel())
    const x = body.embed(tf.randomUniform([2, 8, 8, 3], 0, 255, 'float32', 4))
    const vars = body.params.map((p) => p.variable)
    const ours = tf.variableGrads(() => tf.sum(body.forwardFrom(x, 0)) as tf.Scalar, vars)
    const ref = tf.variableGrads(() => tf.sum(body.features.apply(x, { training: false }) as tf.Tensor) as tf.Scalar, vars)
    expect(Object.keys(ours.grads).length).toBe(vars.length)
    for (const name of Object.keys(ref.grads)) {
      const a = await ours.grads[name]!.data()
      const b = await ref.grads[name]!.data()
      expect(Array.from(b).some((v) => v !== 0)).toBe(true)
      a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4))
    }
    tf.dispose([x, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)])
    body.dispose()
  })

  it('bounds the rows of one pass by the largest activation: 13 for MobileNetV2 at 224 px, 64 for small models', () => {
    const mobile = new LayersBody(mobileNetV2({ size: 224, classes: 10 }))
    // Largest output: block_1_expand, 112 × 112 × 96 floats; three alive at once, 4 bytes each.
    expect(mobile.rowsPerPass).toBe(Math.floor((192 * 2 ** 20) / (3 * 4 * 112 * 112 * 96)))
    expect(mobile.rowsPerPass).toBe(13)
    expect(ROWS_PER_PASS_BYTES).toBe(192 * 2 ** 20)
    mobile.dispose()
    const small = new LayersBody(residualModel())
    expect(small.rowsPerPass).toBe(64)
    small.dispose()
  })
})

describe('FeatureCache.ensure', () => {
  it('computes missing rows at most rowsPerPass at a time, and skips cached ones', async () => {
    const cache = new FeatureCache(1, false, { train: 30, val: 0 })
    const passes: number[][] = []
    const compute = (rows: number[]) => {
      passes.push(rows)
      return tf.tensor2d(rows.map((r) => [r, -r]))
    }
    await cache.ensure('train', [0, 1, 2, 3, 4], 64, compute)
    await cache.ensure('train', Array.from({ length: 30 }, (_, i) => i), 13, compute)
    expect(passes.map((p) => p.length)).toEqual([5, 13, 12])
    expect(passes[1]![0]).toBe(5)
    const row = tf.tidy(() => cache.gather('train', [29, 3]))
    expect(await row.array()).toEqual([[29, -29], [3, -3]])
    row.dispose()
    cache.dispose()
  })
})
