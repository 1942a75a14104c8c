import type * as tf from '@tensorflow/tfjs'

/**
 * cnnFused.ts's JavaScript kernels as loop nests, as they were before 2026-12-06 22:00, for the
 * bench only (benchSwitch.cnnLoopNests; page: `__studioCnnLoopNests`): the same arithmetic in the
 * same order as cnnFused.ts's per-row functions. Called once a step, a loop nest is optimised
 * only by on-stack replacement, which V8's Maglev left at every exit from the inner loop (the
 * deopts and the background recompilation this measures). Not used by the studio.
 */

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array
}
type Args = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }
const dims4 = (t: tf.TensorInfo) => t.shape as [number, number, number, number]
const LN_EPS = 1e-5

export function im2col({ inputs, backend }: Args): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo }
  const [B, H, W, C] = dims4(x)
  const b = backend as WasmLike
  const out = b.makeOutput([B, H, W, 9 * C], 'float32') // first: allocating may move the heap
  const o = b.typedArrayFromHeap(out)
  const xv = b.typedArrayFromHeap(x)
  const C9 = 9 * C
  for (let n = 0; n < B; n++)
    for (let h = 0; h < H; h++)
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
  return out
}

export function col2im({ inputs, backend }: Args): tf.TensorInfo {
  const { dy } = inputs as { dy: tf.TensorInfo }
  const [B, H, W, C9] = dims4(dy)
  const C = C9 / 9
  const b = backend as WasmLike
  const out = b.makeOutput([B, H, W, C], 'float32')
  const dx = b.typedArrayFromHeap(out)
  dx.fill(0)
  const g = b.typedArrayFromHeap(dy)
  for (let n = 0; n < B; n++)
    for (let h = 0; h < H; h++)
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
  return out
}

/** depthwiseGrad's filter and bias gradient sums. */
export function depthwiseGradSums(accW: Float64Array, accB: Float64Array, xv: Float32Array, g: Float32Array, B: number, H: number, W: number, C: number): void {
  for (let n = 0; n < B; n++)
    for (let h = 0; h < H; h++)
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

/** channelNormGrad's rows. */
export function normGradRows(dx: Float32Array, accG: Float64Array, accB: Float64Array, xhat: Float64Array, gh: Float64Array, xv: Float32Array, gv: Float32Array, bv: Float32Array, g: Float32Array, N: number, C: number, clip: boolean): void {
  for (let r = 0; r < N; r++) {
    const a = r * C
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
}

export function avgPool2({ inputs, backend }: Args): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo }
  const [B, H, W, C] = dims4(x)
  if (H % 2 || W % 2) throw new Error(`StudioAvgPool2: height and width must be even, got ${H}×${W}`)
  const b = backend as WasmLike
  const OH = H / 2
  const OW = W / 2
  const out = b.makeOutput([B, OH, OW, C], 'float32')
  const o = b.typedArrayFromHeap(out)
  const xv = b.typedArrayFromHeap(x)
  const row = W * C
  for (let n = 0; n < B; n++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        const dst = ((n * OH + i) * OW + j) * C
        const src = ((n * H + 2 * i) * W + 2 * j) * C
        for (let c = 0; c < C; c++) o[dst + c] = (xv[src + c]! + xv[src + C + c]! + xv[src + row + c]! + xv[src + row + C + c]!) / 4
      }
  return out
}

export function avgPool2Grad({ inputs, backend }: Args): tf.TensorInfo {
  const { dy } = inputs as { dy: tf.TensorInfo }
  const [B, OH, OW, C] = dims4(dy)
  const b = backend as WasmLike
  const H = 2 * OH
  const W = 2 * OW
  const out = b.makeOutput([B, H, W, C], 'float32')
  const dx = b.typedArrayFromHeap(out)
  const g = b.typedArrayFromHeap(dy)
  const row = W * C
  for (let n = 0; n < B; n++)
    for (let i = 0; i < OH; i++)
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
  return out
}
