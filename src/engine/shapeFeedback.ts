import * as tf from '@tensorflow/tfjs'

/**
 * Widens what V8 has seen at tfjs-core's `util.sizeFromShape` before training starts, so that
 * its optimised code (and the Tensor constructor's, the wasm backend's `move`, `reshape` and
 * `typedArrayFromHeap`, which inline it) reads a shape's elements without a map check that the
 * next shape fails.
 *
 * Why (bench/results/2026-12-07T02-30-deopt-loop.md): a step's shapes come as two kinds of
 * V8 array, array literals (PACKED_SMI_ELEMENTS) and `new Array(n)` filled in later
 * (HOLEY_SMI_ELEMENTS, most of tfjs-wasm's output shapes). In Chromium 156 the second engine
 * worker's `sizeFromShape` was compiled again and again for HOLEY_SMI arrays alone and
 * deoptimised ("wrong map") on the next literal shape, although the load's feedback held both
 * kinds: 95–100 deopts in a 27-step two-worker tiny-lm run, 125 with the functions that inline
 * it, each followed by a recompile on V8's background threads. Feedback that has seen more
 * than four maps is megamorphic and stays so; optimised code then reads elements through V8's
 * generic keyed load, which takes every kind, and does not deoptimise. The shapes below are
 * only read, nothing is kept, and `sizeFromShape` returns what it returned before.
 */
export function widenShapeFeedback(): void {
  if (widened) return
  widened = true
  const holeySmi = new Array<number>(2)
  holeySmi[0] = 2
  holeySmi[1] = 3
  const holeyDouble = new Array<number>(2)
  holeyDouble[0] = 2.5
  holeyDouble[1] = 3
  const holey = new Array<unknown>(2)
  holey[0] = 'x'
  holey[0] = 2
  holey[1] = 3
  const packed: unknown[] = [2, 'x']
  packed[1] = 3
  const kinds = [[2, 3], holeySmi, [2.5, 3], holeyDouble, packed, holey, new Int32Array([2, 3]), new Float64Array([2, 3])] as unknown as number[][]
  for (let round = 0; round < 2; round++) for (const shape of kinds) tf.util.sizeFromShape(shape)
}
let widened = false
