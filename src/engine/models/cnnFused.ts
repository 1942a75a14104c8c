import * as tf from '@tensorflow/tfjs'
import { benchSwitch } from '../benchSwitches'
import * as nested from './cnnLoopNests'
import { heapAlloc, lmSimd } from './lmSimd'
import { cnnSimd } from './cnnSimd'
import { heapScratch } from './heapModules'

/**
 * The emoji CNN's pieces (engine/models/tinyCnn.ts) as one kernel each on the wasm backend,
 * forward and backward, over the wasm heap. Built from tf ops, a full fine-tuning step of the
 * built-in 172 k-weight model ran about 2,600 kernels (batch 16: ~180 ms in Node), most of
 * them costing as much at 8 rows as at 16 (dispatch, JavaScript, allocation, and the copy
 * tfjs-wasm makes of every tensor the tape saves): the depthwise 3×3 as 9 shifted slices ×
 * per-channel weights (and backward 9 pads, 9 products, 9 sums), ReLU6 as clipByValue (its
 * gradient: two comparisons, a logical and, zeros and a select), the channel LayerNorm as ~10
 * ops (~30 backward), the stem's im2col as a pad, 9 slices and a concat of 3-channel tensors,
 * and the 2×2 average pool's gradient (tfjs-wasm's AvgPoolGrad, a scalar loop).
 *
 * Same maths as the op path, not always the same rounding: the JavaScript loops sum in float64
 * and XNNPACK's depthwise convolution in its own order, so results agree to float32 precision
 * (cnnFused.wasm.test.ts compares each piece and a whole training step with the cpu backend
 * running the op path; ReLU6's and the channel norm's forwards are the op path's own kernels,
 * equal bit for bit). TinyCnn uses these only on wasm (`cnnFusedActive`); other backends keep
 * the op path. No kernel here writes into an input (outputs are always new heap tensors).
 *
 * Kernels (registered for 'wasm' only), each with its gradient registered:
 * - StudioIm2col3x3   x [B, H, W, C] → [B, H, W, 9·C], tap-major (k = 3·dy + dx) then channel,
 *                     zero padding; gradient StudioCol2im3x3.
 * - StudioRelu6       clipByValue(x, 0, 6) (the backend's own kernel); gradient StudioRelu6Grad:
 *                     dy where 0 ≤ x ≤ 6 (as clipByValue's gradient: the bounds pass), else 0.
 * - StudioDepthwise3x3  x [B, H, W, C], filter [3, 3, C], bias [C] → [B, H, W, C], stride 1,
 *                     zero padding: XNNPACK's FusedDepthwiseConv2D; gradient
 *                     StudioDepthwise3x3Grad → [dx (XNNPACK, the filter turned 180°), dfilter, dbias].
 * - StudioChannelNorm x [N, C], gamma [C], beta [C] → LayerNorm over C (ε 1e-5), then ReLU6
 *                     when attrs.relu6: the op path's kernels called directly (the same values
 *                     bit for bit); gradient StudioChannelNormGrad → [dx, dgamma, dbeta], one
 *                     JavaScript pass a row that recomputes the row's statistics from the saved
 *                     x (the backend's kernels for it were slower: its broadcast comparisons,
 *                     subtraction and a ones-row product over 16,384 rows took 2–5 ms each).
 * - StudioAvgPool2    x [B, H, W, C] → [B, H/2, W/2, C], 2×2 windows, stride 2; gradient
 *                     StudioAvgPool2Grad.
 */

export const IM2COL = 'StudioIm2col3x3'
export const COL2IM = 'StudioCol2im3x3'
export const RELU6 = 'StudioRelu6'
export const RELU6_GRAD = 'StudioRelu6Grad'
export const DEPTHWISE = 'StudioDepthwise3x3'
export const DEPTHWISE_GRAD = 'StudioDepthwise3x3Grad'
export const CHANNEL_NORM = 'StudioChannelNorm'
export const CHANNEL_NORM_GRAD = 'StudioChannelNormGrad'
export const AVG_POOL2 = 'StudioAvgPool2'
export const AVG_POOL2_GRAD = 'StudioAvgPool2Grad'

const LN_EPS = 1e-5

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array
  disposeData(dataId: tf.DataId, force?: boolean): boolean
}
type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }

const f32 = (t: tf.TensorInfo, what: string) => {
  if (t.dtype !== 'float32') throw new Error(`${what}: a ${t.dtype} tensor where float32 was expected`)
}
const dims4 = (t: tf.TensorInfo, what: string): [number, number, number, number] => {
  if (t.shape.length !== 4) throw new Error(`${what}: expected [B, H, W, C], got [${t.shape.join(', ')}]`)
  f32(t, what)
  return t.shape as [number, number, number, number]
}

function im2col(args: Args): tf.TensorInfo {
  if (benchSwitch.cnnLoopNests) return nested.im2col(args)
  const { x } = args.inputs as { x: tf.TensorInfo }
  const [B, H, W, C] = dims4(x, IM2COL)
  const b = args.backend as WasmLike
  const out = b.makeOutput([B, H, W, 9 * C], 'float32') // first: allocating may move the heap
  const o = b.typedArrayFromHeap(out)
  const xv = b.typedArrayFromHeap(x)
  for (let n = 0; n < B; n++) for (let h = 0; h < H; h++) im2colRow(o, xv, n, h, H, W, C)
  return out
}

// Each kernel's work on one row of the image (n, h) is a function of its own, called B·H times
// a kernel. V8 optimises a function called that often as a whole; a loop nest inside a function
// called once a step was only ever optimised by on-stack replacement at its innermost loop, and
// Maglev's code for that deoptimised at every exit from the inner loop (Chromium --trace-deopt:
// 316 of a 25-step emoji-cnn run's ~580 deopts were im2col's, "exit from OSR'd inner loop"),
// so each step recompiled the kernels on V8's background threads (TurboFan and Maglev: most of
// the page's ThreadPoolForeground time) and ran them partly in the interpreter meanwhile. The
// arithmetic and its order are unchanged (benchSwitch.cnnLoopNests: the loop nests, for the bench).

function im2colRow(o: Float32Array, xv: Float32Array, n: number, h: number, H: number, W: number, C: number): void {
  const C9 = 9 * C
  for (let w = 0; w < W; w++) {
    const row = ((n * H + h) * W + w) * C9
    for (let k = 0; k < 9; k++) {
      const ih = h + ((k / 3) | 0) - 1
      const iw = w + (k % 3) - 1
      const dst = row + k * C
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) o.fill(0, dst, dst + C)
      else {
        const src = ((n * H + ih) * W + iw) * C
        for (let c = 0; c < C; c++) o[dst + c] = xv[src + c]!
      }
    }
  }
}

function col2im(args: Args): tf.TensorInfo {
  if (benchSwitch.cnnLoopNests) return nested.col2im(args)
  const { dy } = args.inputs as { dy: tf.TensorInfo }
  const [B, H, W, C9] = dims4(dy, COL2IM)
  const C = C9 / 9
  const b = args.backend as WasmLike
  const out = b.makeOutput([B, H, W, C], 'float32')
  const dx = b.typedArrayFromHeap(out)
  dx.fill(0)
  const g = b.typedArrayFromHeap(dy)
  for (let n = 0; n < B; n++) for (let h = 0; h < H; h++) col2imRow(dx, g, n, h, H, W, C)
  return out
}

function col2imRow(dx: Float32Array, g: Float32Array, n: number, h: number, H: number, W: number, C: number): void {
  const C9 = 9 * C
  for (let w = 0; w < W; w++) {
    const row = ((n * H + h) * W + w) * C9
    for (let k = 0; k < 9; k++) {
      const ih = h + ((k / 3) | 0) - 1
      const iw = w + (k % 3) - 1
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue
      const dst = ((n * H + ih) * W + iw) * C
      const src = row + k * C
      for (let c = 0; c < C; c++) dx[dst + c]! += g[src + c]!
    }
  }
}

/** The wasm backend's own ClipByValue (XNNPACK's clamp): the op path's forward, bit for bit. */
function relu6({ inputs, backend }: Args): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo }
  f32(x, RELU6)
  return tf.getKernel('ClipByValue', 'wasm')!.kernelFunc({ inputs: { x }, attrs: { clipValueMin: 0, clipValueMax: 6 }, backend: backend as tf.KernelBackend }) as tf.TensorInfo
}

