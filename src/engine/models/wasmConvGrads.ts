import * as tf from '@tensorflow/tfjs'
import { oldKernels } from '../benchSwitches'

/**
 * The gradient kernels the tfjs wasm backend lacks for convolutions (see the field notes):
 * Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter and
 * DepthwiseConv2dNativeBackpropInput, as plain loops over the wasm heap. With them a loaded
 * layers model's conv blocks ("freeze", "full") train on wasm too — the fastest backend on a
 * machine without a GPU. Channels-last (NHWC) only, as tfjs layers models in the browser are.
 * Registered once, and only where the backend has no kernel of that name.
 */
interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array
}

type ConvAttrs = {
  strides: [number, number] | number
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding
  dilations?: [number, number] | number
  dimRoundingMode?: 'floor' | 'round' | 'ceil'
  dataFormat?: 'NHWC' | 'NCHW'
  filterShape?: [number, number, number, number]
  inputShape?: [number, number, number, number]
}

function nhwcOnly(attrs: ConvAttrs, kernel: string): void {
  if (attrs.dataFormat === 'NCHW') throw new Error(`${kernel} on wasm: only channels-last (NHWC) data is supported`)
}

/** dW[kh, kw, ci, co] = Σ x[b, oh·s + kh − pad, ow·s + kw − pad, ci] · dy[b, oh, ow, co]. */
function conv2DBackpropFilter({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const a = attrs as unknown as ConvAttrs
  nhwcOnly(a, 'Conv2DBackpropFilter')
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape!, a.strides, 1, a.pad, a.dimRoundingMode, false)
  const fast = pointwiseFilterGrad(info, x, dy, backend)
  if (fast) return fast
  const b = backend as WasmLike
  const out = b.makeOutput(info.filterShape, 'float32') // first: allocating may move the heap
  const dW = b.typedArrayFromHeap(out)
  dW.fill(0)
  const xv = b.typedArrayFromHeap(x)
  const dyv = b.typedArrayFromHeap(dy)
  const { batchSize, inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW, outChannels: Co, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info
  const { top, left } = info.padInfo
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyOff = ((n * OH + oh) * OW + ow) * Co
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh + kh - top
          if (ih < 0 || ih >= H) continue
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sw + kw - left
            if (iw < 0 || iw >= W) continue
            const xOff = ((n * H + ih) * W + iw) * Ci
            const wBase = (kh * KW + kw) * Ci
            for (let ci = 0; ci < Ci; ci++) {
              const xval = xv[xOff + ci]!
              if (xval === 0) continue // after ReLU many inputs are zero
              const wOff = (wBase + ci) * Co
              for (let co = 0; co < Co; co++) dW[wOff + co]! += xval * dyv[dyOff + co]!
            }
          }
        }
      }
    }
  }
  return out
}

/** A 1×1, stride-1, unpadded convolution's weight gradient is one matrix product,
 *  dW[ci, co] = Σ_rows x[row, ci] · dy[row, co] over the N·H·W rows, viewed as [rows, C]. These
 *  are most of a MobileNet's weights; the loops above ran them about 20× slower. tfjs-wasm's
 *  BatchMatMul hands a product to XNNPACK only when nothing is transposed (a transposeA product
 *  runs its scalar loop), so the narrower operand is transposed first by the backend's own
 *  Transpose and the product is a plain one: xᵀ · dy when Ci ≤ Co, else (dyᵀ · x)ᵀ (the last
 *  transpose only [Co, Ci]). oldKernels.convGradTransposeA switches back to the transposeA
 *  product, for the benches. */
