import * as tf from '@tensorflow/tfjs'
import { mulberry32, shuffleInPlace } from '../data/rng'
import type { TinyCnn } from '../models/tinyCnn'
import type { Head } from '../tuning/heads'
import { clipByGlobalNorm } from './clipping'
import { softmaxCrossEntropy } from './losses'
import { createOptimizer } from './optimizers'

/** Labelled square images kept premultiplied, so each batch can be composited on a new
 *  background and shifted (augmentation) without decoding again. */
export interface ImageSet {
  n: number
  size: number // side in pixels
  premul: Float32Array // [n, S, S, 3] colour × alpha, in [0, 1]
  alpha: Float32Array // [n, S, S]
  labels: Int32Array // [n] class ids
}

export interface CnnPretrainConfig {
  steps: number // upper bound on optimizer steps
  batchSize: number
  learningRate: number // peak after warm-up
  minLearningRate: number // cosine floor
  warmupSteps: number
  weightDecay: number // AdamW, matrices only
  clipNorm: number // 0 = off
  labelSmoothing: number
  headDropout: number
  augment: boolean // random shift ±maxShift px, mirror, grey background
  maxShift: number
  evalEvery: number // steps between validation passes (0 = only at the end)
  seed: number
  timeBudgetMs?: number // fit the step count to this once the first steps are timed
}

export interface CnnLog {
  step: number
  totalSteps: number
  loss: number // mean training loss since the last log
  learningRate: number
  elapsedMs: number
  val?: { loss: number; accuracy: number }
}

export interface CnnPretrainResult {
  steps: number
  imagesSeen: number
  finalTrainLoss: number
  val: { loss: number; accuracy: number; preds: Int32Array }
  elapsedMs: number
}

/** A batch of model inputs [B, S, S, 3] in [-1, 1]: shifted, mirrored and composited on a
 *  light grey background when augmenting, on white otherwise. */
export function composeBatch(set: ImageSet, idx: readonly number[], rand: (() => number) | null, maxShift = 0): Float32Array {
  const S = set.size
  const out = new Float32Array(idx.length * S * S * 3)
  idx.forEach((r, i) => {
    const dy = rand ? Math.round((rand() * 2 - 1) * maxShift) : 0
    const dx = rand ? Math.round((rand() * 2 - 1) * maxShift) : 0
    const mirror = rand ? rand() < 0.5 : false
    const bg = rand ? 0.75 + 0.25 * rand() : 1
    const base = i * S * S * 3
    for (let y = 0; y < S; y++) {
      const sy = y - dy
      for (let x = 0; x < S; x++) {
        const sx0 = x - dx
        const sx = mirror ? S - 1 - sx0 : sx0
        const o = base + (y * S + x) * 3
        if (sy < 0 || sy >= S || sx < 0 || sx >= S) {
          out[o] = out[o + 1] = out[o + 2] = 2 * bg - 1
          continue
        }
        const p = r * S * S + sy * S + sx
        const keep = 1 - set.alpha[p]!
        for (let c = 0; c < 3; c++) out[o + c] = 2 * (set.premul[p * 3 + c]! + keep * bg) - 1
      }
    }
  })
  return out
}

/** Linear warm-up (at most a tenth of the plan, so short budgets still decay), then cosine. */
export function lrAt(step: number, total: number, c: Pick<CnnPretrainConfig, 'learningRate' | 'minLearningRate' | 'warmupSteps'>): number {
  const warm = Math.max(1, Math.min(c.warmupSteps, Math.floor(total / 10)))
  if (step < warm) return (c.learningRate * (step + 1)) / warm
  const t = Math.min(1, (step - warm) / Math.max(1, total - warm))
  return c.minLearningRate + 0.5 * (c.learningRate - c.minLearningRate) * (1 + Math.cos(Math.PI * t))
}

/** Loss and accuracy of body + head on a set (no augmentation), in batches. */
export async function evaluateCnn(model: TinyCnn, head: Head, set: ImageSet, batchSize = 128): Promise<{ loss: number; accuracy: number; preds: Int32Array }> {
  let lossSum = 0
  let correct = 0
  const all = new Int32Array(set.n)
  for (let start = 0; start < set.n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.n - start) }, (_, i) => start + i)
    const [lossT, predT] = tf.tidy(() => {
      const x = tf.tensor4d(composeBatch(set, idx, null), [idx.length, set.size, set.size, 3])
      const logits = head.apply(model.pool(model.forward(x), null), false)
      const labels = tf.tensor1d(idx.map((r) => set.labels[r]!), 'int32')
      return [softmaxCrossEntropy(logits, labels), tf.argMax(logits, 1)]
    })
    lossSum += ((await lossT.data())[0] ?? NaN) * idx.length
    const preds = await predT.data()
    idx.forEach((r, i) => {
      all[r] = preds[i]!
      correct += preds[i] === set.labels[r] ? 1 : 0
    })
    tf.dispose([lossT, predT])
  }
  return { loss: lossSum / Math.max(1, set.n), accuracy: correct / Math.max(1, set.n), preds: all }
}

