import * as tf from '@tensorflow/tfjs'
import { benchSwitch } from '../benchSwitches'
import { channelNormFused, registerCnnKernels } from './cnnFused'
import { heapAlloc, lmSimd } from './lmSimd'
import { heapScratch } from './heapModules'

/**
 * tiny-lm's (models/tinyGpt.ts) pieces between the products as one kernel each on the wasm
 * backend, forward and backward, over the wasm heap. After the products went to XNNPACK, a full
 * fine-tuning step at 16 × 64 still ran about 1,430 kernels, and the non-product ones cost about
 * as much at 8 rows as at 16 (dispatch, the engine's bookkeeping, tfjs-wasm's broadcast loops):
 * each layer norm ~10 kernels forward and ~30 backward, GELU 7 and ~20, the attention's scale,
 * mask and softmax 3 and ~8, the qkv split and the heads' transposes (tfjs-wasm's SplitV alone
 * ~4 ms a call at 16 × 64), and every bias gradient an XNNPACK product with a row of ones, which
 * packs the whole [N, M] operand as weights on each call (0.5–3 ms each).
 *
 * The maths is the op path's. Forwards call the backend's own kernels in the op path's order
 * (bit for bit) or only move values (the heads: copies); gradients are one JavaScript pass that
 * sums in float64, so they agree with the op path to float32 rounding (lmFused.wasm.test.ts: each
 * piece on odd shapes against the cpu backend's op path, and a whole tiny-lm step). No kernel
 * here writes into an input; outputs are always new heap tensors.
 *
 * Kernels (registered for 'wasm' only):
 * - StudioRowSum      x [N, M] → [M], Σ over the rows (bias and norm-shift gradients).
 * - StudioGelu        x → [x·σ(2u), σ(2u)], u = √(2/π)·(x + 0.044715·x³), tinyGpt.gelu's seven
 *                     kernels in its order; gradient StudioGeluGrad (dy, x, σ(2u)) → dx.
 * - StudioCausalSoftmax  scores [B, H, T, T], mask [T, T], attrs.scale → softmax(scores·scale +
 *                     mask) (Multiply, Add, Softmax); gradient StudioSoftmaxGrad (dy, y) →
 *                     scale·y·(dy − Σ dy·y).
 * - StudioSplitHeads  qkv [B·T, 3D] → q [B, H, T, hd], kᵀ [B, H, hd, T], v [B, H, T, hd] (split +
 *                     transposes); gradient StudioMergeHeads, its inverse.
 * - StudioHeadsToRows y [B, H, T, hd] → [B·T, H·hd]; gradient StudioRowsToHeads, its inverse.
 * - StudioGatherRows  table [V, D], ids [N] int32 → [N, D], the rows copied (tf.gather's values;
 *                     tfjs-wasm's GatherV2 took 5–20 ms for tiny-lm's 1,024 × 128 rows, the copy
 *                     well under 1 ms); no gradient of its own (embeddingLookup.ts gives it).
 * The layer norms take cnnFused.ts's StudioChannelNorm (the same LayerNorm over the last axis).
 */

export const ROW_SUM = 'StudioRowSum'
export const GELU = 'StudioGelu'
export const GELU_GRAD = 'StudioGeluGrad'
export const CAUSAL_SOFTMAX = 'StudioCausalSoftmax'
export const SOFTMAX_GRAD = 'StudioSoftmaxGrad'
export const SPLIT_HEADS = 'StudioSplitHeads'
export const MERGE_HEADS = 'StudioMergeHeads'
export const HEADS_TO_ROWS = 'StudioHeadsToRows'
export const ROWS_TO_HEADS = 'StudioRowsToHeads'
export const GATHER_ROWS = 'StudioGatherRows'

const GELU_A = 0.044715
const GELU_C2 = 2 * Math.sqrt(2 / Math.PI)

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array
  disposeData(dataId: tf.DataId, force?: boolean): boolean
}
type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }

const f32 = (t: tf.TensorInfo, what: string) => {
  if (t.dtype !== 'float32') throw new Error(`${what}: a ${t.dtype} tensor where float32 was expected`)
}
const size = (t: tf.TensorInfo) => t.shape.reduce((a, d) => a * d, 1)

