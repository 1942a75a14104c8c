import * as tf from '@tensorflow/tfjs'
import type { CausalLm } from '../lm'
import type { SftWindow } from './data'

/**
 * Next-token cross-entropy counting only answer tokens: position t predicts ids[t + 1],
 * and counts when mask[t + 1] is 1. Returns the summed loss and the number of counted
 * tokens, so batches and validation sets average per answer token, not per row.
 * logits [B, T, V], ids [B, T] int32, mask [B, T] float32.
 */
export function maskedNextTokenLossSum(logits: tf.Tensor3D, ids: tf.Tensor2D, mask: tf.Tensor2D): { sum: tf.Scalar; count: tf.Scalar } {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape
    const pred = logits.slice([0, 0, 0], [b, t - 1, v]).reshape([b * (t - 1), v])
    const target = ids.slice([0, 1], [b, t - 1]).reshape([b * (t - 1)])
    const w = mask.slice([0, 1], [b, t - 1]).reshape([b * (t - 1)])
    const logp = tf.logSoftmax(pred)
    const picked = tf.sum(tf.mul(logp, tf.oneHot(target as tf.Tensor1D, v)), 1) // [N] log p(target)
    const sum = tf.neg(tf.sum(tf.mul(picked, w))) as tf.Scalar
    return { sum, count: tf.sum(w) as tf.Scalar }
  })
}

/** Mean over counted tokens (0 when a batch has none, so it adds no gradient). */
export function maskedNextTokenLoss(logits: tf.Tensor3D, ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const { sum, count } = maskedNextTokenLossSum(logits, ids, mask)
    return tf.div(sum, tf.maximum(count, 1)) as tf.Scalar
  })
}

/** Windows [from, to) as tensors. */
export function windowBatch(windows: readonly SftWindow[]): { ids: tf.Tensor2D; mask: tf.Tensor2D } {
  const T = windows[0]?.ids.length ?? 0
  const ids = new Int32Array(windows.length * T)
  const mask = new Float32Array(windows.length * T)
  windows.forEach((w, i) => {
    ids.set(w.ids, i * T)
    mask.set(w.mask, i * T)
  })
  return { ids: tf.tensor2d(ids, [windows.length, T], 'int32'), mask: tf.tensor2d(mask, [windows.length, T]) }
}

export interface SftEvaluation {
  /** Mean cross-entropy per answer token (nats). */
  loss: number
  /** exp(loss): how many tokens the model hesitates between, on average. */
  perplexity: number
  /** Answer tokens counted. */
  tokens: number
}

/** Validation loss and perplexity over held-out windows, answer tokens only. */
export async function evaluateSft(lm: CausalLm, windows: readonly SftWindow[], batchSize = 16): Promise<SftEvaluation> {
  let sum = 0
  let count = 0
  for (let i = 0; i < windows.length; i += batchSize) {
    const part = tf.tidy(() => {
      const { ids, mask } = windowBatch(windows.slice(i, i + batchSize))
      const r = maskedNextTokenLossSum(lm.logits(ids), ids, mask)
      return tf.stack([r.sum, r.count])
    })
    const [s, c] = await part.data()
    part.dispose()
    sum += s!
    count += c!
  }
  if (count === 0) throw new Error('The validation rows have no answer tokens to score: add validation rows with a completion or an assistant turn.')
  const loss = sum / count
  return { loss, perplexity: Math.exp(loss), tokens: count }
}

/** One optimisation step of SFT on a batch of windows; the gradient flows into `variables`
 *  only. Returns the batch's loss (mean per answer token, before the update). */
export async function sftStep(lm: CausalLm, windows: readonly SftWindow[], variables: tf.Variable[], optimizer: tf.Optimizer): Promise<number> {
  const value = tf.tidy(() => {
    const { ids, mask } = windowBatch(windows)
    const { value, grads } = tf.variableGrads(() => maskedNextTokenLoss(lm.logits(ids, { training: true }), ids, mask), variables)
    optimizer.applyGradients(grads)
    return value
  })
  const loss = (await value.data())[0]!
  value.dispose()
  return loss
}
