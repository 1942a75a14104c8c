/**
 * Batches of images as Float32 [B, H, W, 3], decoded from their stored bytes only when the
 * batch is asked for, so a set of 10,000 images never sits decoded in memory.
 */
import * as tf from '@tensorflow/tfjs'
import { resizeRgba, rgbaToFloat, type Normalisation } from './pixels'
import type { ImageDecoder, StoredImage } from './types'
import { benchSwitch } from '../../benchSwitches'

/** Where encoded images come from: IndexedDB in the worker, an array in tests. */
export interface ImageSource {
  count: number
  get(indices: readonly number[]): Promise<StoredImage[]>
}

export interface BatchOptions {
  size: number
  norm: Normalisation
  /** The set's largest width or height (ImageSetInfo.maxSide, measured at import): a decode
   *  holds up to maxSide² × 4 bytes of pixels before the resize, which limits how many decode at
   *  once (DECODED_BYTES_AT_ONCE). Without it only the stored bytes and the count limit them. */
  maxSide?: number
  /** The set's stored (compressed) bytes per image on average (ImageSetInfo.storedBytes / count):
   *  sizes the reads so that one read holds about STORED_BYTES_A_READ. Without it a batch is
   *  read at once, and only STORED_BYTES_HELD limits the reads. */
  storedBytesPerImage?: number
}

export interface ImageBatchArrays {
  /** [B * size * size * 3], HWC. */
  x: Float32Array
  /** [B] class indices. */
  labels: Int32Array
  n: number
}

export async function loadImageBatch(source: ImageSource, indices: readonly number[], decoder: ImageDecoder, opts: BatchOptions): Promise<ImageBatchArrays> {
  const { size, norm } = opts
  const per = size * size * 3
  const decodeInto = async (img: StoredImage, k: number, x: Float32Array, labels: Int32Array) => {
    const rgba = await decoder.decode(img.bytes, img.mime)
    const pixels = rgba.width === size && rgba.height === size && isOpaque(rgba.data) ? rgba.data : resizeRgba(rgba, size, size)
    rgbaToFloat(pixels, norm, x, k * per)
    labels[k] = img.label
  }
  if (benchSwitch.serialImageLoads) {
    const images = await source.get(indices)
    const x = new Float32Array(images.length * per)
    const labels = new Int32Array(images.length)
    for (let k = 0; k < images.length; k++) await decodeInto(images[k]!, k, x, labels)
    return { x, labels, n: images.length }
  }
  // Every image decoding at once, as far as the limits below allow, each written to its own
  // rows: the same values in the same places as one after another. In the browser a decode is a
  // round trip to the browser's decoder threads, and the training worker runs the next one only
  // when its step lets it (its own task): one at a time, a batch of 16 small images kept the
  // worker waiting 35-70 ms a first-epoch step (bench/dataParallelBrowser.mjs' timeline).
  // The stored bytes are read in parts of about STORED_BYTES_A_READ, each once the bytes read
  // and not yet decoded (this batch's and the batches loading ahead) leave room for it.
  const x = new Float32Array(indices.length * per)
  const labels = new Int32Array(indices.length)
  const side = opts.maxSide !== undefined && Number.isFinite(opts.maxSide) && opts.maxSide > 0 ? opts.maxSide : 0
  const pixels = side * side * 4
  const avg = opts.storedBytesPerImage !== undefined && Number.isFinite(opts.storedBytesPerImage) && opts.storedBytesPerImage > 0 ? opts.storedBytesPerImage : 0
  const group = avg > 0 ? Math.max(1, Math.floor(STORED_BYTES_A_READ / avg)) : Math.max(1, indices.length)
  const starts = Array.from({ length: Math.ceil(indices.length / group) }, (_, i) => i * group)
  await Promise.all(starts.map(async (start) => {
    const part = indices.slice(start, start + group)
    const estimate = Math.round(avg * part.length)
    await readSlot(estimate)
    let images: (StoredImage | undefined)[]
    try {
      images = await source.get(part)
    } catch (e) {
      readDone(estimate)
      releaseHeld(estimate)
      throw e
    }
    if (images.length !== part.length) {
      readDone(estimate)
      releaseHeld(estimate)
      throw new Error(`The image store returned ${images.length} images for ${part.length} asked for`)
    }
    const sizes = images.map((img) => img!.bytes.byteLength)
    readDone(estimate)
    holdMore(sizes.reduce((a, b) => a + b, 0) - estimate)
    await Promise.all(sizes.map(async (bytes, j) => {
      try {
        await decodeSlot(bytes, pixels)
        try {
          await decodeInto(images[j]!, start + j, x, labels)
        } finally {
          releaseDecodeSlot(bytes, pixels)
        }
      } finally {
        images[j] = undefined // its stored bytes can go
        releaseHeld(bytes)
      }
    }))
  }))
  return { x, labels, n: indices.length }
}

