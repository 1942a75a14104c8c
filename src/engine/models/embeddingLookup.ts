import * as tf from '@tensorflow/tfjs'
import { gatherRowsFused, lmFusedActive } from './lmFused'

/**
 * Rows of an embedding table: table [V, D], ids [N] int32 → [N, D], by `tf.gather`.
 *
 * The studio used to multiply a one-hot [N, V] by the table, because gather's gradient needs
 * the UnsortedSegmentSum kernel, which the wasm backend lacks. That cost three V-wide
 * products a step — the forward product, a gradient for the one-hot input nobody needs, and
 * the table's gradient through a transposed [V, N] one-hot — about 3·2·N·V·D FLOPs (400
 * MFLOP for tiny-lm at batch 8 × 32 tokens), where a lookup and a scatter-add cost N·D.
 *
 * The gradient of the table is dTable[v] = Σ_{n: ids[n] = v} dy[n], a scatter-add:
 * UnsortedSegmentSum where the backend has it (cpu, WebGL, WebGPU, and wasm once
 * `registerWasmSegmentSum` has run), else the plain product onehotᵀ·dy, with the one-hot
 * built already transposed ([V, N]) so no transpose runs.
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D, gradient: 'auto' | 'product' = 'auto'): tf.Tensor2D {
  registerWasmSegmentSum()
  const lookup = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    // Saved, not captured: the engine keeps saved tensors alive for the backward pass (a
    // captured id tensor had been freed by then on wasm inside optimizer.minimize).
    save([ids])
    return {
      // On wasm tiny-lm's rows are copied by one heap kernel (lmFused.ts): tfjs-wasm's GatherV2
      // took 5–20 ms for 1,024 rows of 128; the same values.
      value: lmFusedActive() && t.dtype === 'float32' && ids.dtype === 'int32' && t.rank === 2 ? gatherRowsFused(t as tf.Tensor2D, ids) : tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const v = t.shape[0]!
        const keptIds = saved[0]! as tf.Tensor1D
        if (gradient === 'auto' && tf.getKernel('UnsortedSegmentSum', tf.getBackend())) return tf.unsortedSegmentSum(dy, keptIds, v)
        const oneHotT = tf.cast(tf.equal(tf.range(0, v, 1, 'int32').expandDims(1), keptIds.expandDims(0)), 'float32') // [V, N]
        return tf.matMul(oneHotT, dy)
      },
    }
  }) as never) as (t: tf.Tensor2D) => tf.Tensor2D
  return lookup(table)
}

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array
}

/** out[s, ...] = Σ_{i: ids[i] = s} x[i, ...], on the wasm heap. Ids outside [0, numSegments)
 *  are dropped, as the other backends do with negative ids. */
function unsortedSegmentSum({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo }
  const numSegments = (attrs as unknown as { numSegments: number }).numSegments
  const idCount = segmentIds.shape.reduce((a, b) => a * b, 1)
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1)
  const b = backend as WasmLike
  const out = b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype) // first: allocating may move the heap
  const o = b.typedArrayFromHeap(out)
  o.fill(0)
  const xv = b.typedArrayFromHeap(x)
  const ids = b.typedArrayFromHeap(segmentIds)
  for (let i = 0; i < idCount; i++) {
    const s = ids[i]!
    if (s < 0 || s >= numSegments) continue
    const from = i * inner
    const to = s * inner
    for (let k = 0; k < inner; k++) o[to + k]! += xv[from + k]!
  }
  return out
}

/** Registers the scatter-add above as wasm's UnsortedSegmentSum, once, if the backend has none:
 *  then gather trains on wasm too. */
export function registerWasmSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return
  tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum as never })
}
