import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { augmentBatch, LIGHT_AUGMENT, NO_AUGMENT } from './augment'
import { batchIndices, loadImageBatch, loadImageBatchTensors, type ImageSource } from './imageBatches'
import { importImages } from './importImages'
import { UNIT } from './pixels'
import { fakeDecoder, fakeImage } from './testDecoder'
import type { StoredImage } from './types'

function memorySource(images: StoredImage[]): ImageSource & { reads: number } {
  const src = {
    reads: 0,
    count: images.length,
    async get(idx: readonly number[]) {
      src.reads += idx.length
      return idx.map((i) => images[i]!)
    },
  }
  return src
}

describe('importImages', () => {
  it('stores decodable images with their labels and names the undecodable ones', async () => {
    const files = new Map<string, Uint8Array>([
      ['a/1.png', fakeImage(2, 2, () => [255, 0, 0, 255])],
      ['a/bad.png', new Uint8Array([1, 2, 3])],
      ['b/1.png', fakeImage(4, 3, () => [0, 0, 255, 255])],
      ['b/empty.png', new Uint8Array(0)],
    ])
    const stored: { index: number; image: StoredImage }[] = []
    const plan = {
      classes: ['a', 'b'],
      skipped: [],
      images: [...files.keys()].map((p) => ({ path: p, mime: 'image/png' as const, label: p.startsWith('a') ? 0 : 1 })),
    }
    const r = await importImages('up.zip', plan, async (p) => files.get(p), fakeDecoder, { add: async (b) => void stored.push(...b) })
    if (!r.ok) throw new Error(r.error.message)
    expect(r.info.count).toBe(2)
    expect(r.info.labels).toEqual([0, 1])
    expect(r.info.classes).toEqual([{ name: 'a', count: 1 }, { name: 'b', count: 1 }])
    expect(r.info.undecodable.map((u) => u.path)).toEqual(['a/bad.png', 'b/empty.png'])
    expect(r.info.minSide).toBe(2)
    expect(r.info.maxSide).toBe(4)
    expect(stored.map((s) => [s.index, s.image.path])).toEqual([[0, 'a/1.png'], [1, 'b/1.png']])
  })

  it('fails when no class but one decodes', async () => {
    const plan = { classes: ['a', 'b'], skipped: [], images: [{ path: 'a/1.png', mime: 'image/png' as const, label: 0 }, { path: 'b/1.png', mime: 'image/png' as const, label: 1 }] }
    const r = await importImages('x.zip', plan, async (p) => (p === 'a/1.png' ? fakeImage(1, 1, () => [0, 0, 0, 255]) : new Uint8Array([9])), fakeDecoder, { add: async () => {} })
    expect(r).toMatchObject({ ok: false, error: { field: 'a' } })
  })
})

describe('loadImageBatch', () => {
  const images: StoredImage[] = [
    { bytes: fakeImage(2, 2, () => [255, 0, 0, 255]), mime: 'image/png', path: 'a/1', label: 0 },
    { bytes: fakeImage(4, 4, (i) => (i % 2 ? [0, 0, 0, 255] : [255, 255, 255, 255])), mime: 'image/png', path: 'b/1', label: 1 },
    { bytes: fakeImage(2, 2, () => [0, 255, 0, 255]), mime: 'image/png', path: 'a/2', label: 0 },
  ]

  it('decodes only the asked-for images, resized and normalised, HWC', async () => {
    const src = memorySource(images)
    const b = await loadImageBatch(src, [2, 1], fakeDecoder, { size: 2, norm: UNIT })
    expect(src.reads).toBe(2)
    expect(b.n).toBe(2)
    expect([...b.labels]).toEqual([0, 1])
    expect([...b.x.slice(0, 3)]).toEqual([0, 1, 0])
    // A 4×4 checkerboard resized to 2×2 averages to mid grey.
    for (let i = 12; i < 24; i++) expect(b.x[i]).toBeCloseTo(0.5, 1)
  })

  it('makes tensors of shape [B, H, W, 3] and batches over an order', async () => {
    const { x, y } = await loadImageBatchTensors(memorySource(images), [0, 1, 2], fakeDecoder, { size: 3, norm: UNIT })
    expect(x.shape).toEqual([3, 3, 3, 3])
    expect(await y.data()).toEqual(new Int32Array([0, 1, 0]))
    tf.dispose([x, y])
    expect([...batchIndices([4, 3, 2, 1, 0], 2)]).toEqual([[4, 3], [2, 1], [0]])
  })
})

describe('augmentBatch', () => {
  const x = tf.tensor4d(Array.from({ length: 2 * 4 * 4 * 3 }, (_, i) => (i % 7) / 7), [2, 4, 4, 3])

  it('is repeatable for a seed, differs across seeds, keeps the shape', async () => {
    const a = augmentBatch(x, LIGHT_AUGMENT, 1)
    const b = augmentBatch(x, LIGHT_AUGMENT, 1)
    const c = augmentBatch(x, LIGHT_AUGMENT, 2)
    expect(a.shape).toEqual([2, 4, 4, 3])
    expect(await a.data()).toEqual(await b.data())
    expect(await a.data()).not.toEqual(await c.data())
    tf.dispose([a, b, c])
  })

  it('does nothing with no augmentation, and a sure flip mirrors each row', async () => {
    const same = augmentBatch(x, NO_AUGMENT, 5)
    expect(await same.data()).toEqual(await x.data())
    const flipped = augmentBatch(x, { ...NO_AUGMENT, flip: 1 }, 5)
    const want = tf.reverse(x, 2)
    expect(await flipped.data()).toEqual(await want.data())
    tf.dispose([same, flipped, want])
  })

  it('keeps each image mean under a contrast change, and shifts it by the brightness', async () => {
    const con = augmentBatch(x, { ...NO_AUGMENT, contrast: 0.5 }, 3)
    const m0 = await tf.mean(x, [1, 2, 3]).data()
    const m1 = await tf.mean(con, [1, 2, 3]).data()
    for (let i = 0; i < 2; i++) expect(m1[i]).toBeCloseTo(m0[i]!, 5)
    const br = augmentBatch(x, { ...NO_AUGMENT, brightness: 0.3 }, 3)
    const d = await tf.sub(br, x).data()
    const shift0 = d[0]!
    expect(Math.abs(shift0)).toBeLessThanOrEqual(0.3)
    for (let i = 0; i < 48; i++) expect(d[i]).toBeCloseTo(shift0, 5)
    tf.dispose([con, br])
  })
})
