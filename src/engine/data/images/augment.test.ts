import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../../settings/schema'
import { augmentBatch, augmentOptions, augmentSeed, NO_AUGMENT, rotateBatch } from './augment'
import { UNIT, type Normalisation } from './pixels'

/** A [1, H, W, 3] image whose three channels all hold the given grey rows. */
function grey(rows: number[][]): tf.Tensor4D {
  const h = rows.length
  const w = rows[0]!.length
  return tf.tensor4d(rows.flat().flatMap((v) => [v, v, v]), [1, h, w, 3])
}

/** Channel 0 of image i as rows. */
async function rowsOf(t: tf.Tensor4D, i = 0): Promise<number[][]> {
  const [, h, w] = t.shape
  const v = await t.data()
  const per = h * w * 3
  return Array.from({ length: h }, (_, y) => Array.from({ length: w }, (_, x) => v[i * per + (y * w + x) * 3]!))
}

// wasm registers itself with a higher priority: stay on cpu unless a test asks for wasm.
await tf.setBackend('cpu')

describe('augmentation settings', () => {
  it('is off by default, and each setting turns on its own kind', () => {
    expect(augmentOptions(DEFAULTS)).toBeNull()
    expect(augmentOptions({ ...DEFAULTS, augFlip: true })).toEqual({ ...NO_AUGMENT, flip: 0.5 })
    expect(augmentOptions({ ...DEFAULTS, augShift: 0.2 })).toEqual({ ...NO_AUGMENT, minCrop: 0.8 })
    expect(augmentOptions({ ...DEFAULTS, augRotate: 90 })!.maxRotate).toBeCloseTo(Math.PI / 2, 12)
    expect(augmentOptions({ ...DEFAULTS, augColor: 0.3 })).toEqual({ ...NO_AUGMENT, brightness: 0.3, contrast: 0.3, saturation: 0.3 })
  })

  it('derives one seed per run seed, step and micro-batch, distinct within a run', () => {
    expect(augmentSeed(42, 7, 1)).toBe(augmentSeed(42, 7, 1))
    const seen = new Set<number>()
    for (let step = 0; step < 2000; step++) for (let m = 0; m < 64; m++) seen.add(augmentSeed(42, step, m))
    expect(seen.size).toBe(2000 * 64)
    expect(augmentSeed(43, 0, 0)).not.toBe(augmentSeed(42, 0, 0))
  })
})