function relu6Grad({ inputs, backend }: Args): tf.TensorInfo {
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo }
  const b = backend as WasmLike
  const out = b.makeOutput(x.shape, 'float32')
  const o = b.typedArrayFromHeap(out)
  const xv = b.typedArrayFromHeap(x)
  const g = b.typedArrayFromHeap(dy)
  // cnnSimd.ts: four lanes at a time, the same values
  const simd = xv.length > 0 && xv.length % 4 === 0 && !benchSwitch.cnnLoopNests ? cnnSimd(backend) : null
  if (simd) {
    simd.relu6grad(o.byteOffset, xv.byteOffset, g.byteOffset, xv.length)
    return out
  }
  for (let i = 0; i < xv.length; i++) {
    const v = xv[i]!
    o[i] = v >= 0 && v <= 6 ? g[i]! : 0
  }
  return out
}

/** The wasm backend's own depthwise kernels (XNNPACK), called on heap tensors. */
function xnnDepthwise(backend: unknown, x: tf.TensorInfo, filter: tf.TensorInfo, bias: tf.TensorInfo | null): tf.TensorInfo {
  const C = x.shape[3]!
  const f = { dataId: filter.dataId, shape: [3, 3, C, 1], dtype: 'float32' as const }
  const attrs = { strides: [1, 1], pad: 'same', dilations: [1, 1], dimRoundingMode: undefined, activation: 'linear', dataFormat: 'NHWC' }
  if (bias) return tf.getKernel('FusedDepthwiseConv2D', 'wasm')!.kernelFunc({ inputs: { x, filter: f, bias }, attrs: attrs as never, backend: backend as tf.KernelBackend }) as tf.TensorInfo
  return tf.getKernel('DepthwiseConv2dNative', 'wasm')!.kernelFunc({ inputs: { x, filter: f }, attrs: attrs as never, backend: backend as tf.KernelBackend }) as tf.TensorInfo
}

function depthwise({ inputs, backend }: Args): tf.TensorInfo {
  const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo }
  const [, , , C] = dims4(x, DEPTHWISE)
  if (filter.shape.join() !== `3,3,${C}` || bias.shape.join() !== `${C}`) throw new Error(`${DEPTHWISE}: filter [3, 3, ${C}] and bias [${C}] expected, got [${filter.shape.join(', ')}] and [${bias.shape.join(', ')}]`)
  return xnnDepthwise(backend, x, filter, bias)
}

/** [dx, dfilter, dbias] of the depthwise 3×3 with bias, for dz = the gradient of its output. */
function depthwiseGrad({ inputs, backend }: Args): tf.TensorInfo[] {
  const { dy, x, filter } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; filter: tf.TensorInfo }
  const [B, H, W, C] = dims4(x, DEPTHWISE_GRAD)
  const b = backend as WasmLike
  // dx: the same convolution of dy with the filter turned 180° (stride 1, zero padding 1).
  const flipped = b.makeOutput([3, 3, C], 'float32')
  {
    const fl = b.typedArrayFromHeap(flipped)
    const fv = b.typedArrayFromHeap(filter)
    for (let k = 0; k < 9; k++) fl.set(fv.subarray((8 - k) * C, (9 - k) * C), k * C)
  }
  const dx = xnnDepthwise(backend, dy, flipped, null)
  b.disposeData(flipped.dataId)
  const dW = b.makeOutput([3, 3, C], 'float32')
  const dB = b.makeOutput([C], 'float32')
  const simd = C % 4 === 0 && B * H * W * C > 0 && !benchSwitch.cnnLoopNests ? cnnSimd(backend) : null
  if (simd) {
    // cnnSimd.ts: depthwiseGradRow's float64 sums in its order (f64x2 lanes), the same bits
    const scratch = heapScratch(backend, 80 * C, DEPTHWISE_GRAD, [dx, dW, dB]) // accW [9, C], accB [C]: float64
    try {
      const at = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset // after the malloc: the heap may have moved
      simd.dwgrad(scratch, scratch + 72 * C, at(x), at(dy), B, H, W, C)
      const dw = b.typedArrayFromHeap(dW)
      dw.set(new Float64Array(dw.buffer, scratch, 9 * C))
      b.typedArrayFromHeap(dB).set(new Float64Array(dw.buffer, scratch + 72 * C, C))
    } finally {
      heapAlloc(backend)._free(scratch)
    }
    return [dx, dW, dB]
  }
  const accW = new Float64Array(9 * C)
  const accB = new Float64Array(C)
  const xv = b.typedArrayFromHeap(x)
  const g = b.typedArrayFromHeap(dy)
  if (benchSwitch.cnnLoopNests) nested.depthwiseGradSums(accW, accB, xv, g, B, H, W, C)
  else for (let n = 0; n < B; n++) for (let h = 0; h < H; h++) depthwiseGradRow(accW, accB, xv, g, n, h, H, W, C)
  b.typedArrayFromHeap(dW).set(accW)
  b.typedArrayFromHeap(dB).set(accB)
  return [dx, dW, dB]
}

