import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { maskedTokenCrossEntropy, softmaxCrossEntropy } from './losses'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const scalar = async (t: tf.Tensor) => {
  const v = (await t.data())[0]!
  t.dispose()
  return v
}

/** −Σ target·log softmax(z), target = (1 − ε)·onehot + ε/C, in float64. */
function ceRef(z: number[], label: number, eps: number): number {
  const lse = Math.log(z.reduce((a, x) => a + Math.exp(x), 0))
  return -z.reduce((a, x, i) => a + ((i === label ? 1 - eps : 0) + eps / z.length) * (x - lse), 0)
}

describe('losses', () => {
  it('softmax cross-entropy with label smoothing matches a hand value', async () => {
    // z = [1, 2, 3], label 0, ε = 0.1: log softmax = z − 3.40760596 = [−2.40760596, −1.40760596, −0.40760596]
    // targets [0.93333, 0.03333, 0.03333] → 0.9333·2.40761 + 0.0333·(1.40761 + 0.40761) = 2.30760596
    expect(ceRef([1, 2, 3], 0, 0.1)).toBeCloseTo(2.30760596, 7)
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0.5, -1, 0],
    ])
    const labels = tf.tensor1d([0, 2], 'int32')
    expect(await scalar(softmaxCrossEntropy(logits, labels, 0.1))).toBeCloseTo(2.30760596 / 2 + ceRef([0.5, -1, 0], 2, 0.1) / 2, 5)
    expect(await scalar(softmaxCrossEntropy(logits, labels))).toBeCloseTo((ceRef([1, 2, 3], 0, 0) + ceRef([0.5, -1, 0], 2, 0)) / 2, 5)
    tf.dispose([logits, labels])
  })

  it('stays finite for huge logits', async () => {
    const logits = tf.tensor2d([[1000, -1000]])
    const labels = tf.tensor1d([1], 'int32')
    expect(await scalar(softmaxCrossEntropy(logits, labels))).toBeCloseTo(2000, 2)
    tf.dispose([logits, labels])
  })

  it('masked token cross-entropy averages over unmasked tokens only', async () => {
    const rows = [
      [0.2, 0.1, -0.3],
      [1, 0, 0],
      [0, 3, 1],
      [2, 2, 2],
    ]
    const logits = tf.tensor3d([rows.slice(0, 2), rows.slice(2)]) // [2, 2, 3]
    const targets = tf.tensor2d([[2, 0], [1, 0]], [2, 2], 'int32')
    const mask = tf.tensor2d([[1, 0], [1, 1]])
    const expected = (ceRef(rows[0]!, 2, 0) + ceRef(rows[2]!, 1, 0) + ceRef(rows[3]!, 0, 0)) / 3
    expect(await scalar(maskedTokenCrossEntropy(logits, targets, mask))).toBeCloseTo(expected, 5)
    const none = tf.zeros([2, 2]) as tf.Tensor2D
    expect(await scalar(maskedTokenCrossEntropy(logits, targets, none))).toBe(0)
    tf.dispose([logits, targets, mask, none])
  })

  it('the LM loss has gradients only through unmasked tokens', async () => {
    const logits = tf.tensor3d([[[0.2, 0.1], [1, 0]]])
    const targets = tf.tensor2d([[1, 0]], [1, 2], 'int32')
    const mask = tf.tensor2d([[0, 1]])
    const g = tf.grad((z: tf.Tensor) => maskedTokenCrossEntropy(z as tf.Tensor3D, targets, mask))(logits)
    const d = Array.from(await g.data())
    expect(d.slice(0, 2).map(Math.abs)).toEqual([0, 0])
    expect(d[2]).toBeCloseTo(1 / (1 + Math.exp(-1)) - 1, 5) // softmax − onehot
    tf.dispose([logits, targets, mask, g])
  })
})