/** Most stored (compressed) bytes read and not yet decoded, over every batch being loaded (the
 *  training loop reads up to train/imageBatches.ts AHEAD_BYTES of decoded rows ahead: 27 rows at
 *  224 px, which as 12 MB camera JPEGs held 330 MB at once). A read waits until the bytes held
 *  leave room for its estimate (one of unknown size waits for the others of unknown size); one
 *  read always may. */
export const STORED_BYTES_HELD = 32 * 2 ** 20
/** About this many stored bytes a read (by the set's average, BatchOptions.storedBytesPerImage):
 *  the built-in sets' 2-5 kB images are read a batch at a time, 12 MB photos one at a time. */
export const STORED_BYTES_A_READ = 8 * 2 ** 20
/** Loads waiting for room under one of the limits below: each waits until its own test passes,
 *  checking again whenever the counts behind it fall (in the order they waited), and takes its
 *  room in the same turn as the test that passed (no other load can slip in between). */
class Waiters {
  private list: (() => void)[] = []
  async take(fits: () => boolean, take: () => void): Promise<void> {
    while (!fits()) await new Promise<void>((r) => this.list.push(r))
    take()
  }
  wake(): void {
    const wake = this.list
    this.list = []
    for (const w of wake) w()
  }
}
let held = 0
/** Reads in flight whose size is not known before (no average given): one at a time. */
let unknownReads = 0
const readWaiters = new Waiters()
async function readSlot(estimate: number): Promise<void> {
  const full = () => (estimate > 0 ? held + estimate > STORED_BYTES_HELD : unknownReads > 0 || held >= STORED_BYTES_HELD)
  await readWaiters.take(
    () => (held === 0 && unknownReads === 0) || !full(),
    () => {
      held += estimate
      if (estimate === 0) unknownReads++
    },
  )
}
/** A read is back: its size is known (or it failed). */
function readDone(estimate: number): void {
  if (estimate === 0) unknownReads--
}
function holdMore(bytes: number): void {
  held += bytes
  readWaiters.wake() // a read of unknown size is back, or the estimate was too high
}
function releaseHeld(bytes: number): void {
  held -= bytes
  readWaiters.wake()
}

/** Stored bytes read and not yet decoded now (the tests' check that they are given back). */
export function storedBytesHeld(): number {
  return held + unknownReads // a read stuck in flight counts too
}

/** Most images decoding at a time over every batch being loaded (train/imageBatches.ts loads the
 *  next batches while steps compute), and most of their stored (compressed) bytes: a photo
 *  decodes to width·height·4 bytes before it is resized, so large images decode a few at a time,
 *  small ones (the built-in sets' 2-5 kB icons) many. One image always may. */
export const DECODES_AT_ONCE = 64
export const DECODE_BYTES_AT_ONCE = 4 * 2 ** 20
/** Most decoded pixels (width·height·4, the set's largest side squared for each image) in flight:
 *  stored bytes alone do not bound them, since a large picture of flat colour (a screenshot, a
 *  scan) stores in tens of kilobytes and decodes to tens of megabytes, and the browser holds
 *  its bitmap and canvas besides. 4000-px photos decode one at a time, 1024-px ones 16. */
export const DECODED_BYTES_AT_ONCE = 64 * 2 ** 20
let decoding = 0
let decodingBytes = 0
let decodingPixels = 0
const decodeWaiters = new Waiters()
async function decodeSlot(bytes: number, pixels: number): Promise<void> {
  await decodeWaiters.take(
    () => decoding === 0 || (decoding < DECODES_AT_ONCE && decodingBytes + bytes <= DECODE_BYTES_AT_ONCE && decodingPixels + pixels <= DECODED_BYTES_AT_ONCE),
    () => {
      decoding++
      decodingBytes += bytes
      decodingPixels += pixels
    },
  )
}
function releaseDecodeSlot(bytes: number, pixels: number): void {
  decoding--
  decodingBytes -= bytes
  decodingPixels -= pixels
  decodeWaiters.wake()
}

/** The same batch as tensors; the caller disposes them. */
export async function loadImageBatchTensors(source: ImageSource, indices: readonly number[], decoder: ImageDecoder, opts: BatchOptions): Promise<{ x: tf.Tensor4D; y: tf.Tensor1D }> {
  const b = await loadImageBatch(source, indices, decoder, opts)
  return { x: tf.tensor4d(b.x, [b.n, opts.size, opts.size, 3], 'float32'), y: tf.tensor1d(b.labels, 'int32') }
}

/** Index batches over a (shuffled) order; the last batch may be smaller. */
export function* batchIndices(order: readonly number[], batchSize: number): Generator<number[]> {
  for (let i = 0; i < order.length; i += batchSize) yield order.slice(i, i + batchSize)
}

function isOpaque(data: Uint8ClampedArray | Uint8Array): boolean {
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return false
  return true
}