function pointwiseFilterGrad(info: tf.backend_util.Conv2DInfo, x: tf.TensorInfo, dy: tf.TensorInfo, backend: unknown): tf.TensorInfo | null {
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, inHeight, inWidth, outHeight, outWidth, batchSize, inChannels, outChannels } = info
  const pointwise = filterHeight === 1 && filterWidth === 1 && strideHeight === 1 && strideWidth === 1 && dilationHeight === 1 && dilationWidth === 1
  if (!pointwise || info.padInfo.top !== 0 || info.padInfo.left !== 0 || outHeight !== inHeight || outWidth !== inWidth) return null
  const matMul = tf.getKernel('BatchMatMul', 'wasm')
  const transpose = tf.getKernel('Transpose', 'wasm')
  if (!matMul || !transpose || x.dtype !== 'float32' || dy.dtype !== 'float32') return null
  const be = backend as tf.KernelBackend
  const rows = batchSize * inHeight * inWidth
  const xs: tf.TensorInfo = { dataId: x.dataId, shape: [rows, inChannels], dtype: 'float32' }
  const dys: tf.TensorInfo = { dataId: dy.dataId, shape: [rows, outChannels], dtype: 'float32' }
  const mm = (a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean) => matMul.kernelFunc({ inputs: { a, b }, backend: be, attrs: { transposeA, transposeB: false } }) as tf.TensorInfo
  const tr = (t: tf.TensorInfo) => transpose.kernelFunc({ inputs: { x: t }, backend: be, attrs: { perm: [1, 0] } }) as tf.TensorInfo
  let out: tf.TensorInfo
  if (oldKernels.convGradTransposeA) out = mm(xs, dys, true)
  else if (inChannels <= outChannels) {
    const xt = tr(xs) // [Ci, rows]
    out = mm(xt, dys, false)
    be.disposeData(xt.dataId)
  } else {
    const dyt = tr(dys) // [Co, rows]
    const p = mm(dyt, xs, false) // [Co, Ci]
    be.disposeData(dyt.dataId)
    out = tr(p)
    be.disposeData(p.dataId)
  }
  return { dataId: out.dataId, shape: info.filterShape, dtype: 'float32' }
}

/** Shared walk over a depthwise convolution: calls f(xIndex, wIndex, dyIndex) for every product. */
function depthwiseWalk(info: tf.backend_util.Conv2DInfo, f: (xi: number, wi: number, dyi: number) => void): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: Ci, outHeight: OH, outWidth: OW, outChannels: Co, filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info
  const M = Co / Ci
  const { top, left } = info.padInfo
  for (let n = 0; n < batchSize; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dyOff = ((n * OH + oh) * OW + ow) * Co
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * sh + kh * dh - top
          if (ih < 0 || ih >= H) continue
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * sw + kw * dw - left
            if (iw < 0 || iw >= W) continue
            const xOff = ((n * H + ih) * W + iw) * Ci
            const wOff = (kh * KW + kw) * Ci * M
            for (let ci = 0; ci < Ci; ci++) for (let m = 0; m < M; m++) f(xOff + ci, wOff + ci * M + m, dyOff + ci * M + m)
          }
        }
      }
    }
  }
}

/** dW[kh, kw, ci, m] = Σ x[b, ih, iw, ci] · dy[b, oh, ow, ci·M + m]. */
function depthwiseBackpropFilter({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const a = attrs as unknown as ConvAttrs
  nhwcOnly(a, 'DepthwiseConv2dNativeBackpropFilter')
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo }
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape!, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true)
  const b = backend as WasmLike
  const out = b.makeOutput(info.filterShape, 'float32')
  const dW = b.typedArrayFromHeap(out)
  dW.fill(0)
  const xv = b.typedArrayFromHeap(x)
  const dyv = b.typedArrayFromHeap(dy)
  depthwiseWalk(info, (xi, wi, dyi) => (dW[wi]! += xv[xi]! * dyv[dyi]!))
  return out
}

/** dx[b, ih, iw, ci] = Σ W[kh, kw, ci, m] · dy[b, oh, ow, ci·M + m]. */
function depthwiseBackpropInput({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const a = attrs as unknown as ConvAttrs
  nhwcOnly(a, 'DepthwiseConv2dNativeBackpropInput')
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo }
  const info = tf.backend_util.computeConv2DInfo(a.inputShape!, filter.shape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true)
  const b = backend as WasmLike
  const out = b.makeOutput(info.inShape, 'float32')
  const dx = b.typedArrayFromHeap(out)
  dx.fill(0)
  const wv = b.typedArrayFromHeap(filter)
  const dyv = b.typedArrayFromHeap(dy)
  depthwiseWalk(info, (xi, wi, dyi) => (dx[xi]! += wv[wi]! * dyv[dyi]!))
  return out
}

const KERNELS: [string, tf.KernelFunc][] = [
  ['Conv2DBackpropFilter', conv2DBackpropFilter as tf.KernelFunc],
  ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter as tf.KernelFunc],
  ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput as tf.KernelFunc],
]

/** Adds the missing kernels to the wasm backend (idempotent; harmless where wasm is unused). */
export function registerWasmConvGrads(): void {
  for (const [kernelName, kernelFunc] of KERNELS) {
    if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc })
  }
}
