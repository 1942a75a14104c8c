import * as tf from '@tensorflow/tfjs'
import type { Normalisation } from '../data/images/pixels'
import { benchSwitch } from '../benchSwitches'

/** Labelled images for an image body: pixels [n, H, W, 3] in [-1, 1] (see data/imageInput),
 *  held in memory or loaded batch by batch (e.g. decoded from IndexedDB). */
export interface EncodedImages {
  kind: 'image'
  n: number
  height: number
  width: number
  /** All pixels, row-major [n, H, W, 3]; or leave out and give loadBatch. */
  pixels?: Float32Array
  /** Pixels of the given rows, in that order ([idx.length, H, W, 3]). */
  loadBatch?: (idx: number[]) => Promise<Float32Array>
  labels: Int32Array
  classes: string[]
  /** How the pixels were scaled from 0–255 (augmentation needs black and white); SYMMETRIC when absent. */
  norm?: Normalisation
}

// Rows fetched by the last prefetch of each set: the loop's tf.tidy blocks are synchronous,
// so asynchronous loading happens just before them.
const fetched = new WeakMap<EncodedImages, Map<number, Float32Array>>()

/** Decoded rows kept for as long as their set lives (a run's training or validation side), up
 *  to this many bytes a set: later epochs read them instead of loading and decoding them again.
 *  Loading 16 stored images a step (IndexedDB, PNG decode, resize) took the training worker
 *  about 24 ms of an emoji-cnn step in Chromium, time the second engine worker spent idle
 *  (bench/dataParallelBrowser.mjs' timeline). 64 MB holds 5,400 32-px images, 330 at 224 px. */
export const DECODED_ROWS_BUDGET = 64 * 2 ** 20
const decoded = new WeakMap<EncodedImages, { rows: Map<number, Float32Array>; bytes: number }>()

/** Loads the rows of `idx` when the set streams from storage (rows decoded earlier in the run
 *  come from memory); a no-op for in-memory sets. */
export async function prefetchImages(set: { kind: string }, idx: readonly number[]): Promise<void> {
  if (set.kind !== 'image') return
  const img = set as EncodedImages
  if (img.pixels) return
  if (!img.loadBatch) throw new Error('Image data has neither pixels nor a batch loader')
  const size = img.height * img.width * 3
  let kept = decoded.get(img)
  if (!kept) decoded.set(img, (kept = { rows: new Map(), bytes: 0 }))
  // The bench's "before" (engine/train/dataParallel.ts legacyTransport) keeps nothing, as before.
  if (benchSwitch.legacyTransport) kept.rows.clear()
  const missing = [...new Set(idx.filter((r) => !kept.rows.has(r)))]
  const loaded = new Map<number, Float32Array>()
  if (missing.length) {
    const data = await img.loadBatch(missing)
    if (data.length !== missing.length * size) {
      throw new Error(`Image loader returned ${data.length} values for ${missing.length} images of ${img.width}×${img.height}×3`)
    }
    missing.forEach((r, i) => {
      const row = data.subarray(i * size, (i + 1) * size)
      loaded.set(r, row)
      if (kept.bytes + row.byteLength > DECODED_ROWS_BUDGET || benchSwitch.legacyTransport) return
      kept.rows.set(r, row.slice()) // its own buffer: a kept row does not hold its whole batch
      kept.bytes += row.byteLength
    })
  }
  fetched.set(img, new Map(idx.map((r) => [r, kept.rows.get(r) ?? loaded.get(r)!] as const)))
}

/** [b, H, W, 3] input for the rows of `idx` (in memory, or from the last prefetch). */
export function imageTensor(set: EncodedImages, idx: readonly number[]): tf.Tensor4D {
  return tf.tensor4d(imageRows(set, idx), [idx.length, set.height, set.width, 3])
}

/** The pixels of the rows of `idx`, row-major [b, H, W, 3], as `imageTensor` uploads them (in
 *  memory, or from the last prefetch): the second engine worker's half batch is posted from
 *  these host rows, with no tensor made (batchSource.ts hostBatchData). */
export function imageRows(set: EncodedImages, idx: readonly number[]): Float32Array {
  const size = set.height * set.width * 3
  const out = new Float32Array(idx.length * size)
  const got = fetched.get(set)
  idx.forEach((r, i) => {
    const row = set.pixels ? set.pixels.subarray(r * size, (r + 1) * size) : got?.get(r)
    if (!row || row.length !== size) throw new Error(`Image row ${r} was not loaded before use`)
    out.set(row, i * size)
  })
  return out
}
