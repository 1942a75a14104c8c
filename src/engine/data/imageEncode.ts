import type { EncodedImages } from '../train/imageBatches'
import { rgbaToInput } from './imageInput'
import type { Normalisation } from './images/pixels'
import type { Rgba } from './images/types'
import { mulberry32, shuffleInPlace } from './rng'

/** A labelled image set the trainer can read batch by batch (IndexedDB + decoder in the
 *  worker, decoded PNGs in tests and scripts). */
export interface ImageRows {
  labels: readonly number[] // class id per stored image
  classes: string[]
  /** Pixels [rows.length, size, size, 3] in [-1, 1] for these stored rows, in that order. */
  loadPixels(rows: number[]): Promise<Float32Array>
}

/** Stratified, seeded train/validation split of an image set into the loop's `Encoded`
 *  images at the model's input size; pixels are loaded per batch, not up front. */
export function encodeImageSplit(src: ImageRows, opts: { size: number; valSplit: number; seed: number; norm?: Normalisation }): { train: EncodedImages; val: EncodedImages } {
  const rand = mulberry32(opts.seed * 7907 + 17)
  const train: number[] = []
  const val: number[] = []
  src.classes.forEach((_, c) => {
    const members = shuffleInPlace(
      src.labels.flatMap((l, i) => (l === c ? [i] : [])),
      rand,
    )
    // A class with two or more images keeps at least one on each side (when asked for any).
    const want = Math.round(members.length * opts.valSplit)
    const nVal = members.length < 2 || opts.valSplit <= 0 ? 0 : Math.min(members.length - 1, Math.max(1, want))
    val.push(...members.slice(0, nVal))
    train.push(...members.slice(nVal))
  })
  const side = (rows: number[]): EncodedImages => ({
    kind: 'image',
    n: rows.length,
    height: opts.size,
    width: opts.size,
    labels: Int32Array.from(rows, (r) => src.labels[r]!),
    classes: src.classes,
    loadBatch: (idx) => src.loadPixels(idx.map((i) => rows[i]!)),
    ...(opts.norm ? { norm: opts.norm } : {}),
  })
  return { train: side(train), val: side(val) }
}

/** ImageRows over already decoded images (scripts and tests), resized by rgbaToInput. */
export function rgbaRows(images: readonly Rgba[], labels: readonly number[], classes: string[], size: number): ImageRows {
  return {
    labels,
    classes,
    loadPixels: async (rows) => {
      const per = size * size * 3
      const out = new Float32Array(rows.length * per)
      rows.forEach((r, k) => rgbaToInput(images[r]!, size, out, k * per))
      return out
    },
  }
}