/** A kernel of the wasm backend's own, called directly on heap tensors (no engine, no tape). */
function raw(backend: unknown, name: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  return tf.getKernel(name, 'wasm')!.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend: backend as tf.KernelBackend }) as tf.TensorInfo
}

/** A float32 scalar on the heap, as tf.mul(number, t) makes one (the value rounded to float32). */
function scalar(backend: unknown, v: number): tf.TensorInfo {
  const b = backend as WasmLike
  const s = b.makeOutput([], 'float32')
  b.typedArrayFromHeap(s)[0] = v
  return s
}

function rowSum({ inputs, backend }: Args): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo }
  f32(x, ROW_SUM)
  const M = x.shape[x.shape.length - 1]!
  const N = M === 0 ? 0 : size(x) / M
  const b = backend as WasmLike
  const out = b.makeOutput([M], 'float32') // first: allocating may move the heap
  const simd = M % 4 === 0 && N > 0 ? lmSimd(backend) : null
  if (simd) {
    // lmSimd.ts: the same float64 sums, row after row, as the loop below
    const w = heapAlloc(backend)
    const acc = heapScratch(backend, M * 8, ROW_SUM, [out])
    try {
      simd.rowsum(b.typedArrayFromHeap(x).byteOffset, acc, N, M)
      const o = b.typedArrayFromHeap(out)
      o.set(new Float64Array(o.buffer, acc, M))
    } finally {
      w._free(acc)
    }
    return out
  }
  const xv = b.typedArrayFromHeap(x)
  const acc = new Float64Array(M)
  for (let r = 0; r < N; r++) addRow(acc, xv, r * M, M)
  b.typedArrayFromHeap(out).set(acc)
  return out
}

// The kernels' inner loops are small functions called once a row (or a block): V8 compiles a
// function called that often as a whole and early, where a loop nest inside a kernel called a
// few times a step ran interpreted until on-stack replacement (models/cnnFused.ts found the same).
function addRow(acc: Float64Array, xv: Float32Array, a: number, M: number): void {
  for (let c = 0; c < M; c++) acc[c]! += xv[a + c]!
}

function gelu({ inputs, backend }: Args): tf.TensorInfo[] {
  const { x } = inputs as { x: tf.TensorInfo }
  f32(x, GELU)
  const b = backend as WasmLike
  const temps: tf.TensorInfo[] = []
  const k = (name: string, ins: Record<string, tf.TensorInfo>) => {
    const t = raw(backend, name, ins)
    temps.push(t)
    return t
  }
  const a = scalar(backend, GELU_A)
  const c2 = scalar(backend, GELU_C2)
  temps.push(a, c2)
  // tinyGpt.gelu: cube = x + 0.044715·((x·x)·x); y = x·σ(2√(2/π)·cube)
  const cube = k('Add', { a: x, b: k('Multiply', { a, b: k('Multiply', { a: k('Multiply', { a: x, b: x }), b: x }) }) })
  const s = raw(backend, 'Sigmoid', { x: k('Multiply', { a: c2, b: cube }) })
  const y = raw(backend, 'Multiply', { a: x, b: s })
  for (const t of temps) b.disposeData(t.dataId)
  return [y, s]
}

/** d/dx x·σ(2u) = σ + x·σ(1 − σ)·2√(2/π)·(1 + 3·0.044715·x²), with σ = σ(2u) saved by the forward. */
function geluGrad({ inputs, backend }: Args): tf.TensorInfo {
  const { dy, x, s } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; s: tf.TensorInfo }
  f32(x, GELU_GRAD)
  const b = backend as WasmLike
  const out = b.makeOutput(x.shape, 'float32')
  const o = b.typedArrayFromHeap(out)
  const xv = b.typedArrayFromHeap(x)
  const sv = b.typedArrayFromHeap(s)
  const g = b.typedArrayFromHeap(dy)
  const n = xv.length
  const simd = lmSimd(backend)
  const n4 = simd ? n - (n % 4) : 0
  if (n4 > 0) simd!.gelugrad(o.byteOffset, xv.byteOffset, sv.byteOffset, g.byteOffset, n4, GELU_C2, 3 * GELU_A) // lmSimd.ts: geluGradRange's float64 arithmetic
  for (let i = n4; i < n; i += 1024) geluGradRange(o, xv, sv, g, i, Math.min(n, i + 1024))
  return out
}

