/**
 * Random augmentation of an image batch [B, H, W, 3] with tf ops, so it runs on the device
 * next to the model. Every draw comes from a seed, and the training loop derives that seed
 * from the run seed and the step (augmentSeed), so a run, a resumed run and the Data
 * panel's preview see the same pixels for the same seed and step. Used only on training
 * batches: validation and the playground see images as loaded.
 */
import * as tf from '@tensorflow/tfjs'
import type { Settings } from '../../../settings/types'
import { mulberry32 } from '../rng'
import { SYMMETRIC, type Normalisation } from './pixels'

export interface AugmentOptions {
  /** Chance of a horizontal flip per image (0 = never). */
  flip: number
  /** Smallest crop side as a share of the image (1 = no crop); the crop, taken at a random
   *  place, is resized back, so the image shifts by up to 1 − minCrop of its side and zooms. */
  minCrop: number
  /** Largest rotation either way, in radians (0 = none); corners are filled with the edge. */
  maxRotate: number
  /** Largest relative brightness change, ×[1 − b, 1 + b] towards or away from black (0 = none). */
  brightness: number
  /** Largest relative contrast change, e.g. 0.2 for ×[0.8, 1.2] around the image mean (0 = none). */
  contrast: number
  /** Largest relative saturation change around each pixel's grey (0 = none). */
  saturation: number
}

export const NO_AUGMENT: AugmentOptions = { flip: 0, minCrop: 1, maxRotate: 0, brightness: 0, contrast: 0, saturation: 0 }

export type AugmentSettings = Pick<Settings, 'augFlip' | 'augShift' | 'augRotate' | 'augColor'>

/** The augmentation the settings ask for, or null when every kind is off. */
export function augmentOptions(s: AugmentSettings): AugmentOptions | null {
  if (!s.augFlip && s.augShift <= 0 && s.augRotate <= 0 && s.augColor <= 0) return null
  return {
    flip: s.augFlip ? 0.5 : 0,
    minCrop: 1 - Math.max(0, s.augShift),
    maxRotate: (Math.max(0, s.augRotate) * Math.PI) / 180,
    brightness: Math.max(0, s.augColor),
    contrast: Math.max(0, s.augColor),
    saturation: Math.max(0, s.augColor),
  }
}

/** One line for messages: what the settings turn on, e.g. "flips, shift/crop ≤ 10 %". */
export function describeAugment(s: AugmentSettings): string {
  const parts = [
    s.augFlip ? 'horizontal flips' : '',
    s.augShift > 0 ? `shift/crop up to ${Math.round(s.augShift * 100)} %` : '',
    s.augRotate > 0 ? `rotation up to ±${s.augRotate}°` : '',
    s.augColor > 0 ? `colour jitter ±${Math.round(s.augColor * 100)} %` : '',
  ].filter(Boolean)
  return parts.join(', ')
}

// murmur3's 32-bit finaliser: a bijection on uint32, so distinct inputs give distinct seeds.
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** Seed of the augmentation of micro-batch `micro` (< 64) of optimizer step `step` (0-based)
 *  in a run seeded `runSeed`: only these three decide the pixels, so a resumed run draws what
 *  the uninterrupted one drew. Distinct (step, micro) pairs of one run give distinct seeds. */
export function augmentSeed(runSeed: number, step: number, micro: number): number {
  return fmix32((fmix32(runSeed >>> 0) + step * 64 + micro) >>> 0)
}

/**
 * Augments a batch of normalised pixels (`norm` says how 0–255 was scaled, so black, white
 * and the brightness factor mean the same for every model). Order: crop, rotate, flip,
 * colour; an option at its "none" value adds no op. Returns a new tensor.
 */
