import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
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
