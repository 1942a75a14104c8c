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

/** Rows loading ahead of the step that needs them (loadImagesAhead), by set: each row's pixels,
 *  or null when its load failed (the step then loads the row itself, and fails with the load's
 *  own error if it fails again). */
const ahead = new WeakMap<EncodedImages, Map<number, Promise<Float32Array | null>>>()

/** Most decoded rows loading or loaded ahead of their step, a set: at most this many bytes
 *  (at least nothing: a row larger than it is loaded when its step asks). The built-in emoji set's
 *  32-px rows are 12 kB, so a whole epoch's 150 rows fit. Their stored (compressed) bytes while
 *  they load are bounded apart (data/images/imageBatches.ts STORED_BYTES_HELD). */
export const AHEAD_BYTES = 16 * 2 ** 20
/** Batches the training loop asks for ahead of the one it computes (fineTune.ts): enough that a
 *  batch's reads and decodes finish before their step. They advance only when the worker runs
 *  their tasks, which one worker does once a step (runControl.ts checkpoint), and a batch's load
 *  takes several such turns (the reads, their transaction's end, the decodes, the rows): with two
 *  batches ahead one worker still waited 16-35 ms a first-epoch step in the page, with four it
 *  waited 55-70 ms once an epoch. */
export const IMAGE_BATCHES_AHEAD = 6

function streamed(set: { kind: string }): EncodedImages | null {
  if (set.kind !== 'image') return null
  const img = set as EncodedImages
  return img.pixels ? null : img
}

function keptRows(img: EncodedImages): { rows: Map<number, Float32Array>; bytes: number } {
  let kept = decoded.get(img)
  if (!kept) decoded.set(img, (kept = { rows: new Map(), bytes: 0 }))
  return kept
}

/**
 * Starts loading the rows of `idx` that are neither kept nor loading, in batches of `chunk` rows in
 * that order, without waiting: the training loop asks for its next steps' rows before it computes
 * this one, so the stored images' reads and decodes (IndexedDB, the browser's decoder threads) run
 * while it computes instead of between steps, where one worker (and with two, both) waited for
 * them. Rows past AHEAD_BYTES are left for their step. A no-op for in-memory sets and with the
 * bench's switch back (benchSwitch.serialImageLoads). The same pixels as a load when asked.
 */
export function loadImagesAhead(set: { kind: string }, idx: readonly number[], chunk: number): void {
  const img = streamed(set)
  if (!img?.loadBatch || benchSwitch.serialImageLoads || benchSwitch.legacyTransport) return
  const loadBatch = img.loadBatch
  const size = img.height * img.width * 3
  const kept = keptRows(img)
  let pending = ahead.get(img)
  if (!pending) ahead.set(img, (pending = new Map()))
  const room = Math.floor(AHEAD_BYTES / (size * 4)) - pending.size
  const rows = [...new Set(idx)].filter((r) => !kept.rows.has(r) && !pending.has(r)).slice(0, Math.max(0, room))
  for (let i = 0; i < rows.length; i += Math.max(1, chunk)) {
    const part = rows.slice(i, i + Math.max(1, chunk))
    const load = loadBatch(part).then(
      (data) => (data.length === part.length * size ? data : null),
      () => null,
    )
    part.forEach((r, k) => pending.set(r, load.then((data) => data?.subarray(k * size, (k + 1) * size) ?? null)))
  }
}

/** Loads the rows of `idx` when the set streams from storage (rows decoded earlier in the run
 *  come from memory, rows loaded ahead from their load); a no-op for in-memory sets. */
export async function prefetchImages(set: { kind: string }, idx: readonly number[]): Promise<void> {
  if (set.kind !== 'image') return
  const img = set as EncodedImages
  if (img.pixels) return
  if (!img.loadBatch) throw new Error('Image data has neither pixels nor a batch loader')
  const t0 = performance.now()
  try {
    await prefetchStreamed(img, idx)
  } finally {
    imageWaits.push(performance.now() - t0)
    if (imageWaits.length > 2000) imageWaits.splice(0, 1000)
  }
}

/** How long each prefetchImages of a streamed set took, ms (at most 2,000, oldest first): the
 *  time its caller waited for stored images; the bench reads them in the page
 *  (worker/benchReadouts.ts, not in the production build). */
export const imageWaits: number[] = []

async function prefetchStreamed(img: EncodedImages, idx: readonly number[]): Promise<void> {
  const loadBatch = img.loadBatch!
  const size = img.height * img.width * 3
  const kept = keptRows(img)
  // The bench's "before" (engine/train/dataParallel.ts legacyTransport) keeps nothing, as before.
  if (benchSwitch.legacyTransport) kept.rows.clear()
  const loaded = new Map<number, Float32Array>()
  const pending = ahead.get(img)
  if (pending?.size) {
    const waits = [...new Set(idx)].filter((r) => !kept.rows.has(r) && pending.has(r)).map(async (r) => {
      const p = pending.get(r)!
      pending.delete(r)
      const row = await p
      if (row) loaded.set(r, row)
    })
    await Promise.all(waits)
  }
  const missing = [...new Set(idx.filter((r) => !kept.rows.has(r) && !loaded.has(r)))]
  if (missing.length) {
    const data = await loadBatch(missing)
    if (data.length !== missing.length * size) {
      throw new Error(`Image loader returned ${data.length} values for ${missing.length} images of ${img.width}×${img.height}×3`)
    }
    missing.forEach((r, i) => loaded.set(r, data.subarray(i * size, (i + 1) * size)))
  }
  for (const [r, row] of loaded) {
    if (kept.bytes + row.byteLength > DECODED_ROWS_BUDGET || benchSwitch.legacyTransport) continue
    kept.rows.set(r, row.slice()) // its own buffer: a kept row does not hold its whole batch
    kept.bytes += row.byteLength
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
