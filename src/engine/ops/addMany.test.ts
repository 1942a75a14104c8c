import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { addMany, MAX_ADDN_INPUTS } from './addMany'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('addMany: tf.addN in groups a WebGPU shader can bind', () => {
  it('sums any number of tensors to tf.addN within float error, never calling AddN with too many inputs', async () => {
    for (const n of [1, 2, 7, 8, 9, 16, 54, 100]) {
      const xs = Array.from({ length: n }, (_, i) => tf.randomNormal([3, 5], 0, 1, 'float32', i + 1))
      let got: tf.Tensor | null = null
      const { kernels } = await tf.profile(() => (got = addMany(xs)))
      const widest = Math.max(0, ...kernels.filter((k) => k.name === 'AddN').map((k) => k.inputShapes.length))
      expect(widest, `${n} inputs`).toBeLessThanOrEqual(MAX_ADDN_INPUTS)
      if (n > 1) expect(widest).toBeGreaterThan(1) // it did use AddN
      const want = xs.reduce((a, b) => a.add(b))
      const diff = await tf.max(tf.abs(tf.sub(got!, want))).data()
      expect(diff[0]!).toBeLessThan(1e-5 * n)
    }
  })

  it('is exactly tf.addN for up to seven inputs', async () => {
    const xs = Array.from({ length: 7 }, (_, i) => tf.randomNormal([4], 0, 1, 'float32', 10 + i))
    expect(Array.from(await addMany(xs).data())).toEqual(Array.from(await tf.addN(xs).data()))
  })

  it('has the gradient of a sum (ones for every input)', async () => {
    const xs = Array.from({ length: 9 }, (_, i) => tf.scalar(i))
    const grads = tf.grads((...ins: tf.Tensor[]) => addMany(ins))(xs)
    expect(await Promise.all(grads.map(async (g) => (await g.data())[0]))).toEqual(Array(9).fill(1))
  })
})
