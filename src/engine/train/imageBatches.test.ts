/** Streamed image rows (imageBatches.ts): decoded rows are kept for the set's life up to
 *  DECODED_ROWS_BUDGET bytes; rows past it are loaded again when asked for. */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { AHEAD_BYTES, DECODED_ROWS_BUDGET, imageRows, imageTensor, loadImagesAhead, prefetchImages, type EncodedImages } from './imageBatches'
import { benchSwitch } from '../benchSwitches'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

/** A set of `n` 1024×1024 images (12.6 MB of floats each) whose row r is all r, loads counted. */
function bigRows(n: number): { set: EncodedImages; asked: number[][] } {
  const size = 1024 * 1024 * 3
  const asked: number[][] = []
  const set: EncodedImages = {
    kind: 'image',
    n,
    height: 1024,
    width: 1024,
    labels: new Int32Array(n),
    classes: ['a', 'b'],
    loadBatch: async (idx) => {
      asked.push([...idx])
      const out = new Float32Array(idx.length * size)
      idx.forEach((r, i) => out.fill(r, i * size, (i + 1) * size))
      return out
    },
  }
  return { set, asked }
}

describe('streamed image rows', () => {
  it('keeps decoded rows up to the budget: kept rows are not loaded again, the rest are', async () => {
    expect(DECODED_ROWS_BUDGET).toBe(64 * 2 ** 20)
    const { set, asked } = bigRows(8)
    // 12,582,912 bytes a row: 5 rows (62.9 MB) fit in 64 MiB, the sixth does not.
    await prefetchImages(set, [0, 1, 2, 3, 4, 5])
    await prefetchImages(set, [5, 4, 2, 6])
    expect(asked).toEqual([[0, 1, 2, 3, 4, 5], [5, 6]])
    const t = imageTensor(set, [4, 6, 5]) // rows from the kept map and from this load, in the asked order
    const v = (await t.data()) as Float32Array
    const per = 1024 * 1024 * 3
    expect([v[0], v[per - 1], v[per], v[2 * per - 1], v[2 * per], v[3 * per - 1]]).toEqual([4, 4, 6, 6, 5, 5])
    t.dispose()
  })

  it('loads rows ahead in batches, in order, and a step reads them without loading again', async () => {
    // 4×4 rows (192 bytes of floats): row r holds r·1000 + its position.
    const asked: number[][] = []
    const resolvers: (() => void)[] = []
    const set: EncodedImages = {
      kind: 'image',
      n: 10,
      height: 4,
      width: 4,
      labels: new Int32Array(10),
      classes: ['a', 'b'],
      loadBatch: (idx) => {
        asked.push([...idx])
        return new Promise((resolve) => {
          const done = () => resolve(Float32Array.from({ length: idx.length * 48 }, (_, i) => idx[Math.floor(i / 48)]! * 1000 + (i % 48)))
          if (held) resolvers.push(done)
          else done()
        })
      },
    }
    let held = true // the first loads answer only when the test lets them
    loadImagesAhead(set, [3, 1], 2)
    loadImagesAhead(set, [7, 1, 2, 9, 0], 2) // 1 is loading already
    expect(asked).toEqual([[3, 1], [7, 2], [9, 0]])
    const step = prefetchImages(set, [3, 1])
    held = false
    resolvers.forEach((r) => r())
    await step
    await prefetchImages(set, [7, 2, 5]) // 5 was not asked ahead: loaded now, alone
    expect(asked).toEqual([[3, 1], [7, 2], [9, 0], [5]])
    const rows = imageRows(set, [7, 2, 5])
    expect([rows[0], rows[47], rows[48], rows[96], rows[143]]).toEqual([7000, 7047, 2000, 5000, 5047])
    // Kept rows are neither loaded ahead nor when asked again.
    loadImagesAhead(set, [3, 7, 9], 2)
    await prefetchImages(set, [3, 7, 9, 0])
    expect(asked).toEqual([[3, 1], [7, 2], [9, 0], [5]])
    expect(imageRows(set, [0])[5]).toBe(5)
  })

  it('loads a row again when its step asks and the load ahead failed; the error is the loader\'s', async () => {
    let calls = 0
    const set: EncodedImages = {
      kind: 'image',
      n: 4,
      height: 1,
      width: 1,
      labels: new Int32Array(4),
      classes: ['a', 'b'],
      loadBatch: async (idx) => {
        calls++
        if (calls === 1) throw new Error('storage busy')
        if (idx.includes(3)) throw new Error('Image 3 is missing from storage.')
        return Float32Array.from({ length: idx.length * 3 }, (_, i) => idx[Math.floor(i / 3)]!)
      },
    }
    loadImagesAhead(set, [0, 1], 2)
    await prefetchImages(set, [0, 1])
    expect(calls).toBe(2)
    expect([...imageRows(set, [1, 0])]).toEqual([1, 1, 1, 0, 0, 0])
    loadImagesAhead(set, [3], 2)
    await expect(prefetchImages(set, [3])).rejects.toThrow('Image 3 is missing from storage.')
  })

  it('holds at most AHEAD_BYTES of rows ahead, and nothing ahead with the bench\'s switch back', async () => {
    expect(AHEAD_BYTES).toBe(16 * 2 ** 20)
    const { set, asked } = bigRows(8) // 12.6 MB a row: one row ahead
    loadImagesAhead(set, [0, 1, 2], 1)
    expect(asked).toEqual([[0]])
    loadImagesAhead(set, [1, 2], 1)
    expect(asked).toEqual([[0]])
    await prefetchImages(set, [0])
    loadImagesAhead(set, [1, 2], 1) // row 0 taken: room for one again
    expect(asked).toEqual([[0], [1]])
    benchSwitch.serialImageLoads = true
    try {
      const other = bigRows(2)
      loadImagesAhead(other.set, [0], 1)
      expect(other.asked).toEqual([])
    } finally {
      benchSwitch.serialImageLoads = false
    }
    await prefetchImages(set, [1])
  })
})
