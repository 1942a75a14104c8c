/**
 * Batches of images as Float32 [B, H, W, 3], decoded from their stored bytes only when the
 * batch is asked for, so a set of 10,000 images never sits decoded in memory.
 */
import * as tf from '@tensorflow/tfjs'
import { resizeRgba, rgbaToFloat, type Normalisation } from './pixels'
import type { ImageDecoder, StoredImage } from './types'

/** Where encoded images come from: IndexedDB in the worker, an array in tests. */
export interface ImageSource {
  count: number
  get(indices: readonly number[]): Promise<StoredImage[]>
}

export interface BatchOptions {
  size: number
  norm: Normalisation
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
  for (let k = 0; k < images.length; k++) {
    const img = images[k] as StoredImage
    const rgba = await decoder.decode(img.bytes, img.mime)
    const pixels = rgba.width === size && rgba.height === size && isOpaque(rgba.data) ? rgba.data : resizeRgba(rgba, size, size)
    rgbaToFloat(pixels, norm, x, k * per)
    labels[k] = img.label
  }
  return { x, labels, n: images.length }
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