describe('augmentBatch', () => {
  const x = tf.tensor4d(Array.from({ length: 2 * 4 * 4 * 3 }, (_, i) => (i % 7) / 7), [2, 4, 4, 3])
  const all = { flip: 0.5, minCrop: 0.8, maxRotate: 0.2, brightness: 0.2, contrast: 0.2, saturation: 0.2 }

  it('gives the same pixels for the same seed and other pixels for another, keeping the shape', async () => {
    const a = augmentBatch(x, all, 1)
    const b = augmentBatch(x, all, 1)
    const c = augmentBatch(x, all, 2)
    expect(a.shape).toEqual([2, 4, 4, 3])
    expect(await a.data()).toEqual(await b.data())
    expect(await a.data()).not.toEqual(await c.data())
    tf.dispose([a, b, c])
  })

  it('leaves pixels alone with no augmentation', async () => {
    const same = augmentBatch(x, NO_AUGMENT, 5)
    expect(await same.data()).toEqual(await x.data())
    same.dispose()
  })

  it('mirrors each row exactly on a flip (hand-checked 3 × 3 image)', async () => {
    const img = grey([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ])
    const flipped = augmentBatch(img, { ...NO_AUGMENT, flip: 1 }, 9)
    expect(await rowsOf(flipped)).toEqual([
      [3, 2, 1],
      [6, 5, 4],
      [9, 8, 7],
    ])
    // At a chance of one half, each image is either exactly mirrored or exactly as it was.
    const batch = tf.concat(Array.from({ length: 16 }, () => img)) as tf.Tensor4D
    const some = augmentBatch(batch, { ...NO_AUGMENT, flip: 0.5 }, 3)
    let mirrored = 0
    for (let i = 0; i < 16; i++) {
      const rows = await rowsOf(some, i)
      if (rows[0]![0] === 3) {
        expect(rows).toEqual([[3, 2, 1], [6, 5, 4], [9, 8, 7]])
        mirrored++
      } else expect(rows).toEqual([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    }
    expect(mirrored).toBeGreaterThan(0)
    expect(mirrored).toBeLessThan(16)
    tf.dispose([img, flipped, batch, some])
  })

  it('rotates about the centre (a quarter turn moves the left column to the top row)', async () => {
    const img = grey([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ])
    const turned = rotateBatch(img, [Math.PI / 2])
    const rows = await rowsOf(turned)
    const want = [
      [7, 4, 1],
      [8, 5, 2],
      [9, 6, 3],
    ]
    rows.forEach((r, y) => r.forEach((v, i) => expect(v).toBeCloseTo(want[y]![i]!, 4)))
    // Each image of a batch turns by its own angle (tfjs' cpu kernel once left all but the first at 0).
    const pair = tf.concat([img, img]) as tf.Tensor4D
    const both = rotateBatch(pair, [Math.PI / 2, 0])
    ;(await rowsOf(both, 0)).forEach((r, y) => r.forEach((v, i) => expect(v).toBeCloseTo(want[y]![i]!, 4)))
    ;(await rowsOf(both, 1)).forEach((r, y) => r.forEach((v, i) => expect(v).toBeCloseTo(3 * y + i + 1, 4)))
    tf.dispose([pair, both])
    // Small angles keep the centre pixel and fill the corners from the edge, not with zeros.
    const tilted = await rowsOf(rotateBatch(img, [0.2]))
    expect(tilted[1]![1]).toBeCloseTo(5, 4)
    for (const v of tilted.flat()) {
      expect(v).toBeGreaterThanOrEqual(1)
      expect(v).toBeLessThanOrEqual(9)
    }
    tf.dispose([img, turned])
  })

  it('crops and scales back: a flat image stays flat, a ramp changes but stays in range', async () => {
    const flat = grey([
      [0.3, 0.3, 0.3, 0.3],
      [0.3, 0.3, 0.3, 0.3],
      [0.3, 0.3, 0.3, 0.3],
      [0.3, 0.3, 0.3, 0.3],
    ])
    const cropped = await augmentBatch(flat, { ...NO_AUGMENT, minCrop: 0.5 }, 4).data()
    for (const v of cropped) expect(v).toBeCloseTo(0.3, 6)
    const ramp = grey([
      [0, 1, 2, 3],
      [1, 2, 3, 4],
      [2, 3, 4, 5],
      [3, 4, 5, 6],
    ])
    const out = await rowsOf(augmentBatch(ramp, { ...NO_AUGMENT, minCrop: 0.5 }, 4))
    expect(out).not.toEqual(await rowsOf(ramp))
    for (const v of out.flat()) {
      expect(v).toBeGreaterThanOrEqual(0)
      expect(v).toBeLessThanOrEqual(6)
    }
    tf.dispose([flat, ramp])
  })

  it('scales brightness from black by one factor per image, and never goes past black or white', async () => {
    // [0, 1] pixels (UNIT): black is 0, so brightness multiplies every value by the same factor.
    const dark = tf.tensor4d(Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => 0.05 + 0.4 * ((i % 5) / 5)), [2, 2, 2, 3])
    const v = await dark.data()
    const b = await augmentBatch(dark, { ...NO_AUGMENT, brightness: 0.3 }, 3, UNIT).data()
    for (let img = 0; img < 2; img++) {
      const f = b[img * 12]! / v[img * 12]!
      expect(f).toBeGreaterThanOrEqual(0.7)
      expect(f).toBeLessThanOrEqual(1.3)
      for (let i = img * 12; i < (img + 1) * 12; i++) expect(b[i]! / v[i]!).toBeCloseTo(f, 5)
    }
    // [-1, 1] pixels near white, strong jitter: clamped to [-1, 1].
    const bright = tf.fill([4, 3, 3, 3], 0.95) as tf.Tensor4D
    const j = await augmentBatch(bright, { ...NO_AUGMENT, brightness: 0.5, contrast: 0.5, saturation: 0.5 }, 11).data()
    for (const p of j) {
      expect(p).toBeLessThanOrEqual(1)
      expect(p).toBeGreaterThanOrEqual(-1)
    }
    tf.dispose([dark, bright])
  })

  it('keeps 0–255 pixels (the input of a loaded layers model) within 0–255', async () => {
    const raw: Normalisation = { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] }
    const px = tf.tensor4d(Array.from({ length: 3 * 4 * 4 * 3 }, (_, i) => (i * 37) % 256), [3, 4, 4, 3])
    const out = await augmentBatch(px, { ...all, brightness: 0.5, contrast: 0.5, saturation: 0.5 }, 5, raw).data()
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...out)).toBeLessThanOrEqual(255)
    expect(Math.max(...out)).toBeGreaterThan(100) // not squashed to [-1, 1]
    px.dispose()
  })

  it('computes the same pixels on the wasm backend (the default without a GPU) as on cpu', async () => {
    const data = Array.from({ length: 4 * 6 * 6 * 3 }, (_, i) => Math.sin(i) * 0.9)
    const onCpu = await augmentBatch(tf.tensor4d(data, [4, 6, 6, 3]), all, 21).data()
    await tf.setBackend('wasm')
    try {
      const img = tf.tensor4d(data, [4, 6, 6, 3])
      const onWasm = await augmentBatch(img, all, 21).data()
      img.dispose()
      onWasm.forEach((v, i) => expect(v).toBeCloseTo(onCpu[i]!, 4))
    } finally {
      await tf.setBackend('cpu')
    }
  })

  it('keeps the tensor count flat', () => {
    const before = tf.memory().numTensors
    augmentBatch(x, all, 7).dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
