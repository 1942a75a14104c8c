import * as tf from '@tensorflow/tfjs'
import { oldKernels } from './oldKernels'

/**
 * y[N, M] + bias[M] whose bias gradient is a ones-row product, ones[1, N] · dy[N, M], on the
 * wasm backend: the same sum over the rows, run by XNNPACK. tfjs' own gradient (Sum over axis
 * 0) makes tfjs-wasm transpose dy and then sum: 4–12 ms for a [1024, 512] dy, against 0.1–0.4 ms
 * for the product (measured in Node). Elsewhere the gradient is tf.sum(dy, 0), as tfjs' own.
 */
const biasAddFast = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [y, bias] = args as [tf.Tensor2D, tf.Tensor1D]
  return {
    value: tf.add(y, bias),
    gradFunc: (dy: tf.Tensor2D) => {
      const [n, m] = dy.shape
      const dBias = tf.getBackend() === 'wasm' ? tf.matMul(tf.ones([1, n]), dy).reshape([m]) : tf.sum(dy, 0)
      return [tf.reshape(dy, dy.shape), dBias]
    },
  }
}) as never) as (y: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D

/** y[N, M] + bias[M], with the bias gradient above. */
export function biasAdd(y: tf.Tensor2D, bias: tf.Tensor): tf.Tensor2D {
  if (oldKernels.sumBiasGrad || y.rank !== 2 || bias.rank !== 1 || bias.shape[0] !== y.shape[1]) return tf.add(y, bias) as tf.Tensor2D
  return biasAddFast(y, bias as tf.Tensor1D)
}
