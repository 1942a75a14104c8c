/**
 * Pixel math on raw RGBA arrays: resize and normalise to float RGB. Pure, so it runs and
 * is tested in Node; the worker only adds the decode step in front of it.
 */
import type { Rgba } from './types'

export interface Normalisation {
  /** Per-channel mean and std applied after scaling to [0, 1]: (x / 255 - mean) / std. */
  mean: [number, number, number]
  std: [number, number, number]
}

/** [0, 1] pixels: what a network trained on x / 255 expects. */
export const UNIT: Normalisation = { mean: [0, 0, 0], std: [1, 1, 1] }
/** [-1, 1] pixels (MobileNet's convention). */
export const SYMMETRIC: Normalisation = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }

/**
 * Bilinear resize with pixel centres aligned (as tf.image.resizeBilinear with
 * halfPixelCenters). Transparent pixels are composited onto white first, so emoji and
 * logos on a transparent background do not turn black.
 */
export function resizeRgba(src: Rgba, width: number, height: number): Uint8ClampedArray {
  const { width: sw, height: sh, data } = src
  if (data.length !== sw * sh * 4) throw new RangeError(`RGBA data has ${data.length} bytes; ${sw}×${sh} needs ${sw * sh * 4}`)
  const flat = new Float32Array(sw * sh * 3)
  for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
    const a = (data[i + 3] as number) / 255
    for (let c = 0; c < 3; c++) flat[j + c] = (data[i + c] as number) * a + 255 * (1 - a)
  }
  const out = new Uint8ClampedArray(width * height * 4)
  const sx = sw / width
  const sy = sh / height
  for (let y = 0; y < height; y++) {
    const fy = Math.min(sh - 1, Math.max(0, (y + 0.5) * sy - 0.5))
    const y0 = Math.floor(fy)
    const y1 = Math.min(sh - 1, y0 + 1)
    const wy = fy - y0
    for (let x = 0; x < width; x++) {
      const fx = Math.min(sw - 1, Math.max(0, (x + 0.5) * sx - 0.5))
      const x0 = Math.floor(fx)
      const x1 = Math.min(sw - 1, x0 + 1)
      const wx = fx - x0
      const o = (y * width + x) * 4
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => flat[(yy * sw + xx) * 3 + c] as number
        const top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx
        const bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx
        out[o + c] = top * (1 - wy) + bottom * wy
      }
      out[o + 3] = 255
    }
  }
  return out
}

/** RGBA bytes to normalised float RGB written at `offset` in `out` (HWC order). */
export function rgbaToFloat(rgba: Uint8ClampedArray | Uint8Array, norm: Normalisation, out: Float32Array, offset = 0): void {
  const n = rgba.length / 4
  if (offset + n * 3 > out.length) throw new RangeError('Output buffer is too small for the image')
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      out[offset + i * 3 + c] = ((rgba[i * 4 + c] as number) / 255 - norm.mean[c]!) / norm.std[c]!
    }
  }
}
