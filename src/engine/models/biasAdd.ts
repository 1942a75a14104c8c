import * as tf from '@tensorflow/tfjs'
import { benchSwitch, oldKernels } from '../benchSwitches'
import { rowSumFused } from './lmFused'

/**
 * y[N, M] + bias[M] whose bias gradient is a ones-row product, ones[1, N] · dy[N, M], on the
 * wasm backend: the same sum over the rows, run by XNNPACK. tfjs' own gradient (Sum over axis
 * 0) makes tfjs-wasm transpose dy and then sum: 4–12 ms for a [1024, 512] dy, against 0.1–0.4 ms
 * for the product (measured in Node). Elsewhere the gradient is tf.sum(dy, 0), as tfjs' own.
 * scaleShift does the same for a layer norm's gain and shift.
 */
/** Σ over the rows of x [N, M] → [M]: a ones-row product on wasm, tf.sum elsewhere. */
function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  const [n, m] = x.shape
  if (tf.getBackend() !== 'wasm') return tf.sum(x, 0) as tf.Tensor1D
  // One pass over the heap (lmFused.ts): XNNPACK packs the whole [N, M] operand as weights on
  // each ones-row product, 0.5–3 ms a call at tiny-lm's 16 × 64, where the sum takes 0.1–0.5.
  if (!benchSwitch.lmOpPath && x.dtype === 'float32') return rowSumFused(x)
  return tf.matMul(tf.ones([1, n]), x).reshape([m]) as tf.Tensor1D
}

const biasAddFast = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [y, bias] = args as [tf.Tensor2D, tf.Tensor1D]
  return {
    value: tf.add(y, bias),
    gradFunc: (dy: tf.Tensor2D) => [tf.reshape(dy, dy.shape), sumRows(dy)],
  }
}) as never) as (y: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D

/** x [N, M] · gamma [M] + beta [M] (a layer norm's gain and shift), with gamma's and beta's
 *  gradients as row sums the same way (tfjs' own: Sum over the rows, a transpose first on wasm). */
const scaleShiftFast = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, gamma, beta, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc]
  save([x, gamma])
  return {
    value: tf.add(tf.mul(x, gamma), beta),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [sx, sg] = saved as [tf.Tensor2D, tf.Tensor1D]
      return [tf.mul(dy, sg), sumRows(tf.mul(dy, sx) as tf.Tensor2D), sumRows(dy)]
    },
  }
}) as never) as (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D

/** x [..., M] · gamma [M] + beta [M], with the row-sum gradients above (x flattened to 2-D). */
export function scaleShift<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor): T {
  const m = x.shape[x.rank - 1]!
  if (oldKernels.sumBiasGrad || gamma.rank !== 1 || beta.rank !== 1 || gamma.shape[0] !== m || beta.shape[0] !== m) return tf.add(tf.mul(x, gamma), beta) as T
  return scaleShiftFast(x.reshape([x.size / m, m]) as tf.Tensor2D, gamma as tf.Tensor1D, beta as tf.Tensor1D).reshape(x.shape) as T
}

/** y[N, M] + bias[M], with the bias gradient above. */
export function biasAdd(y: tf.Tensor2D, bias: tf.Tensor): tf.Tensor2D {
  if (oldKernels.sumBiasGrad || y.rank !== 2 || bias.rank !== 1 || bias.shape[0] !== y.shape[1]) return tf.add(y, bias) as tf.Tensor2D
  return biasAddFast(y, bias as tf.Tensor1D)
}