/** Row (n, h)'s terms of the filter's and bias's gradients, added in the loop nest's order. */
function depthwiseGradRow(accW: Float64Array, accB: Float64Array, xv: Float32Array, g: Float32Array, n: number, h: number, H: number, W: number, C: number): void {
  for (let w = 0; w < W; w++) {
    const o = ((n * H + h) * W + w) * C
    for (let c = 0; c < C; c++) accB[c]! += g[o + c]!
    for (let ky = 0; ky < 3; ky++) {
      const ih = h + ky - 1
      if (ih < 0 || ih >= H) continue
      for (let kx = 0; kx < 3; kx++) {
        const iw = w + kx - 1
        if (iw < 0 || iw >= W) continue
        const src = ((n * H + ih) * W + iw) * C
        const base = (ky * 3 + kx) * C
        for (let c = 0; c < C; c++) accW[base + c]! += xv[src + c]! * g[o + c]!
      }
    }
  }
}

function normDims(x: tf.TensorInfo, gamma: tf.TensorInfo, what: string): [number, number] {
  f32(x, what)
  const C = x.shape[x.shape.length - 1]!
  if (gamma.shape.join() !== `${C}`) throw new Error(`${what}: gamma [${C}] expected, got [${gamma.shape.join(', ')}]`)
  return [x.shape.reduce((a, d) => a * d, 1) / C, C]
}

/** A kernel of the wasm backend's own, called directly on heap tensors (no engine, no tape). */
function raw(backend: unknown, name: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  return tf.getKernel(name, 'wasm')!.kernelFunc({ inputs, attrs: attrs as tf.NamedAttrMap, backend: backend as tf.KernelBackend }) as tf.TensorInfo
}

/** The op path's channel norm (tf.moments, sub, sqrt(variance + ε), div, ×γ, +β), kernel for
 *  kernel with the wasm backend's own Mean, Sub, Square, Add, Sqrt, RealDiv, Multiply: the same
 *  float32 values bit for bit, several times faster than a JavaScript loop, and without the
 *  engine's per-op bookkeeping. Returns z (before any ReLU6), the row means and s = √(var + ε)
 *  ([N, 1]); the caller frees them (disposeData). */
function normForward(backend: unknown, x: tf.TensorInfo, gamma: tf.TensorInfo, beta: tf.TensorInfo, N: number, C: number) {
  const b = backend as WasmLike
  const x2 = { dataId: x.dataId, shape: [N, C], dtype: 'float32' as const }
  const eps = b.makeOutput([], 'float32')
  b.typedArrayFromHeap(eps)[0] = LN_EPS
  const temps: tf.TensorInfo[] = [eps]
  const k = (name: string, inputs: Record<string, tf.TensorInfo>, attrs?: Record<string, unknown>) => {
    const t = raw(backend, name, inputs, attrs)
    temps.push(t)
    return t
  }
  const mean = raw(backend, 'Mean', { x: x2 }, { axis: [1], keepDims: true })
  const variance = k('Mean', { x: k('Square', { x: k('Sub', { a: x2, b: mean }) }) }, { axis: [1], keepDims: true })
  const sd = raw(backend, 'Sqrt', { x: k('Add', { a: variance, b: eps }) })
  const z = raw(backend, 'Add', { a: k('Multiply', { a: k('RealDiv', { a: k('Sub', { a: x2, b: mean }), b: sd }), b: gamma }), b: beta })
  for (const t of temps) b.disposeData(t.dataId)
  return { z, mean, sd }
}

