import * as tf from '@tensorflow/tfjs'

/** Most inputs one AddN may take. tfjs' WebGPU AddN binds every input as a storage buffer
 *  and never splits them; WebGPU's default limit is 8 storage buffers per shader stage (one
 *  is the output), which tfjs does not raise. With more inputs the pipeline is invalid and
 *  the "sum" is garbage: the emoji CNN's 9-tap depthwise sums gave NaN losses at once, and
 *  the global gradient norm came out 0, so clipping silently did nothing. */
export const MAX_ADDN_INPUTS = 7

/** Σ xs elementwise, as tf.addN, in groups of at most MAX_ADDN_INPUTS (a single addN when
 *  there are that few, so small sums stay bit-identical to tf.addN). */
export function addMany<T extends tf.Tensor>(xs: readonly T[]): T {
  if (xs.length === 0) throw new Error('addMany needs at least one tensor')
  let level: tf.Tensor[] = [...xs]
  while (level.length > 1) {
    const next: tf.Tensor[] = []
    for (let i = 0; i < level.length; i += MAX_ADDN_INPUTS) {
      const group = level.slice(i, i + MAX_ADDN_INPUTS)
      next.push(group.length === 1 ? group[0]! : tf.addN(group))
    }
    level = next
  }
  return level[0] as T
}
