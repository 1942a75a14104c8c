import { describe, expect, it } from 'vitest'
import { rgbaToInput, toPremultiplied } from './imageInput'

describe('rgbaToInput', () => {
  it('area-averages when shrinking and composites transparency on white, in [-1, 1]', () => {
    // 2×2: opaque black, opaque white, transparent red, half-transparent blue.
    const data = new Uint8ClampedArray([0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 255, 128])
    const px = rgbaToInput({ width: 2, height: 2, data }, 1)
    const a = 128 / 255
    // Per channel: mean over the 4 pixels of (colour·alpha + (1 − alpha)·white).
    const expected = [
      (0 + 1 + 1 + (1 - a)) / 4, // red
      (0 + 1 + 1 + (1 - a)) / 4, // green
      (0 + 1 + 1 + a + (1 - a)) / 4, // blue
    ].map((v) => 2 * v - 1)
    px.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6))
  })

  it('keeps pixels when the size is unchanged, and splits colour from alpha for augmentation', () => {
    // 2×2: opaque red, transparent, opaque green, half-transparent white.
    const data = new Uint8ClampedArray([255, 0, 0, 255, 9, 9, 9, 0, 0, 255, 0, 255, 255, 255, 255, 51])
    expect(Array.from(rgbaToInput({ width: 2, height: 2, data }, 2))).toEqual([1, -1, -1, 1, 1, 1, -1, 1, -1, 1, 1, 1])
    const { premul, alpha } = toPremultiplied({ width: 2, height: 2, data }, 2)
    expect(Array.from(alpha)).toEqual([1, 0, 1, 51 / 255].map(Math.fround))
    expect(Array.from(premul.subarray(9))).toEqual([51 / 255, 51 / 255, 51 / 255].map(Math.fround))
    expect(() => rgbaToInput({ width: 4, height: 4, data }, 2)).toThrow(/needs 64/)
  })
})
