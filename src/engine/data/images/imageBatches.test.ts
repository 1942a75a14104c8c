import * as tf from '@tensorflow/tfjs'
import { describe, expect, it } from 'vitest'
import { batchIndices, DECODE_BYTES_AT_ONCE, DECODED_BYTES_AT_ONCE, DECODES_AT_ONCE, loadImageBatch, loadImageBatchTensors, STORED_BYTES_A_READ, STORED_BYTES_HELD, storedBytesHeld, type ImageSource } from './imageBatches'
import { benchSwitch } from '../../benchSwitches'
import type { ImageDecoder } from './types'
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

/** The fake decoder taking 2 ms a picture, counting the most decodes in flight at once. */
function countingDecoder(): { slow: ImageDecoder; most: (() => number) & { reset(): void } } {
  let inFlight = 0
  let top = 0
  const slow: ImageDecoder = {
    async decode(bytes, mime) {
      top = Math.max(top, ++inFlight)
      await new Promise((r) => setTimeout(r, 2))
      inFlight--
      return fakeDecoder.decode(bytes, mime)
    },
  }
  return { slow, most: Object.assign(() => top, { reset: () => void (top = 0) }) }
}

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

  it('decodes many images at once, at most DECODES_AT_ONCE, with the same values as one after another', async () => {
    // 80 images of 3×3 with distinct colours; each decode takes a while, the later ones less,
    // so they finish out of order.
    const many: StoredImage[] = Array.from({ length: 80 }, (_, k) => ({ bytes: fakeImage(3, 3, (i) => [(k * 7 + i) % 256, (k * 13) % 256, i * 20, 255]), mime: 'image/png', path: `c/${k}`, label: k % 3 }))
    let inFlight = 0
    let most = 0
    const slow: ImageDecoder = {
      async decode(bytes, mime) {
        inFlight++
        most = Math.max(most, inFlight)
        await new Promise((r) => setTimeout(r, 1 + ((bytes[5]! * 7) % 5)))
        inFlight--
        return fakeDecoder.decode(bytes, mime)
      },
    }
    const order = Array.from({ length: 80 }, (_, i) => (i * 17) % 80)
    const together = await loadImageBatch(memorySource(many), order, slow, { size: 3, norm: UNIT })
    expect(DECODES_AT_ONCE).toBe(64)
    expect(most).toBe(DECODES_AT_ONCE)
    most = 0
    benchSwitch.serialImageLoads = true
    let serial
    try {
      serial = await loadImageBatch(memorySource(many), order, slow, { size: 3, norm: UNIT })
    } finally {
      benchSwitch.serialImageLoads = false
    }
    expect(most).toBe(1)
    expect(together.x).toEqual(serial.x)
    expect([...together.labels]).toEqual(order.map((k) => k % 3))
    // Image order[1] = 17 at rows 27..53: its first pixel (119, 221, 0) and its last's blue (160).
    expect([together.x[27], together.x[28], together.x[29], together.x[53]].map((v) => Math.round(v! * 255))).toEqual([119, 221, 0, 160])
  })

  it('decodes large stored images a few at a time: at most DECODE_BYTES_AT_ONCE of them, and always one', async () => {
    // 1.5 MB stored images (a 2×2 picture, the rest padding the fake decoder ignores): 2 fit in
    // 4 MiB at once, a third does not; a 5 MB one decodes alone.
    const padded = (mb: number, k: number): StoredImage => {
      const bytes = new Uint8Array(Math.round(mb * 2 ** 20))
      bytes.set(fakeImage(2, 2, () => [k, k, k, 255]))
      return { bytes, mime: 'image/png', path: `p/${k}`, label: 0 }
    }
    const big = [...Array.from({ length: 6 }, (_, k) => padded(1.5, k)), padded(5, 6)]
    const { slow, most } = countingDecoder()
    expect(DECODE_BYTES_AT_ONCE).toBe(4 * 2 ** 20)
    const b = await loadImageBatch(memorySource(big), [0, 1, 2, 3, 4, 5, 6], slow, { size: 2, norm: UNIT })
    expect(most()).toBe(2)
    expect(Array.from({ length: 7 }, (_, k) => Math.round(b.x[k * 12]! * 255))).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  it('large pictures that store small decode a few at a time: the largest side of the set bounds the decoded pixels in flight', async () => {
    // 20 images of a few stored bytes each (the fake decoder's 2×2 pictures), in a set whose
    // largest picture is 4000×3000 (a flat-colour screenshot stores in kilobytes): each decode may
    // hold 4000² × 4 = 61 MiB, so one at a time under 64 MiB; with 1024 px (4 MiB each) 16.
    const small: StoredImage[] = Array.from({ length: 20 }, (_, k) => ({ bytes: fakeImage(2, 2, () => [k, k, k, 255]), mime: 'image/png', path: `s/${k}`, label: 0 }))
    const { slow, most } = countingDecoder()
    const rows = Array.from({ length: 20 }, (_, k) => k)
    expect(DECODED_BYTES_AT_ONCE).toBe(64 * 2 ** 20)
    const b = await loadImageBatch(memorySource(small), rows, slow, { size: 2, norm: UNIT, maxSide: 4000 })
    expect(most()).toBe(1)
    expect(Array.from({ length: 20 }, (_, k) => Math.round(b.x[k * 12]! * 255))).toEqual(rows)
    most.reset()
    await loadImageBatch(memorySource(small), rows, slow, { size: 2, norm: UNIT, maxSide: 1024 })
    expect(most()).toBe(16)
    most.reset()
    await loadImageBatch(memorySource(small), rows, slow, { size: 2, norm: UNIT, maxSide: 72 })
    expect(most()).toBe(20)
  })

  it('batches loading ahead hold at most STORED_BYTES_HELD of stored bytes read and not yet decoded, read a few images at a time', async () => {
    // 48 stored images of 2 MiB (a 2×2 picture, the rest padding the fake decoder ignores), six
    // batches of 8 asked for at once as the training loop's read-ahead does: 96 MiB in all. The
    // source counts the bytes it hands out, the decoder those it has decoded.
    const mb = 2 * 2 ** 20
    const big: StoredImage[] = Array.from({ length: 48 }, (_, k) => {
      const bytes = new Uint8Array(mb)
      bytes.set(fakeImage(2, 2, () => [k, 2 * k, 255 - k, 255]))
      return { bytes, mime: 'image/png', path: `p/${k}`, label: k % 4 }
    })
    let given = 0
    let done = 0
    let most = 0
    const reads: number[] = []
    const source: ImageSource = {
      count: big.length,
      async get(idx) {
        reads.push(idx.length)
        await new Promise((r) => setTimeout(r, 1))
        given += idx.length * mb
        most = Math.max(most, given - done)
        return idx.map((i) => big[i]!)
      },
    }
    const decoder: ImageDecoder = {
      async decode(bytes, mime) {
        await new Promise((r) => setTimeout(r, 3))
        done += bytes.byteLength
        return fakeDecoder.decode(bytes, mime)
      },
    }
    const run = (opts: { storedBytesPerImage?: number }) => {
      given = done = most = 0
      reads.length = 0
      return Promise.all(Array.from({ length: 6 }, (_, b) => loadImageBatch(source, Array.from({ length: 8 }, (_, j) => b * 8 + j), decoder, { size: 2, norm: UNIT, ...opts })))
    }
    expect(STORED_BYTES_HELD).toBe(32 * 2 ** 20)
    expect(STORED_BYTES_A_READ).toBe(8 * 2 ** 20)
    // With the set's average: reads of 4 images (8 MiB), and at most 32 MiB held at once.
    const batches = await run({ storedBytesPerImage: mb })
    expect(reads.every((n) => n === 4)).toBe(true)
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(32 * 2 ** 20)
    expect(storedBytesHeld()).toBe(0)
    // Every image in its place: batch b, row j is image 8b + j.
    batches.forEach((batch, b) => {
      for (let j = 0; j < 8; j++) {
        const k = b * 8 + j
        expect([0, 1, 2].map((c) => Math.round(batch.x[j * 12 + c]! * 255))).toEqual([k, 2 * k, 255 - k])
        expect(batch.labels[j]).toBe(k % 4)
      }
    })
    // Without it: whole batches, each read only while less than 32 MiB is held (one batch past it).
    await run({})
    expect(reads.every((n) => n === 8)).toBe(true)
    expect(most).toBeLessThanOrEqual(32 * 2 ** 20 + 8 * mb)
    expect(storedBytesHeld()).toBe(0)
  })

  it('a failing read gives its share of the stored bytes back', async () => {
    const failing: ImageSource = { count: 4, get: async () => Promise.reject(new Error('storage went away')) }
    await expect(loadImageBatch(failing, [0, 1, 2, 3], fakeDecoder, { size: 2, norm: UNIT, storedBytesPerImage: 2 ** 20 })).rejects.toThrow('storage went away')
    expect(storedBytesHeld()).toBe(0)
    const b = await loadImageBatch(memorySource(images), [0, 2], fakeDecoder, { size: 2, norm: UNIT, storedBytesPerImage: 2 ** 20 })
    expect(Math.round(b.x[1]! * 255)).toBe(0)
    expect(Math.round(b.x[13]! * 255)).toBe(255)
  })

  it('a failing decode fails the batch with its error', async () => {
    const bad: StoredImage[] = [images[0]!, { bytes: new Uint8Array([1, 2]), mime: 'image/png', path: 'x/bad', label: 1 }, images[2]!]
    await expect(loadImageBatch(memorySource(bad), [0, 1, 2], fakeDecoder, { size: 2, norm: UNIT })).rejects.toThrow('not an image')
  })
})
