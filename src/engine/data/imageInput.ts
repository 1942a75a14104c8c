import type { Rgba } from './images/types'

/**
 * Turns decoded RGBA pixels into the image bodies' input: a square `size`×`size` RGB
 * image in [-1, 1] (pixel / 127.5 − 1), transparency composited on white. Resizing is an
 * area (box) average, so downscaling a 64-px emoji to 32 px does not alias; the image is
 * stretched to a square (emoji and most icon sets already are).
 */
export function rgbaToInput(img: Rgba, size: number, out = new Float32Array(size * size * 3), offset = 0): Float32Array {
  const { premul, alpha } = toPremultiplied(img, size)
  for (let p = 0; p < size * size; p++) {
    const bg = 1 - alpha[p]!
    for (let c = 0; c < 3; c++) out[offset + p * 3 + c] = 2 * (premul[p * 3 + c]! + bg) - 1
  }
  return out
}

/** Box-resized, alpha-premultiplied colour in [0, 1] ([S·S·3]) and alpha ([S·S]), so a
 *  caller can composite on any background later (augmentation). */
export function toPremultiplied(img: Rgba, size: number): { premul: Float32Array; alpha: Float32Array } {
  const { width: w, height: h, data } = img
  if (data.length < w * h * 4) throw new Error(`Image data holds ${data.length} bytes, ${w}×${h} RGBA needs ${w * h * 4}`)
  const premul = new Float32Array(size * size * 3)
  const alpha = new Float32Array(size * size)
  for (let y = 0; y < size; y++) {
    const y0 = (y * h) / size
    const y1 = ((y + 1) * h) / size
    for (let x = 0; x < size; x++) {
      const x0 = (x * w) / size
      const x1 = ((x + 1) * w) / size
      let r = 0
      let g = 0
      let b = 0
      let a = 0
      let area = 0
      // Every source pixel overlapping the target cell, weighted by the overlap.
      for (let sy = Math.floor(y0); sy < Math.min(h, Math.ceil(y1)); sy++) {
        const wy = Math.min(y1, sy + 1) - Math.max(y0, sy)
        for (let sx = Math.floor(x0); sx < Math.min(w, Math.ceil(x1)); sx++) {
          const wgt = wy * (Math.min(x1, sx + 1) - Math.max(x0, sx))
          const i = (sy * w + sx) * 4
          const al = (data[i + 3]! / 255) * wgt
          r += (data[i]! / 255) * al
          g += (data[i + 1]! / 255) * al
          b += (data[i + 2]! / 255) * al
          a += al
          area += wgt
        }
      }
      const p = y * size + x
      premul[p * 3] = r / area
      premul[p * 3 + 1] = g / area
      premul[p * 3 + 2] = b / area
      alpha[p] = a / area
    }
  }
  return { premul, alpha }
}