function geluGradRange(o: Float32Array, xv: Float32Array, sv: Float32Array, g: Float32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const v = xv[i]!
    const sg = sv[i]!
    o[i] = g[i]! * (sg + v * sg * (1 - sg) * GELU_C2 * (1 + 3 * GELU_A * v * v))
  }
}

function causalSoftmax({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { scores, mask } = inputs as { scores: tf.TensorInfo; mask: tf.TensorInfo }
  f32(scores, CAUSAL_SOFTMAX)
  const b = backend as WasmLike
  const sc = scalar(backend, (attrs as unknown as { scale: number }).scale)
  const scaled = raw(backend, 'Multiply', { a: scores, b: sc })
  const masked = raw(backend, 'Add', { a: scaled, b: mask })
  const y = raw(backend, 'Softmax', { logits: masked }, { dim: scores.shape.length - 1 }) // as tf.softmax passes it: the last axis, counted
  b.disposeData(sc.dataId)
  b.disposeData(scaled.dataId)
  b.disposeData(masked.dataId)
  return y
}

/** scale · (y·dy − y·Σ_row y·dy): softmax's gradient, then the scale's (the mask has none). */
function softmaxGrad({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { dy, y } = inputs as { dy: tf.TensorInfo; y: tf.TensorInfo }
  f32(y, SOFTMAX_GRAD)
  const scale = (attrs as unknown as { scale: number }).scale
  const T = y.shape[y.shape.length - 1]!
  const rows = T === 0 ? 0 : size(y) / T
  const b = backend as WasmLike
  const out = b.makeOutput(y.shape, 'float32')
  const o = b.typedArrayFromHeap(out)
  const yv = b.typedArrayFromHeap(y)
  const g = b.typedArrayFromHeap(dy)
  const sc = Math.fround(scale)
  const simd = lmSimd(backend)
  if (simd) simd.softmaxgrad(o.byteOffset, yv.byteOffset, g.byteOffset, rows, T, sc) // lmSimd.ts: softmaxGradRow's float64 arithmetic
  else for (let r = 0; r < rows; r++) softmaxGradRow(o, yv, g, r * T, T, sc)
  return out
}

function softmaxGradRow(o: Float32Array, yv: Float32Array, g: Float32Array, a: number, T: number, sc: number): void {
  let dot = 0
  for (let c = 0; c < T; c++) dot += yv[a + c]! * g[a + c]!
  for (let c = 0; c < T; c++) o[a + c] = sc * yv[a + c]! * (g[a + c]! - dot)
}

type HeadAttrs = { batch: number; heads: number }

function splitHeads({ inputs, backend, attrs }: Args): tf.TensorInfo[] {
  const { qkv } = inputs as { qkv: tf.TensorInfo }
  f32(qkv, SPLIT_HEADS)
  const { batch: B, heads: H } = attrs as unknown as HeadAttrs
  const [N, D3] = qkv.shape as [number, number]
  const T = N / B
  const D = D3 / 3
  const hd = D / H
  if (qkv.shape.length !== 2 || !Number.isInteger(T) || !Number.isInteger(hd) || D3 % 3) throw new Error(`${SPLIT_HEADS}: [B·T, 3·D] with B = ${B}, ${H} heads expected, got [${qkv.shape.join(', ')}]`)
  const bk = backend as WasmLike
  const q = bk.makeOutput([B, H, T, hd], 'float32')
  const kT = bk.makeOutput([B, H, hd, T], 'float32')
  const v = bk.makeOutput([B, H, T, hd], 'float32')
  const src = bk.typedArrayFromHeap(qkv)
  const qv = bk.typedArrayFromHeap(q)
  const kv = bk.typedArrayFromHeap(kT)
  const vv = bk.typedArrayFromHeap(v)
  const move = lmSimd(backend)?.copy2d // lmSimd.ts: the same moves, 32-bit patterns
  for (let n = 0; n < B; n++)
    for (let h = 0; h < H; h++) {
      const head = (n * H + h) * T * hd
      const col = n * T * D3 + h * hd
      if (move) {
        const S = src.byteOffset + 4 * col
        move(qv.byteOffset + 4 * head, 4 * hd, 4, S, 4 * D3, 4, T, hd)
        move(vv.byteOffset + 4 * head, 4 * hd, 4, S + 8 * D, 4 * D3, 4, T, hd)
        move(kv.byteOffset + 4 * head, 4, 4 * T, S + 4 * D, 4 * D3, 4, T, hd) // kᵀ[e, t] = k[t, e]
        continue
      }
      qvBlock(qv, vv, src, head, col, T, hd, D3, D, true)
      kBlock(kv, src, head, col + D, T, hd, D3, true)
    }
  return [q, kT, v]
}

/** One head's q and v [T, hd] at `head` from (toHeads) or to (!toHeads) the rows' q and v columns at `col`. */
function qvBlock(qv: Float32Array, vv: Float32Array, rows: Float32Array, head: number, col: number, T: number, hd: number, stride: number, D: number, toHeads: boolean): void {
  for (let t = 0; t < T; t++) {
    const at = col + t * stride
    if (toHeads) {
      copy(qv, head + t * hd, rows, at, hd)
      copy(vv, head + t * hd, rows, at + 2 * D, hd)
    } else {
      copy(rows, at, qv, head + t * hd, hd)
      copy(rows, at + 2 * D, vv, head + t * hd, hd)
    }
  }
}

/** n values from src at si to dst at di (no subarray objects: the heads move 32 values at a time). */
function copy(dst: Float32Array, di: number, src: Float32Array, si: number, n: number): void {
  for (let i = 0; i < n; i++) dst[di + i] = src[si + i]!
}

/** One head's kᵀ block [hd, T] at `at` from (toT) or to (!toT) the rows' k columns at `col`, row stride `stride`. */
function kBlock(kv: Float32Array, rows: Float32Array, at: number, col: number, T: number, hd: number, stride: number, toT: boolean): void {
  for (let e = 0; e < hd; e++) {
    const k = at + e * T
    if (toT) for (let t = 0; t < T; t++) kv[k + t] = rows[col + t * stride + e]!
    else for (let t = 0; t < T; t++) rows[col + t * stride + e] = kv[k + t]!
  }
}

function mergeHeads({ inputs, backend }: Args): tf.TensorInfo {
  const { dq, dkT, dv } = inputs as { dq: tf.TensorInfo; dkT: tf.TensorInfo; dv: tf.TensorInfo }
  f32(dq, MERGE_HEADS)
  const [B, H, T, hd] = dq.shape as [number, number, number, number]
  const D = H * hd
  const D3 = 3 * D
  const bk = backend as WasmLike
  const out = bk.makeOutput([B * T, D3], 'float32')
  const o = bk.typedArrayFromHeap(out)
  const qv = bk.typedArrayFromHeap(dq)
  const kv = bk.typedArrayFromHeap(dkT)
  const vv = bk.typedArrayFromHeap(dv)
  const move = lmSimd(backend)?.copy2d // lmSimd.ts: the same moves, 32-bit patterns
  for (let n = 0; n < B; n++)
    for (let h = 0; h < H; h++) {
      const head = (n * H + h) * T * hd
      const col = n * T * D3 + h * hd
      if (move) {
        const O = o.byteOffset + 4 * col
        move(O, 4 * D3, 4, qv.byteOffset + 4 * head, 4 * hd, 4, T, hd)
        move(O + 8 * D, 4 * D3, 4, vv.byteOffset + 4 * head, 4 * hd, 4, T, hd)
        move(O + 4 * D, 4 * D3, 4, kv.byteOffset + 4 * head, 4, 4 * T, T, hd) // k[t, e] = kᵀ[e, t]
        continue
      }
      qvBlock(qv, vv, o, head, col, T, hd, D3, D, false)
      kBlock(kv, o, head, col + D, T, hd, D3, false)
    }
  return out
}

/** [B, H, T, hd] → [B·T, H·hd] when `toRows`, else the inverse. */
function moveHeads(x: tf.TensorInfo, backend: unknown, toRows: boolean, B: number, H: number, T: number, hd: number): tf.TensorInfo {
  const bk = backend as WasmLike
  const D = H * hd
  const out = bk.makeOutput(toRows ? [B * T, D] : [B, H, T, hd], 'float32')
  const o = bk.typedArrayFromHeap(out)
  const xv = bk.typedArrayFromHeap(x)
  const move = lmSimd(backend)?.copy2d // lmSimd.ts: the same moves, 32-bit patterns
  for (let n = 0; n < B; n++)
    for (let h = 0; h < H; h++) {
      const head = (n * H + h) * T * hd
      const row = n * T * D + h * hd
      if (!move) moveHead(o, xv, head, row, T, hd, D, toRows)
      else if (toRows) move(o.byteOffset + 4 * row, 4 * D, 4, xv.byteOffset + 4 * head, 4 * hd, 4, T, hd)
      else move(o.byteOffset + 4 * head, 4 * hd, 4, xv.byteOffset + 4 * row, 4 * D, 4, T, hd)
    }
  return out
}

/** One head [T, hd] at `head` to (toRows) or from the rows [T, D] at `row`. */
function moveHead(o: Float32Array, xv: Float32Array, head: number, row: number, T: number, hd: number, D: number, toRows: boolean): void {
  for (let t = 0; t < T; t++) {
    if (toRows) copy(o, row + t * D, xv, head + t * hd, hd)
    else copy(o, head + t * hd, xv, row + t * D, hd)
  }
}

function headsToRows({ inputs, backend }: Args): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo }
  f32(x, HEADS_TO_ROWS)
  if (x.shape.length !== 4) throw new Error(`${HEADS_TO_ROWS}: [B, H, T, hd] expected, got [${x.shape.join(', ')}]`)
  const [B, H, T, hd] = x.shape as [number, number, number, number]
  return moveHeads(x, backend, true, B, H, T, hd)
}

