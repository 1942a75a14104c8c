import * as tf from '@tensorflow/tfjs'
import { TinyGpt, type TinyGptConfig } from '../models/tinyGpt'
import type { FreezeSettings } from './freeze'

/** Shared fixtures for the tuning tests (not shipped code). */
export const SMALL: TinyGptConfig = { vocabSize: 50, seqLen: 8, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu')
  await tf.ready()
}

export function smallModel(config: Partial<TinyGptConfig> = {}, seed = 1): TinyGpt {
  return new TinyGpt({ ...SMALL, ...config }, undefined, seed)
}

/** A fixed batch of tokens [2, 8]. */
export function tokens(): tf.Tensor2D {
  return tf.tensor2d(
    [
      [1, 5, 9, 13, 17, 21, 25, 29],
      [2, 4, 8, 16, 32, 3, 7, 49],
    ],
    undefined,
    'int32',
  )
}

/** Next-token cross-entropy on `tokens()`: positions 0..6 predict 1..7. */
export function lmLoss(model: TinyGpt, tok: tf.Tensor2D, opts: Parameters<TinyGpt['forward']>[1] = {}): tf.Scalar {
  const logits = model.lmLogits(model.forward(tok, opts)) // [B, T, V]
  const [b, t, v] = logits.shape
  const pred = logits.slice([0, 0, 0], [b, t - 1, v]).reshape([-1, v])
  const target = tf.oneHot(tok.slice([0, 1], [b, t - 1]).reshape([-1]), v)
  return tf.losses.softmaxCrossEntropy(target, pred) as tf.Scalar
}

/** True when both tensors hold the same float32 bit patterns. */
export async function bitsEqual(a: tf.Tensor, b: tf.Tensor): Promise<boolean> {
  if (!tf.util.arraysEqual(a.shape, b.shape)) return false
  const [x, y] = [await a.data(), await b.data()]
  const xi = new Int32Array(x.buffer, x.byteOffset, x.length)
  const yi = new Int32Array(y.buffer, y.byteOffset, y.length)
  return xi.every((v, i) => v === yi[i])
}

export async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))))
  const v = (await d.data())[0] ?? Number.NaN
  d.dispose()
  return v
}

export function freezeSettings(over: Partial<FreezeSettings> = {}): FreezeSettings {
  return { method: 'full', freezeFirst: 0, unfreezeEvery: 0, headFirstEpochs: 0, ...over }
}
