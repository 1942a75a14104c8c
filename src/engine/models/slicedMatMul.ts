import * as tf from '@tensorflow/tfjs'
import { oldKernels } from '../benchSwitches'
import { heapScratch } from './heapModules'

/**
 * Batched products a[..., M, K] · b[..., K, N] (same batch shape, no transposes) on the wasm
 * backend, one XNNPACK product per batch slice.
 *
 * tfjs-backend-wasm 4.22's BatchMatMul hands a product to XNNPACK only when both operands have
 * a batch of 1 and neither is transposed (batch_mat_mul_impl.cc); any batch > 1 runs a scalar
 * loop of its own at about 2.2 GFLOP/s. Attention's products are batched ([B, H, T, hd]
 * slices): at batch 16 × 64 tokens they were a third of tiny-lm's full fine-tuning step. This
 * kernel runs the same C++ entry point (`_BatchMatMul`) once per slice on views of the operands'
 * heap memory, registered with the backend's C++ side under fresh tensor ids and forgotten
 * after (which also frees the XNNPACK operator made for the slice). Nothing is copied. The
 * result is the same product, summed in XNNPACK's order instead of the loop's.
 *
 * `batchMatMul` uses it on wasm for rank > 2 and falls back to tf.matMul elsewhere; its caller
 * (matMulFast) supplies the gradient, so the kernel needs none.
 */
export const SLICED_MATMUL = 'StudioSlicedBatchMatMul'


interface WasmModule {
  _BatchMatMul(aId: number, aShape: number, aRank: number, bId: number, bShape: number, bRank: number, transposeA: number, transposeB: number, outId: number): void
  _register_tensor(id: number, size: number, offset: number): void
  _dispose_data(id: number): void
  _malloc(bytes: number): number
  _free(ptr: number): void
  HEAP32: Int32Array
}
interface WasmBackendLike {
  wasm: WasmModule
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined }
  dataIdNextNumber: number
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
}

function slicedBatchMatMul({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
  const be = backend as WasmBackendLike
  const w = be.wasm
  const m = a.shape[a.shape.length - 2]!
  const k = a.shape[a.shape.length - 1]!
  const n = b.shape[b.shape.length - 1]!
  const batch = m * k === 0 ? 0 : tf.util.sizeFromShape(a.shape) / (m * k)
  const out = be.makeOutput([...a.shape.slice(0, -2), m, n], 'float32') // first: allocating may grow the heap (offsets stay)
  const aOff = be.dataIdMap.get(a.dataId)!.memoryOffset
  const bOff = be.dataIdMap.get(b.dataId)!.memoryOffset
  const oOff = be.dataIdMap.get(out.dataId)!.memoryOffset
  const shapes = heapScratch(backend, 24, SLICED_MATMUL, [out]) // [1, M, K] then [1, K, N], as int32
  w.HEAP32.set([1, m, k, 1, k, n], shapes >>> 2) // unsigned: the heap grows past 2 GB (a 124M GPT-2 at 128 tokens)
  try {
    for (let s = 0; s < batch; s++) {
      // Fresh ids from the backend's own counter, so they never meet a real tensor's.
      const ia = be.dataIdNextNumber++
      const ib = be.dataIdNextNumber++
      const io = be.dataIdNextNumber++
      w._register_tensor(ia, m * k, aOff + s * m * k * 4)
      w._register_tensor(ib, k * n, bOff + s * k * n * 4)
      w._register_tensor(io, m * n, oOff + s * m * n * 4)
      try {
        w._BatchMatMul(ia, shapes, 3, ib, shapes + 12, 3, 0, 0, io)
      } finally {
        w._dispose_data(ia) // ib's disposal also deletes the XNNPACK operator cached for it
        w._dispose_data(ib)
        w._dispose_data(io)
      }
    }
  } finally {
    w._free(shapes)
  }
  return out
}

function registered(): boolean {
  if (!tf.getKernel(SLICED_MATMUL, 'wasm')) tf.registerKernel({ kernelName: SLICED_MATMUL, backendName: 'wasm', kernelFunc: slicedBatchMatMul as tf.KernelFunc })
  return true
}

/** Whether a · b takes the sliced path: wasm, rank > 2, float32, the same batch shape, and
 *  more than one slice (a single slice is XNNPACK's already). */
export function takesSlicedPath(a: tf.Tensor, b: tf.Tensor): boolean {
  if (oldKernels.batchMatMul || a.rank < 3 || a.rank !== b.rank || tf.getBackend() !== 'wasm') return false
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return false
  for (let i = 0; i < a.rank - 2; i++) if (a.shape[i] !== b.shape[i]) return false
  if (a.shape[a.rank - 1] !== b.shape[b.rank - 2]) return false
  return a.size / (a.shape[a.rank - 2]! * a.shape[a.rank - 1]!) > 1
}

/** a[..., M, K] · b[..., K, N]: the sliced XNNPACK path on wasm where it applies, tf.matMul
 *  otherwise. No gradient of its own: use it inside a custom gradient (matMulFast). */
export function batchMatMul<T extends tf.Tensor>(a: T, b: T): T {
  if (!takesSlicedPath(a, b) || !registered()) return tf.matMul(a, b) as T
  return tf.engine().runKernel(SLICED_MATMUL, { a, b } as unknown as tf.NamedTensorMap) as T
}