function rowsToHeads({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { dy } = inputs as { dy: tf.TensorInfo }
  f32(dy, ROWS_TO_HEADS)
  const { heads: H, tokens: T } = attrs as unknown as { heads: number; tokens: number }
  const [BT, D] = dy.shape as [number, number]
  return moveHeads(dy, backend, false, BT / T, H, T, D / H)
}

function gatherRows({ inputs, backend }: Args): tf.TensorInfo {
  const { table, ids } = inputs as { table: tf.TensorInfo; ids: tf.TensorInfo }
  f32(table, GATHER_ROWS)
  if (table.shape.length !== 2 || ids.shape.length !== 1 || ids.dtype !== 'int32') throw new Error(`${GATHER_ROWS}: a [V, D] table and [N] int32 ids expected, got [${table.shape.join(', ')}] and ${ids.dtype} [${ids.shape.join(', ')}]`)
  const [V, D] = table.shape as [number, number]
  const N = ids.shape[0]!
  const bk = backend as WasmLike
  const out = bk.makeOutput([N, D], 'float32')
  const o = bk.typedArrayFromHeap(out)
  const tv = bk.typedArrayFromHeap(table)
  const iv = (bk.typedArrayFromHeap(ids) as unknown as Int32Array)
  for (let i = 0; i < N; i++) {
    const id = iv[i]!
    if (id < 0 || id >= V) {
      bk.disposeData(out.dataId)
      throw new Error(`${GATHER_ROWS}: token id ${id} at position ${i} is outside the table's ${V} rows`)
    }
    copy(o, i * D, tv, id * D, D)
  }
  return out
}

const KERNELS: [string, tf.KernelFunc][] = [
  [GATHER_ROWS, gatherRows as tf.KernelFunc],
  [ROW_SUM, rowSum as tf.KernelFunc],
  [GELU, gelu as unknown as tf.KernelFunc],
  [GELU_GRAD, geluGrad as tf.KernelFunc],
  [CAUSAL_SOFTMAX, causalSoftmax as tf.KernelFunc],
  [SOFTMAX_GRAD, softmaxGrad as tf.KernelFunc],
  [SPLIT_HEADS, splitHeads as unknown as tf.KernelFunc],
  [MERGE_HEADS, mergeHeads as tf.KernelFunc],
  [HEADS_TO_ROWS, headsToRows as tf.KernelFunc],
  [ROWS_TO_HEADS, rowsToHeads as tf.KernelFunc],
]

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) => {
  registerLmKernels()
  return tf.engine().runKernel(name, inputs, attrs)
}