/** Supervised pretraining of a TinyCnn body with a classification head: AdamW, warm-up +
 *  cosine decay, global-norm clipping, epoch-wise shuffling. */
export async function pretrainCnn(
  model: TinyCnn,
  head: Head,
  train: ImageSet,
  val: ImageSet,
  cfg: CnnPretrainConfig,
  onLog?: (e: CnnLog) => void,
): Promise<CnnPretrainResult> {
  const t0 = Date.now()
  const vars = [...model.params.map((p) => p.variable), ...head.params.map((p) => p.variable)]
  const decay = new Map([...model.params, ...head.params].map((p) => [p.variable, p.decay] as const)) // as the model and head declare
  const opt = createOptimizer('adamw', { weightDecay: cfg.weightDecay, momentum: 0, decayMask: decay })
  const rand = mulberry32(cfg.seed)
  let total = cfg.steps
  let order: number[] = []
  let at = 0
  let lossSum = 0
  let lossCount = 0
  let lastLoss = NaN
  let timedFrom = 0
  let timedSteps = 4
  let step = 0
  try {
    for (; step < total; step++) {
      if (at + cfg.batchSize > order.length) {
        order = shuffleInPlace(Array.from({ length: train.n }, (_, i) => i), rand)
        at = 0
      }
      const idx = order.slice(at, at + cfg.batchSize)
      at += idx.length
      const pixels = composeBatch(train, idx, cfg.augment ? rand : null, cfg.augment ? cfg.maxShift : 0)
      const lr = lrAt(step, total, cfg)
      const lossT = tf.tidy(() => {
        const x = tf.tensor4d(pixels, [idx.length, train.size, train.size, 3])
        const labels = tf.tensor1d(idx.map((r) => train.labels[r]!), 'int32')
        const { value, grads } = tf.variableGrads(() => {
          const features = model.pool(model.forward(x, { training: true }), null)
          return softmaxCrossEntropy(head.apply(features, true, cfg.headDropout, cfg.seed * 7 + step), labels, cfg.labelSmoothing)
        }, vars)
        const { grads: clipped } = clipByGlobalNorm(
          vars.map((v) => grads[v.name]!),
          cfg.clipNorm,
        )
        opt.step(clipped, vars, lr)
        return value
      })
      lastLoss = (await lossT.data())[0] ?? NaN
      lossT.dispose()
      if (!Number.isFinite(lastLoss)) throw new Error(`Pretraining diverged at step ${step + 1} (loss ${lastLoss})`)
      lossSum += lastLoss
      lossCount++
      // Fit the plan to the time budget once warm-up (kernel compilation, caches) is over,
      // then refit every 25 steps from the recent pace (a shared machine's speed varies)
      // until 80% of the plan is done, so the cosine tail is not disturbed.
      if (cfg.timeBudgetMs && step === 4) timedFrom = Date.now()
      if (cfg.timeBudgetMs && step >= 24 && step % 25 === 24 && step < 0.8 * total) {
        const perStep = (Date.now() - timedFrom) / (step - timedSteps)
        const evalShare = cfg.evalEvery > 0 ? 1.1 : 1.02
        total = Math.max(step + 1, Math.min(cfg.steps, Math.floor((cfg.timeBudgetMs - (Date.now() - t0)) / (perStep * evalShare)) + step + 1))
        timedFrom = Date.now()
        timedSteps = step
      }
      const done = step + 1
      const evalNow = cfg.evalEvery > 0 && done % cfg.evalEvery === 0 && done < total
      if (evalNow || done === total || done % 20 === 0) {
        const e: CnnLog = { step: done, totalSteps: total, loss: lossSum / lossCount, learningRate: lr, elapsedMs: Date.now() - t0 }
        if (evalNow) {
          const { loss, accuracy } = await evaluateCnn(model, head, val)
          e.val = { loss, accuracy }
        }
        onLog?.(e)
        lossSum = 0
        lossCount = 0
      }
    }
    const finalVal = await evaluateCnn(model, head, val)
    return { steps: step, imagesSeen: step * cfg.batchSize, finalTrainLoss: lastLoss, val: finalVal, elapsedMs: Date.now() - t0 }
  } finally {
    opt.dispose()
  }
}
