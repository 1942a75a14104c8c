/**
 * Random augmentation of an image batch [B, H, W, 3] with tf ops, drawn from a seed so a
 * run (and the Data panel's preview) is repeatable. Works on normalised pixels: every
 * step is linear per image, so it does not care which normalisation was used.
 */
import * as tf from '@tensorflow/tfjs'
import { mulberry32 } from '../rng'

export interface AugmentOptions {
  /** Chance of a horizontal flip per image (0 = never). */
  flip: number
  /** Smallest crop side as a share of the image (1 = no crop); the crop is resized back. */
  minCrop: number
  /** Largest brightness shift, in the batch's pixel units (0 = none). */
  brightness: number
  /** Largest relative contrast change, e.g. 0.2 for ×[0.8, 1.2] (0 = none). */
  contrast: number
  /** Largest relative saturation change (0 = none). */
  saturation: number
}

export const NO_AUGMENT: AugmentOptions = { flip: 0, minCrop: 1, brightness: 0, contrast: 0, saturation: 0 }
export const LIGHT_AUGMENT: AugmentOptions = { flip: 0.5, minCrop: 0.8, brightness: 0.1, contrast: 0.2, saturation: 0.2 }

export function augmentBatch(x: tf.Tensor4D, opts: AugmentOptions, seed: number): tf.Tensor4D {
  const random = mulberry32(seed)
  const [b, h, w] = x.shape
  const per = (f: () => number) => tf.tensor4d(Array.from({ length: b }, f), [b, 1, 1, 1])
  const range = (spread: number, centre: number) => () => centre + spread * (2 * random() - 1)
  return tf.tidy(() => {
    let y: tf.Tensor4D = x
    if (opts.minCrop < 1) {
      const boxes: number[][] = []
      for (let i = 0; i < b; i++) {
        const s = opts.minCrop + (1 - opts.minCrop) * random()
        const top = (1 - s) * random()
        const left = (1 - s) * random()
        boxes.push([top, left, top + s, left + s])
      }
      y = tf.image.cropAndResize(y, tf.tensor2d(boxes, [b, 4]), tf.tensor1d(Array.from({ length: b }, (_, i) => i), 'int32'), [h, w])
    }
    if (opts.flip > 0) {
      const m = per(() => (random() < opts.flip ? 1 : 0))
      y = tf.add(tf.mul(tf.image.flipLeftRight(y), m), tf.mul(y, tf.sub(1, m)))
    }
    if (opts.saturation > 0) {
      const gray = tf.mean(y, 3, true)
      y = tf.add(gray, tf.mul(tf.sub(y, gray), per(range(opts.saturation, 1))))
    }
    if (opts.contrast > 0) {
      const mean = tf.mean(y, [1, 2, 3], true)
      y = tf.add(mean, tf.mul(tf.sub(y, mean), per(range(opts.contrast, 1))))
    }
    if (opts.brightness > 0) y = tf.add(y, per(range(opts.brightness, 0)))
    return y === x ? tf.clone(x) : y
  })
}
