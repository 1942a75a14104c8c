import * as tf from '@tensorflow/tfjs'
import { addMany } from '../ops/addMany'
import { benchSwitch } from '../benchSwitches'
import { fusedBackend, runScaleAll, runSumSquares } from './fusedUpdate'

/** On wasm and cpu the squares' sums and the scaling run as one kernel each (fusedUpdate.ts),
 *  the same float32 operations as the ops below (a Square and a Sum, a Mul, per gradient). */
const fused = (grads: tf.Tensor[]) => fusedBackend() && !benchSwitch.unfusedOptimizer && grads.every((g) => g.dtype === 'float32')

/** √(Σ‖g‖²) over all gradients, as a scalar on the device. */
export function globalNorm(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy((): tf.Scalar => {
    if (grads.length === 0) return tf.scalar(0)
    const sums = fused(grads) ? runSumSquares(grads) : grads.map((g) => tf.sum(tf.square(g)))
    return tf.sqrt(addMany(sums)) as tf.Scalar // one term per variable: dozens
  })
}

/** Scales all gradients by min(1, maxNorm / (norm + 1e-6)) (PyTorch's clip_grad_norm_).
 *  The factor is applied on the device without reading the norm back, so there is no sync;
 *  gradients within the bound are multiplied by exactly 1 and stay bit-identical.
 *  Ownership: the inputs are never disposed. With maxNorm > 0 the returned grads are new
 *  tensors; with maxNorm ≤ 0 they are the inputs themselves. `norm` (the norm before
 *  clipping, for logging) is always new. */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  const norm = globalNorm(grads)
  if (!(maxNorm > 0)) return { grads, norm }
  const clipped = tf.tidy(() => {
    const factor = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)))
    return fused(grads) ? runScaleAll(grads, factor) : grads.map((g) => tf.mul(g, factor))
  })
  return { grads: clipped, norm }
}