let registered = false
/** Registers the kernels on wasm and the gradients of the multi-output ones (idempotent). */
export function registerLmKernels(): void {
  if (registered) return
  registered = true
  registerCnnKernels()
  for (const [kernelName, kernelFunc] of KERNELS) if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc })
  tf.registerGradient({
    kernelName: SPLIT_HEADS,
    gradFunc: (dy) => {
      const [dq, dkT, dv] = dy as tf.Tensor[]
      return { qkv: () => run(MERGE_HEADS, { dq: dq!, dkT: dkT!, dv: dv! }) as tf.Tensor }
    },
  })
  tf.registerGradient({
    kernelName: HEADS_TO_ROWS,
    gradFunc: (dy, _saved, attrs) => ({ x: () => run(ROWS_TO_HEADS, { dy: dy as tf.Tensor }, attrs as tf.NamedAttrMap) as tf.Tensor }),
  })
}

/** Whether tiny-lm runs these kernels: on wasm, unless a bench switched them off. */
export function lmFusedActive(): boolean {
  if (benchSwitch.lmOpPath || tf.getBackend() !== 'wasm') return false
  registerLmKernels()
  return true
}

/** Σ over the rows of x [N, M] → [M] (no gradient of its own: used inside gradients). */
export const rowSumFused = (x: tf.Tensor2D): tf.Tensor1D => run(ROW_SUM, { x }) as tf.Tensor1D

