import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { GradientAccumulator } from './accumulate'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

let uid = 0
// A tiny linear model y = xW + b with an MSE loss. x: [N, 3], y: [N, 2]
function model() {
  const w = tf.variable(tf.tensor2d([0.1, -0.2, 0.3, 0.4, -0.5, 0.6], [3, 2]), true, `acc${++uid}/kernel`)
  const b = tf.variable(tf.tensor1d([0.05, -0.05]), true, `acc${uid}/bias`)
  const vars = [w, b]
  const grads = (x: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor[] => {
    const { grads: g, value } = tf.variableGrads(
      () => tf.mean(tf.squaredDifference(tf.add(tf.matMul(x, w), b), y)) as tf.Scalar,
      vars, // explicit list: never every trainable variable in the engine
    )
    value.dispose()
    return vars.map((v) => g[v.name]!)
  }
  return { vars, grads }
}

const N = 8
const X = tf.tensor2d(Array.from({ length: N * 3 }, (_, i) => Math.sin(i + 1)), [N, 3])
const Y = tf.tensor2d(Array.from({ length: N * 2 }, (_, i) => Math.cos(i * 0.7)), [N, 2])

async function expectSame(a: tf.Tensor[], b: tf.Tensor[]): Promise<void> {
  for (let i = 0; i < a.length; i++) {
    const [da, db] = [await a[i]!.data(), await b[i]!.data()]
    da.forEach((v, j) => expect(v).toBeCloseTo(db[j]!, 6))
  }
}

describe('GradientAccumulator', () => {
  it('k micro-batches of b give the gradient of one batch of k·b', async () => {
    const { vars, grads } = model()
    const full = grads(X, Y)
    const acc = new GradientAccumulator()
    const k = 4
    const b = N / k
    for (let i = 0; i < k; i++) {
      const g = tf.tidy(() => grads(X.slice([i * b, 0], [b, 3]), Y.slice([i * b, 0], [b, 2])))
      acc.add(g)
      tf.dispose(g)
    }
    expect(acc.count).toBe(k)
    const mean = acc.mean()
    await expectSame(mean, full)
    tf.dispose([...mean, ...full, ...vars])
    acc.dispose()
  })

  it('weights uneven micro-batches by size; reset reuses its variables without leaking', async () => {
    const { vars, grads } = model()
    const full = grads(X, Y)
    const acc = new GradientAccumulator()
    let tensorsAfterFirst = -1
    for (let round = 0; round < 3; round++) {
      for (const [start, size] of [
        [0, 3],
        [3, 3],
        [6, 2],
      ] as const) {
        const g = tf.tidy(() => grads(X.slice([start, 0], [size, 3]), Y.slice([start, 0], [size, 2])))
        acc.add(g, size)
        tf.dispose(g)
      }
      const mean = acc.mean()
      await expectSame(mean, full)
      tf.dispose(mean)
      acc.reset()
      if (round === 0) tensorsAfterFirst = tf.memory().numTensors
    }
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst)
    const before = tf.memory().numTensors
    acc.dispose()
    expect(tf.memory().numTensors).toBe(before - vars.length)
    expect(() => acc.mean()).toThrow()
    tf.dispose([...full, ...vars])
  })
})
