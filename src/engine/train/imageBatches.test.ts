/** Streamed image rows (imageBatches.ts): decoded rows are kept for the set's life up to
 *  DECODED_ROWS_BUDGET bytes; rows past it are loaded again when asked for. */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DECODED_ROWS_BUDGET, imageTensor, prefetchImages, type EncodedImages } from './imageBatches'

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
})