export function augmentBatch(x: tf.Tensor4D, opts: AugmentOptions, seed: number, norm: Normalisation = SYMMETRIC): tf.Tensor4D {
  const random = mulberry32(seed)
  const [b, h, w] = x.shape
  const per = (f: () => number) => tf.tensor4d(Array.from({ length: b }, f), [b, 1, 1, 1])
  const range = (spread: number, centre: number) => () => centre + spread * (2 * random() - 1)
  // Draw every number in a fixed order, whether or not an op uses it, so turning one kind
  // on or off does not change the draws of the others.
  const crops = Array.from({ length: b }, () => [random(), random(), random()] as const)
  const angles = Array.from({ length: b }, () => opts.maxRotate * (2 * random() - 1))
  const flips = Array.from({ length: b }, () => random())
  return tf.tidy(() => {
    let y: tf.Tensor4D = x
    if (opts.minCrop < 1) {
      const boxes = crops.map(([u, v, t]) => {
        const s = opts.minCrop + (1 - opts.minCrop) * u
        const top = (1 - s) * v
        const left = (1 - s) * t
        return [top, left, top + s, left + s]
      })
      y = tf.image.cropAndResize(y, tf.tensor2d(boxes, [b, 4]), tf.tensor1d(Array.from({ length: b }, (_, i) => i), 'int32'), [h, w])
    }
    if (opts.maxRotate > 0) y = rotateBatch(y, angles)
    if (opts.flip > 0) {
      const m = tf.tensor4d(flips.map((u) => (u < opts.flip ? 1 : 0)), [b, 1, 1, 1])
      y = tf.add(tf.mul(tf.image.flipLeftRight(y), m), tf.mul(y, tf.sub(1, m)))
    }
    if (opts.brightness > 0 || opts.contrast > 0 || opts.saturation > 0) {
      const black = tf.tensor1d(norm.mean.map((m, c) => -m / norm.std[c]!))
      const white = tf.tensor1d(norm.mean.map((m, c) => (1 - m) / norm.std[c]!))
      if (opts.brightness > 0) y = tf.add(black, tf.mul(tf.sub(y, black), per(range(opts.brightness, 1))))
      if (opts.contrast > 0) {
        const mean = tf.mean(y, [1, 2, 3], true)
        y = tf.add(mean, tf.mul(tf.sub(y, mean), per(range(opts.contrast, 1))))
      }
      if (opts.saturation > 0) {
        const grey = tf.mean(y, 3, true)
        y = tf.add(grey, tf.mul(tf.sub(y, grey), per(range(opts.saturation, 1))))
      }
      y = tf.minimum(tf.maximum(y, black), white) // still a picture: no colour past black or white
    }
    return y === x ? tf.clone(x) : y
  })
}

/** Rotates each image of [B, H, W, C] about its centre by its own angle (radians,
 *  clockwise as seen for a positive angle), bilinear, with the nearest edge pixel outside the image. */
export function rotateBatch(x: tf.Tensor4D, angles: readonly number[]): tf.Tensor4D {
  const [b, h, w] = x.shape
  if (angles.length !== b) throw new RangeError(`rotateBatch: ${angles.length} angles for ${b} images`)
  const cx = (w - 1) / 2
  const cy = (h - 1) / 2
  // tf.image.transform maps each output point (x, y) to the input point it reads.
  const rows = angles.map((a) => {
    const c = Math.cos(a)
    const s = Math.sin(a)
    return [c, s, cx - c * cx - s * cy, -s, c, cy + s * cx - c * cy, 0, 0]
  })
  return tf.tidy(() => {
    // tfjs 4.22's cpu Transform kernel returns after the first image of a batch, leaving the
    // others at the fill value (0): there, transform one image at a time.
    if (tf.getBackend() === 'cpu' && b > 1) {
      return tf.concat(rows.map((r, i) => tf.image.transform(tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]), tf.tensor2d([r], [1, 8]), 'bilinear', 'nearest')), 0)
    }
    return tf.image.transform(x, tf.tensor2d(rows, [b, 8]), 'bilinear', 'nearest')
  })
}