function channelNorm({ inputs, backend, attrs }: Args): tf.TensorInfo {
  const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo }
  const [N, C] = normDims(x, gamma, CHANNEL_NORM)
  const clip = (attrs as { relu6?: boolean } | undefined)?.relu6 === true
  const b = backend as WasmLike
  const simd = benchSwitch.tfjsNormForward || N === 0 || C === 0 ? null : lmSimd(backend)
  let z: tf.TensorInfo
  if (simd) {
    // lmSimd.ts normfwd: normForward's float32 operations in its kernels' order, four rows at a
    // time in f32x4 lanes, the same bits in one pass instead of ten kernels
    z = b.makeOutput([N, C], 'float32')
    const at = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset
    simd.normfwd(at(z), at(x), at(gamma), at(beta), N, C, LN_EPS)
  } else {
    const f = normForward(backend, x, gamma, beta, N, C)
    b.disposeData(f.mean.dataId)
    b.disposeData(f.sd.dataId)
    z = f.z
  }
  const y = clip ? raw(backend, 'ClipByValue', { x: z }, { clipValueMin: 0, clipValueMax: 6 }) : z
  if (clip) b.disposeData(z.dataId)
  return { dataId: y.dataId, shape: [...x.shape], dtype: 'float32' }
}

function channelNormGrad({ inputs, backend, attrs }: Args): tf.TensorInfo[] {
  const { dy, x, gamma, beta } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo }
  const [N, C] = normDims(x, gamma, CHANNEL_NORM_GRAD)
  const clip = (attrs as { relu6?: boolean } | undefined)?.relu6 === true
  const b = backend as WasmLike
  const dxT = b.makeOutput(x.shape, 'float32')
  const dgT = b.makeOutput([C], 'float32')
  const dbT = b.makeOutput([C], 'float32')
  const simd = benchSwitch.cnnLoopNests || N === 0 || C === 0 ? null : lmSimd(backend)
  if (simd) {
    // lmSimd.ts: normGradRow's float64 operations in its order, the same bits; two rows at a time
    // in f64x2 lanes (normgrad2) unless benchSwitch.scalarNormGrad
    const heap = heapAlloc(backend)
    const scratch = heapScratch(backend, 48 * C, CHANNEL_NORM_GRAD, [dxT, dgT, dbT]) // accG, accB: C float64 each; x̂, gh: 2·C each
    try {
      const at = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset
      const pass = benchSwitch.scalarNormGrad ? simd.normgrad : simd.normgrad2
      pass(at(dxT), at(x), at(gamma), at(beta), at(dy), scratch, N, C, clip ? 1 : 0, LN_EPS)
      const dg = b.typedArrayFromHeap(dgT)
      dg.set(new Float64Array(dg.buffer, scratch, C))
      b.typedArrayFromHeap(dbT).set(new Float64Array(dg.buffer, scratch + 8 * C, C))
    } finally {
      heap._free(scratch)
    }
    return [dxT, dgT, dbT]
  }
  const dx = b.typedArrayFromHeap(dxT)
  const xv = b.typedArrayFromHeap(x)
  const gv = b.typedArrayFromHeap(gamma)
  const bv = b.typedArrayFromHeap(beta)
  const g = b.typedArrayFromHeap(dy)
  const accG = new Float64Array(C)
  const accB = new Float64Array(C)
  const xhat = new Float64Array(C)
  const gh = new Float64Array(C) // the gradient reaching the normalised value
  if (benchSwitch.cnnLoopNests) nested.normGradRows(dx, accG, accB, xhat, gh, xv, gv, bv, g, N, C, clip)
  else for (let r = 0; r < N; r++) normGradRow(dx, accG, accB, xhat, gh, xv, gv, bv, g, r * C, C, clip)
  b.typedArrayFromHeap(dgT).set(accG)
  b.typedArrayFromHeap(dbT).set(accB)
  return [dxT, dgT, dbT]
}

/** One row of the channel norm's gradient (starting at a = r·C): recomputes the row's statistics.
 *  Exported for lmSimd.wasm.test.ts (the float64 sums of lmSimd.ts's normgrad and normgrad2). */
