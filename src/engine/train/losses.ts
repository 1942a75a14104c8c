import * as tf from '@tensorflow/tfjs'

/** Per-row cross-entropy from logits and integer labels, with label smoothing as in PyTorch:
 *  target = (1 − ε)·onehot + ε/C. Uses logSoftmax for stability and a one-hot product rather
 *  than gather, whose gradient (UnsortedSegmentSum) the wasm backend lacks.
 *  logits: [N, C], labels: [N] int → [N] */
function rowCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number): tf.Tensor1D {
  return tf.tidy(() => {
    const c = logits.shape[1]
    const logp = tf.logSoftmax(logits) // [N, C]
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), c).toFloat() // [N, C]
    const target = smoothing > 0 ? tf.add(tf.mul(onehot, 1 - smoothing), smoothing / c) : onehot
    return tf.neg(tf.sum(tf.mul(target, logp), -1)) as tf.Tensor1D // [N]
  })
}

/** Mean softmax cross-entropy. logits: [N, C], labels: [N] int → scalar */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => tf.mean(rowCrossEntropy(logits, labels, labelSmoothing)) as tf.Scalar)
}

/** Language-model loss: mean cross-entropy over the tokens where mask = 1 (padding and prompt
 *  tokens get 0). An all-zero mask gives 0, not NaN.
 *  logits: [B, T, V], targets: [B, T] int, mask: [B, T] 0/1 → scalar */
export function maskedTokenCrossEntropy(
  logits: tf.Tensor3D,
  targets: tf.Tensor2D,
  mask: tf.Tensor2D,
  labelSmoothing = 0,
): tf.Scalar {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape
    const perToken = rowCrossEntropy(logits.reshape([b * t, v]), targets.reshape([b * t]), labelSmoothing) // [B·T]
    const m = tf.cast(mask, 'float32').reshape([b * t]) // [B·T]
    const count = tf.maximum(tf.sum(m), 1)
    return tf.div(tf.sum(tf.mul(perToken, m)), count) as tf.Scalar
  })
}
