import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { CausalLm } from '../lm'
import { evaluateSft, maskedNextTokenLoss } from './loss'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

// Row 0 predicts with logits [0, 0, 0] (p = 1/3 each); row 1 with [ln 2, 0, 0] (p = 1/2, 1/4, 1/4).
const L = [
  [0, 0, 0],
  [Math.log(2), 0, 0],
  [5, -5, 0], // the last position predicts nothing
]

describe('SFT loss: masked next-token cross-entropy', () => {
  it('equals a hand computation and counts only masked-in targets', async () => {
    const logits = tf.tensor3d([L])
    const ids = tf.tensor2d([[2, 1, 0]], [1, 3], 'int32')
    // targets: position 0 → id 1 (p 1/3), position 1 → id 0 (p 1/2)
    const both = maskedNextTokenLoss(logits, ids, tf.tensor2d([[0, 1, 1]]))
    expect(await both.data()).toBeDeepCloseTo([(Math.log(3) + Math.log(2)) / 2], 6)
    const last = maskedNextTokenLoss(logits, ids, tf.tensor2d([[1, 0, 1]])) // mask[0] never counts: nothing predicts token 0
    expect((await last.data())[0]).toBeCloseTo(Math.log(2), 6)
    const none = maskedNextTokenLoss(logits, ids, tf.tensor2d([[1, 0, 0]]))
    expect(Math.abs((await none.data())[0]!)).toBe(0) // −0: the sum of nothing, negated
  })

  it('averages per answer token across rows, and its gradient is (softmax − one-hot)·mask / count', async () => {
    const logits = tf.tensor3d([L, L])
    const ids = tf.tensor2d([[2, 1, 0], [2, 2, 2]], [2, 3], 'int32')
    const mask = tf.tensor2d([[0, 1, 1], [0, 0, 1]])
    // Three counted targets: ln 3, ln 2 (row 0) and row 1 position 1 → id 2 with p 1/4: ln 4.
    const loss = maskedNextTokenLoss(logits, ids, mask)
    expect((await loss.data())[0]).toBeCloseTo((Math.log(3) + Math.log(2) + Math.log(4)) / 3, 6)
    const g = tf.grad((x: tf.Tensor) => maskedNextTokenLoss(x as tf.Tensor3D, ids, mask))(logits)
    const got = (await g.array()) as number[][][]
    const third = 1 / 3
    expect(got[0]![0]).toBeDeepCloseTo([third / 3, (third - 1) / 3, third / 3], 6)
    expect(got[0]![1]).toBeDeepCloseTo([(0.5 - 1) / 3, 0.25 / 3, 0.25 / 3], 6)
    expect(got[0]![2]).toBeDeepCloseTo([0, 0, 0], 6)
    expect(got[1]![0]).toBeDeepCloseTo([0, 0, 0], 6) // masked out
    expect(got[1]![1]).toBeDeepCloseTo([0.5 / 3, 0.25 / 3, (0.25 - 1) / 3], 6)
  })

  it('validation loss is the per-token mean over every window and perplexity its exp', async () => {
    const fixed: CausalLm = { vocabSize: 3, maxLen: 3, logits: (ids) => tf.tidy(() => tf.tile(tf.tensor3d([L]), [ids.shape[0], 1, 1])) as tf.Tensor3D }
    const windows = [
      { ids: [2, 1, 0], mask: [0, 1, 1], rows: [1] },
      { ids: [2, 2, 2], mask: [0, 0, 1], rows: [2] },
    ]
    const before = tf.memory().numTensors
    const ev = await evaluateSft(fixed, windows, 1) // one window per batch: sums, not means, are added
    expect(ev.tokens).toBe(3)
    expect(ev.loss).toBeCloseTo((Math.log(3) + Math.log(2) + Math.log(4)) / 3, 6)
    expect(ev.perplexity).toBeCloseTo(Math.cbrt(3 * 2 * 4), 5)
    expect(tf.memory().numTensors).toBe(before)
    await expect(evaluateSft(fixed, [{ ids: [1, 1, 1], mask: [0, 0, 0], rows: [1] }])).rejects.toThrow(/no answer tokens/)
  })
})

declare module 'vitest' {
  interface Assertion<T> {
    toBeDeepCloseTo(expected: number[], digits?: number): T
  }
}
expect.extend({
  toBeDeepCloseTo(received: ArrayLike<number>, expected: number[], digits = 6) {
    const got = Array.from(received)
    const tol = 10 ** -digits / 2
    const pass = got.length === expected.length && got.every((v, i) => Math.abs(v - expected[i]!) <= tol)
    return { pass, message: () => `expected [${got.join(', ')}] to be close to [${expected.join(', ')}] (±${tol})` }
  },
})