export function normGradRow(dx: Float32Array, accG: Float64Array, accB: Float64Array, xhat: Float64Array, gh: Float64Array, xv: Float32Array, gv: Float32Array, bv: Float32Array, g: Float32Array, a: number, C: number, clip: boolean): void {
  let sum = 0
  for (let c = 0; c < C; c++) sum += xv[a + c]!
  const mean = sum / C
  let sq = 0
  for (let c = 0; c < C; c++) {
    const d = xv[a + c]! - mean
    sq += d * d
  }
  const inv = 1 / Math.sqrt(sq / C + LN_EPS)
  let m1 = 0
  let m2 = 0
  for (let c = 0; c < C; c++) {
    const xh = (xv[a + c]! - mean) * inv
    xhat[c] = xh
    let d = g[a + c]!
    if (clip) {
      // z for ReLU6's mask, recomputed in float64 and rounded: the forward's float32 kernels
      // give the same z or one an ulp away, so the masks can differ only at z within an ulp
      // of 0 or 6 (at the kink, where either gradient is a valid choice).
      const z = Math.fround(xh * gv[c]! + bv[c]!)
      if (!(z >= 0 && z <= 6)) d = 0
    }
    accG[c]! += d * xh
    accB[c]! += d
    const e = d * gv[c]!
    gh[c] = e
    m1 += e
    m2 += e * xh
  }
  m1 /= C
  m2 /= C
  for (let c = 0; c < C; c++) dx[a + c] = (gh[c]! - m1 - xhat[c]! * m2) * inv
}

function avgPool2Kernel(args: Args): tf.TensorInfo {
  if (benchSwitch.cnnLoopNests) return nested.avgPool2(args)
  const { inputs, backend } = args
  const { x } = inputs as { x: tf.TensorInfo }
  const [B, H, W, C] = dims4(x, AVG_POOL2)
  if (H % 2 || W % 2) throw new Error(`${AVG_POOL2}: height and width must be even, got ${H}×${W}`)
  const b = backend as WasmLike
  const OH = H / 2
  const OW = W / 2
  const out = b.makeOutput([B, OH, OW, C], 'float32')
  const o = b.typedArrayFromHeap(out)
  const xv = b.typedArrayFromHeap(x)
  for (let n = 0; n < B; n++) for (let i = 0; i < OH; i++) avgPool2Row(o, xv, n, i, H, W, C)
  return out
}

function avgPool2Row(o: Float32Array, xv: Float32Array, n: number, i: number, H: number, W: number, C: number): void {
  const OH = H / 2
  const OW = W / 2
  const row = W * C
  for (let j = 0; j < OW; j++) {
    const dst = ((n * OH + i) * OW + j) * C
    const src = ((n * H + 2 * i) * W + 2 * j) * C
    for (let c = 0; c < C; c++) o[dst + c] = (xv[src + c]! + xv[src + C + c]! + xv[src + row + c]! + xv[src + row + C + c]!) / 4
  }
}

function avgPool2Grad(args: Args): tf.TensorInfo {
  if (benchSwitch.cnnLoopNests) return nested.avgPool2Grad(args)
  const { inputs, backend } = args
  const { dy } = inputs as { dy: tf.TensorInfo }
  const [B, OH, OW, C] = dims4(dy, AVG_POOL2_GRAD)
  const b = backend as WasmLike
  const H = 2 * OH
  const W = 2 * OW
  const out = b.makeOutput([B, H, W, C], 'float32')
  const dx = b.typedArrayFromHeap(out)
  const g = b.typedArrayFromHeap(dy)
  for (let n = 0; n < B; n++) for (let i = 0; i < OH; i++) avgPool2GradRow(dx, g, n, i, H, W, C)
  return out
}

function avgPool2GradRow(dx: Float32Array, g: Float32Array, n: number, i: number, H: number, W: number, C: number): void {
  const OH = H / 2
  const OW = W / 2
  const row = W * C
  for (let j = 0; j < OW; j++) {
    const src = ((n * OH + i) * OW + j) * C
    const dst = ((n * H + 2 * i) * W + 2 * j) * C
    for (let c = 0; c < C; c++) {
      const v = g[src + c]! / 4
      dx[dst + c] = v
      dx[dst + C + c] = v
      dx[dst + row + c] = v
      dx[dst + row + C + c] = v
    }
  }
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) => {
  registerCnnKernels()
  return tf.engine().runKernel(name, inputs, attrs)
}

