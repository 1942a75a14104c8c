import * as tf from '@tensorflow/tfjs'
import { batchMatMul } from './slicedMatMul'
import { oldKernels } from '../benchSwitches'
import { shareWasmIdentity } from './wasmSharedIdentity'

/**
 * a [..., N, K] · b [..., K, M] (same batch shape) with a gradient that transposes explicitly before multiplying.
 * tfjs' own MatMul gradient asks for transposeA/transposeB products, which the wasm
 * backend computes 20–40× slower than plain products (measured: 142 ms vs 4.6 ms for
 * 1024×128·128×512); a 2-D transpose costs well under a millisecond.
 * Batched products (rank > 2, attention's) run one XNNPACK product per slice on wasm
 * (slicedMatMul.ts) instead of tfjs-wasm's scalar loop for batches.
 */
const matMulFastOp = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc]
  save([a, b])
  return {
    value: batchMatMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor]
      return [batchMatMul(dy, swapLast(sb)), productGrad(sa, dy)]
    },
  }
}) as never) as <T extends tf.Tensor>(a: T, b: T) => T

export function matMulFast<T extends tf.Tensor>(a: T, b: T): T {
  shareWasmIdentity() // once: the models that multiply through here save tensors for their gradients without copies on wasm
  return matMulFastOp(a, b)
}

/** Transposes the last two axes: [..., M, N] → [..., N, M]. */
export function swapLast<T extends tf.Tensor>(x: T): T {
  const r = x.rank
  const perm = Array.from({ length: r }, (_, i) => i)
  perm[r - 2] = r - 1
  perm[r - 1] = r - 2
  return tf.transpose(x, perm)
}

/** b's gradient aᵀ·dy. For 2-D a [N, K] and dy [N, M] it is also (dyᵀ·a)ᵀ, which transposes dy
 *  and the [M, K] result instead of a: fewer elements when a is the wide one (tiny-lm's mlp.out,
 *  a [B·T, 512], dy [B·T, 128]: 196 k elements moved instead of 524 k at 16 × 64). */
function productGrad(a: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  if (a.rank === 2 && !oldKernels.wideTranspose && a.size > dy.size + a.shape[1]! * dy.shape[1]!) return swapLast(tf.matMul(swapLast(dy), a))
  return batchMatMul(swapLast(a), dy)
}
