import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { resizeRgba, rgbaToFloat, SYMMETRIC, UNIT } from './pixels'

describe('pixels', () => {
  it('resizes like tf.image.resizeBilinear with half-pixel centres', async () => {
    const w = 5
    const h = 3
    const data = new Uint8ClampedArray(w * h * 4)
    for (let i = 0; i < w * h; i++) data.set([i * 10, 255 - i * 7, (i * 37) % 256, 255], i * 4)
    const mine = resizeRgba({ width: w, height: h, data }, 4, 2)
    const rgb = Array.from({ length: w * h * 3 }, (_, k) => data[Math.floor(k / 3) * 4 + (k % 3)]!)
    const ref = tf.image.resizeBilinear(tf.tensor3d(rgb, [h, w, 3]), [2, 4], false, true)
    const want = await ref.data()
    ref.dispose()
    for (let i = 0; i < 8; i++) for (let c = 0; c < 3; c++) expect(mine[i * 4 + c]).toBeCloseTo(Math.round(want[i * 3 + c]!), -0.5)
    expect(mine[3]).toBe(255)
  })

  it('composites transparent pixels onto white', () => {
    const out = resizeRgba({ width: 1, height: 1, data: new Uint8ClampedArray([0, 0, 0, 0]) }, 1, 1)
    expect([...out]).toEqual([255, 255, 255, 255])
    const half = resizeRgba({ width: 1, height: 1, data: new Uint8ClampedArray([0, 0, 0, 128]) }, 1, 1)
    expect(half[0]).toBe(127)
  })

  it('normalises to [0, 1] or [-1, 1], RGB only', () => {
    const px = new Uint8ClampedArray([0, 255, 51, 9, 255, 0, 0, 9])
    const out = new Float32Array(8).fill(-9)
    rgbaToFloat(px, UNIT, out, 1)
    expect([...out].map((v) => +v.toFixed(3))).toEqual([-9, 0, 1, 0.2, 1, 0, 0, -9])
    rgbaToFloat(px, SYMMETRIC, out)
    expect([...out.slice(0, 3)].map((v) => +v.toFixed(3))).toEqual([-1, 1, -0.6])
    expect(() => rgbaToFloat(px, UNIT, new Float32Array(5))).toThrow(RangeError)
  })
})