/** x·σ(2√(2/π)·(x + 0.044715·x³)), tinyGpt.gelu, as one kernel with a one-pass gradient. */
export const geluFused = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const [y, s] = run(GELU, { x }) as tf.Tensor[]
  save([x, s!])
  return { value: y!, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(GELU_GRAD, { dy, x: saved[0]!, s: saved[1]! }) as tf.Tensor }
}) as never) as <T extends tf.Tensor>(x: T) => T

/** softmax(scores·scale + mask) over the last axis, mask [T, T] broadcast (a constant: no gradient). */
export function causalSoftmaxFused(scores: tf.Tensor4D, mask: tf.Tensor2D, scale: number): tf.Tensor4D {
  const f = tf.customGrad(((s: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = run(CAUSAL_SOFTMAX, { scores: s, mask }, { scale }) as tf.Tensor
    save([y])
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(SOFTMAX_GRAD, { dy, y: saved[0]! }, { scale }) as tf.Tensor }
  }) as never) as (s: tf.Tensor4D) => tf.Tensor4D
  return f(scores)
}

/** qkv [B·T, 3D] → [q [B, H, T, hd], kᵀ [B, H, hd, T], v [B, H, T, hd]]. */
export const splitHeadsFused = (qkv: tf.Tensor2D, batch: number, heads: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] =>
  run(SPLIT_HEADS, { qkv }, { batch, heads } as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D]

/** y [B, H, T, hd] → [B·T, H·hd]. */
export const headsToRowsFused = (y: tf.Tensor4D): tf.Tensor2D => run(HEADS_TO_ROWS, { x: y }, { heads: y.shape[1], tokens: y.shape[2] }) as tf.Tensor2D

/** Rows of table [V, D] at ids [N] int32 → [N, D], tf.gather's values (no gradient of its own). */
export const gatherRowsFused = (table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D => run(GATHER_ROWS, { table, ids }) as tf.Tensor2D

/** LayerNorm over the last axis (ε 1e-5) with gain and shift: cnnFused.ts's channel norm. */
export const layerNormFused = <T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor): T => channelNormFused(x, gamma, beta, false)
