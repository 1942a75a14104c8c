import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { clipByGlobalNorm, globalNorm } from './clipping'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('clipByGlobalNorm', () => {
  it('scales large gradients to the bound, keeping their direction', async () => {
    const grads = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])] // global norm 13
    const { grads: out, norm } = clipByGlobalNorm(grads, 6.5)
    expect((await norm.data())[0]).toBeCloseTo(13, 5)
    expect(Array.from(await out[0]!.data())).toEqual([expect.closeTo(1.5, 5), expect.closeTo(2, 5)])
    expect((await out[1]!.data())[0]).toBeCloseTo(6, 5)
    expect(out[1]!.shape).toEqual([1, 1])
    const after = globalNorm(out)
    expect((await after.data())[0]).toBeLessThanOrEqual(6.5 + 1e-5)
    tf.dispose([...grads, ...out, norm, after])
  })

  it('leaves gradients within the bound bit-identical', async () => {
    const grads = [tf.tensor1d([0.1, -0.2, 0.3]), tf.scalar(0.7)]
    const { grads: out, norm } = clipByGlobalNorm(grads, 100)
    for (let i = 0; i < grads.length; i++) expect(await out[i]!.data()).toEqual(await grads[i]!.data())
    tf.dispose([...grads, ...out, norm])
  })

  it('maxNorm ≤ 0 returns the inputs themselves; no leaks either way', () => {
    const grads = [tf.tensor1d([30, 40])]
    const before = tf.memory().numTensors
    const off = clipByGlobalNorm(grads, 0)
    expect(off.grads[0]).toBe(grads[0])
    off.norm.dispose()
    const on = clipByGlobalNorm(grads, 1)
    tf.dispose([...on.grads, on.norm])
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose(grads)
  })
})
