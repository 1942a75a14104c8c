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
  const images = await source.get(indices)
  const per = size * size * 3
  const x = new Float32Array(images.length * per)
  const labels = new Int32Array(images.length)
  const one = async (k: number) => {
    const img = images[k] as StoredImage
    const rgba = await decoder.decode(img.bytes, img.mime)
    const pixels = rgba.width === size && rgba.height === size && isOpaque(rgba.data) ? rgba.data : resizeRgba(rgba, size, size)
    rgbaToFloat(pixels, norm, x, k * per)
    labels[k] = img.label
  }
  if (benchSwitch.serialImageLoads) for (let k = 0; k < images.length; k++) await one(k)
  else {
    // Every image decoding at once, as far as the limits below allow, each written to its own
    // rows: the same values in the same places as one after another. In the browser a decode is a
    // round trip to the browser's decoder threads, and the training worker runs the next one only
    // when its step lets it (its own task): one at a time, a batch of 16 small images kept the
    // worker waiting 35-70 ms a first-epoch step (bench/dataParallelBrowser.mjs' timeline).
    const side = opts.maxSide !== undefined && Number.isFinite(opts.maxSide) && opts.maxSide > 0 ? opts.maxSide : 0
    const pixels = side * side * 4
    await Promise.all(images.map(async (img, k) => {
      const bytes = (img as StoredImage).bytes.byteLength
      await decodeSlot(bytes, pixels)
      try {
        await one(k)
      } finally {
        releaseDecodeSlot(bytes, pixels)
      }
    }))
  }
  return { x, labels, n: images.length }
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
let waiting: (() => void)[] = []
async function decodeSlot(bytes: number, pixels: number): Promise<void> {
  while (decoding > 0 && (decoding >= DECODES_AT_ONCE || decodingBytes + bytes > DECODE_BYTES_AT_ONCE || decodingPixels + pixels > DECODED_BYTES_AT_ONCE)) await new Promise<void>((r) => waiting.push(r))
  decoding++
  decodingBytes += bytes
  decodingPixels += pixels
}
function releaseDecodeSlot(bytes: number, pixels: number): void {
  decoding--
  decodingBytes -= bytes
  decodingPixels -= pixels
  const wake = waiting
  waiting = []
  for (const w of wake) w() // each checks again, in the order they waited
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
