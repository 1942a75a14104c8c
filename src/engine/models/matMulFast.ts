import * as tf from '@tensorflow/tfjs'
import { batchMatMul } from './slicedMatMul'
import { benchSwitch, oldKernels } from '../benchSwitches'
import { shareWasmIdentity } from './wasmSharedIdentity'
import { swapLastAxes } from './heapTranspose'

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

/** Transposes the last two axes: [..., M, N] → [..., N, M] (on wasm models/heapTranspose.ts's
 *  kernel, the same values as tf.transpose at a fraction of its time). */
export function swapLast<T extends tf.Tensor>(x: T): T {
  return swapLastAxes(x)
}

/** b's gradient aᵀ·dy. For 2-D a [N, K] and dy [N, M] it is also (dyᵀ·a)ᵀ, which transposes dy
 *  and the [M, K] result instead of a: fewer elements when a is the wide one (tiny-lm's mlp.out,
 *  a [B·T, 512], dy [B·T, 128]: 196 k elements moved instead of 524 k at 16 × 64). */
function productGrad(a: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  if (a.rank === 2 && !benchSwitch.widePacking && tf.getBackend() === 'wasm') return packNarrower(a as tf.Tensor2D, dy as tf.Tensor2D)
  if (a.rank === 2 && !oldKernels.wideTranspose && a.size > dy.size + a.shape[1]! * dy.shape[1]!) return swapLast(tf.matMul(swapLast(dy), a))
  return batchMatMul(swapLast(a), dy)
}

/** Relative cost an element of XNNPACK packing its second operand (tfjs-wasm makes a new
 *  fully-connected operator for every fresh weights tensor: ~2.75 ms for a [1024, 512] dy, ~0.5 ms
 *  for [1024, 128], at 16 × 64) against an element of heapTranspose's copy (~1 ns). */
const PACK_PER_ELEMENT = 4

/**
 * aᵀ·dy for a [N, K], dy [N, M] on wasm. XNNPACK streams the first operand and packs the second
 * on each call; in aᵀ·dy it packs dy (N·M), in (dyᵀ·a)ᵀ it packs a (N·K) but transposes dy and
 * the [M, K] result instead of a. The multiply itself costs the same either way (K·M·N), so the
 * form that packs the narrower operand wins where transposes are cheap: tiny-lm's mlp.fc (K 128,
 * M 512) and qkv (128, 384) pack a; mlp.out (512, 128) packs dy where the old (dyᵀ·a)ᵀ packed
 * its 512-wide a.
 */
function packNarrower(a: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor {
  const [N, K] = a.shape
  const M = dy.shape[1]
  const packA = PACK_PER_ELEMENT * N * K + N * M + K * M // (dyᵀ·a)ᵀ
  const packDy = PACK_PER_ELEMENT * N * M + N * K // aᵀ·dy
  if (packA < packDy) return swapLast(tf.matMul(swapLast(dy), a))
  return tf.matMul(swapLast(a), dy)
}