const KERNELS: [string, tf.KernelFunc][] = [
  [IM2COL, im2col as tf.KernelFunc],
  [COL2IM, col2im as tf.KernelFunc],
  [RELU6, relu6 as tf.KernelFunc],
  [RELU6_GRAD, relu6Grad as tf.KernelFunc],
  [DEPTHWISE, depthwise as tf.KernelFunc],
  [DEPTHWISE_GRAD, depthwiseGrad as unknown as tf.KernelFunc],
  [CHANNEL_NORM, channelNorm as tf.KernelFunc],
  [CHANNEL_NORM_GRAD, channelNormGrad as unknown as tf.KernelFunc],
  [AVG_POOL2, avgPool2Kernel as tf.KernelFunc],
  [AVG_POOL2_GRAD, avgPool2Grad as tf.KernelFunc],
]

let registered = false
/** Registers the kernels on wasm and their gradients (idempotent). */
export function registerCnnKernels(): void {
  if (registered) return
  registered = true
  for (const [kernelName, kernelFunc] of KERNELS) if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc })
  tf.registerGradient({ kernelName: IM2COL, gradFunc: (dy) => ({ x: () => run(COL2IM, { dy: dy as tf.Tensor }) as tf.Tensor }) })
  tf.registerGradient({ kernelName: RELU6, inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => run(RELU6_GRAD, { dy: dy as tf.Tensor, x: saved[0]! }) as tf.Tensor }) })
  tf.registerGradient({
    kernelName: DEPTHWISE,
    inputsToSave: ['x', 'filter'],
    // One kernel gives all three, run here (outside the tape's per-input tidies, which would
    // dispose the outputs not returned by the first); the gradients' own scope frees them.
    gradFunc: (dy, saved) => {
      const [dx, dW, dB] = run(DEPTHWISE_GRAD, { dy: dy as tf.Tensor, x: saved[0]!, filter: saved[1]! }) as tf.Tensor[]
      return { x: () => dx!, filter: () => dW!, bias: () => dB! }
    },
  })
  tf.registerGradient({
    kernelName: CHANNEL_NORM,
    inputsToSave: ['x', 'gamma', 'beta'],
    gradFunc: (dy, saved, attrs) => {
      const [dx, dG, dB] = run(CHANNEL_NORM_GRAD, { dy: dy as tf.Tensor, x: saved[0]!, gamma: saved[1]!, beta: saved[2]! }, attrs as tf.NamedAttrMap) as tf.Tensor[]
      return { x: () => dx!, gamma: () => dG!, beta: () => dB! }
    },
  })
  tf.registerGradient({ kernelName: AVG_POOL2, gradFunc: (dy) => ({ x: () => run(AVG_POOL2_GRAD, { dy: dy as tf.Tensor }) as tf.Tensor }) })
}

/** Whether TinyCnn runs these kernels: on wasm, unless a bench switched them off (benchSwitch.cnnOpPath). */
export function cnnFusedActive(): boolean {
  if (benchSwitch.cnnOpPath || tf.getBackend() !== 'wasm') return false
  registerCnnKernels()
  return true
}

export const im2col3x3 = (x: tf.Tensor4D): tf.Tensor4D => run(IM2COL, { x }) as tf.Tensor4D
export const relu6Fused = <T extends tf.Tensor>(x: T): T => run(RELU6, { x }) as T
export const depthwise3x3 = (x: tf.Tensor4D, filter: tf.Tensor, bias: tf.Tensor): tf.Tensor4D => run(DEPTHWISE, { x, filter, bias }) as tf.Tensor4D
/** LayerNorm over the last axis (then ReLU6 if asked) of x [..., C]. */
export const channelNormFused = <T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, relu6: boolean): T => run(CHANNEL_NORM, { x, gamma, beta }, { relu6 }) as T
export const avgPool2 = (x: tf.Tensor4D): tf.Tensor4D => run(AVG_POOL2, { x }) as tf.Tensor4D
