import * as tf from '@tensorflow/tfjs'
import { globalNorm } from './clipping'
import type { TinyGpt } from '../models/tinyGpt'
import { mulberry32 } from '../data/rng'

/** Plain next-token pretraining for TinyGpt on one long token stream. */
export interface PretrainConfig {
  steps: number // upper bound on optimizer steps
  batchSize: number // windows per step
  seqLen: number // tokens of context per window (≤ model.config.seqLen)
  learningRate: number // peak, reached at the end of warm-up
  minLearningRate: number // floor of the cosine decay
  warmupSteps: number // linear warm-up from 0
  clipNorm: number // global gradient-norm clip; 0 = off
  weightDecay: number // decoupled (AdamW-style) decay on matrices only; 0 = plain Adam
  logEvery: number // read the loss back every N steps (reading forces a sync)
  seed: number // window sampling
  /** When set, the step count is fitted to this wall-clock budget (first after a few steps, then at every log). */
  timeBudgetMs?: number
}

export const DEFAULT_PRETRAIN: PretrainConfig = {
  steps: 1000,
  batchSize: 16,
  seqLen: 128,
  learningRate: 3e-3,
  minLearningRate: 3e-4,
  warmupSteps: 50,
  clipNorm: 1,
  weightDecay: 0,
  logEvery: 10,
  seed: 1,
}

export interface StepInfo {
  step: number // 1-based, steps done
  totalSteps: number // current plan (refitted under a time budget)
  loss: number // training loss of this step
  learningRate: number
  tokensSeen: number
  elapsedMs: number
}

export interface PretrainCallbacks {
  onStep?: (info: StepInfo) => void | Promise<void>
  /** Return true to stop after the current step. */
  shouldStop?: () => boolean
}

export interface PretrainResult {
  steps: number
  tokensSeen: number
  finalLoss: number // mean of the last few logged losses
  elapsedMs: number
  losses: { step: number; loss: number }[]
}

/** Linear warm-up to the peak, then cosine decay to the floor at `total`. */
export function warmupCosine(step: number, total: number, cfg: Pick<PretrainConfig, 'learningRate' | 'minLearningRate' | 'warmupSteps'>): number {
  if (step < cfg.warmupSteps) return (cfg.learningRate * (step + 1)) / cfg.warmupSteps
  const span = Math.max(1, total - cfg.warmupSteps)
  const t = Math.min(1, (step - cfg.warmupSteps) / span)
  return cfg.minLearningRate + 0.5 * (cfg.learningRate - cfg.minLearningRate) * (1 + Math.cos(Math.PI * t))
}

/** Adam whose learning rate a schedule can set; tfjs re-reads it at every applyGradients. */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(lr: number): void {
    this.learningRate = lr
  }
}

/** The seeded PRNG the rest of the engine uses; the same seed samples the same windows. */
export { mulberry32 }

type TokenStream = ArrayLike<number>

/** [B, T+1] windows starting at random offsets. */
function sampleWindows(tokens: TokenStream, batch: number, seqLen: number, rand: () => number): Int32Array {
  const span = seqLen + 1
  const maxStart = tokens.length - span
  const out = new Int32Array(batch * span)
  for (let b = 0; b < batch; b++) {
    const start = Math.floor(rand() * (maxStart + 1))
    for (let i = 0; i < span; i++) out[b * span + i] = tokens[start + i] ?? 0
  }
  return out
}

/** Mean next-token cross-entropy of windows [B, T+1]. Built from logSoftmax and a one-hot
 *  product so every op and gradient exists on the wasm backend. */
export function lmLoss(model: TinyGpt, windows: tf.Tensor2D): tf.Scalar {
  const [b, span] = windows.shape
  const t = span - 1
  const inputs = windows.slice([0, 0], [b, t])
  const targets = windows.slice([0, 1], [b, t])
  const logits = model.lmLogits(model.forward(inputs, { training: true })) // [B, T, V]
  const logp = tf.logSoftmax(logits.reshape([b * t, model.config.vocabSize])) // [B*T, V]
  const picked = tf.sum(tf.mul(logp, tf.oneHot(targets.reshape([b * t]), model.config.vocabSize)), 1)
  return tf.neg(tf.mean(picked)) as tf.Scalar
}

type NamedGrad = { name: string; tensor: tf.Tensor }

/** Gradients in the variables' order, scaled by min(1, clip / global norm) when clip > 0. */
function clipByGlobalNorm(vars: tf.Variable[], grads: tf.NamedTensorMap, clip: number): NamedGrad[] {
  const list = vars.map((v) => {
    const g = grads[v.name]
    if (!g) throw new Error(`No gradient for ${v.name}`)
    return { name: v.name, tensor: g }
  })
  if (clip <= 0) return list
  const scale = tf.minimum(1, tf.div(clip, tf.maximum(globalNorm(list.map((g) => g.tensor)), 1e-6)))
  return list.map((g) => ({ name: g.name, tensor: tf.mul(g.tensor, scale) }))
}

export async function pretrainLm(
  model: TinyGpt,
  tokens: TokenStream,
  config: PretrainConfig,
  callbacks: PretrainCallbacks = {},
): Promise<PretrainResult> {
  const { batchSize, seqLen } = config
  if (seqLen > model.config.seqLen) throw new Error(`seqLen ${seqLen} exceeds the model's ${model.config.seqLen}`)
  if (tokens.length < seqLen + 2) throw new Error(`Need more than ${seqLen + 1} tokens, got ${tokens.length}`)
  // Adam keys its moments by position: always the same variables in the same order.
  const vars = model.params.map((p) => p.variable)
  const decayed = model.params.filter((p) => p.variable.rank >= 2).map((p) => p.variable)
  const optimizer = new ScheduledAdam(config.learningRate, 0.9, 0.95, 1e-8)
  const rand = mulberry32(config.seed)
  const losses: { step: number; loss: number }[] = []
  let totalSteps = config.steps
  const calibrateAt = Math.max(3, Math.min(config.warmupSteps, 30))
  const start = performance.now()
  let tokensSeen = 0
  let step = 0
  try {
    while (step < totalSteps) {
      const lr = warmupCosine(step, totalSteps, config)
      optimizer.setLearningRate(lr)
      const windows = sampleWindows(tokens, batchSize, seqLen, rand)
      const loss = tf.tidy(() => {
        const batch = tf.tensor2d(windows, [batchSize, seqLen + 1], 'int32')
        const { value, grads } = tf.variableGrads(() => lmLoss(model, batch), vars)
        optimizer.applyGradients(clipByGlobalNorm(vars, grads, config.clipNorm))
        if (config.weightDecay > 0) for (const v of decayed) v.assign(tf.mul(v, 1 - lr * config.weightDecay))
        return value
      })
      step++
      tokensSeen += batchSize * seqLen
      if (config.timeBudgetMs !== undefined && (step === calibrateAt || (step > calibrateAt && step % config.logEvery === 0))) {
        // Fit the cosine to the budget from the average step time so far, and keep refitting as
        // the machine's load changes. Warm-up ends at or after the first fit, so the schedule
        // already used is unchanged; the running average moves slowly, so refits shift the decay gradually.
        await loss.data()
        const msPerStep = (performance.now() - start) / step
        // Never below the steps already done: a spent budget ends the run at this step.
        totalSteps = Math.max(step, Math.min(config.steps, Math.floor(config.timeBudgetMs / msPerStep)))
      }
      const log = step % config.logEvery === 0 || step === totalSteps
      if (log) {
        const value = (await loss.data())[0] ?? NaN
        loss.dispose()
        if (!Number.isFinite(value)) throw new Error(`Loss became ${value} at step ${step}; lower the learning rate`)
        losses.push({ step, loss: value })
        await callbacks.onStep?.({ step, totalSteps, loss: value, learningRate: lr, tokensSeen, elapsedMs: performance.now() - start })
      } else loss.dispose()
      if (callbacks.shouldStop?.()) break
    }
  } finally {
    optimizer.dispose()
  }
  const tail = losses.slice(-5)
  return {
    steps: step,
    tokensSeen,
    finalLoss: tail.reduce((s, l) => s + l.loss, 0) / Math.max(1, tail.length),
    elapsedMs: performance.now() - start,
    losses,
  }
}

/** Mean loss and perplexity over consecutive non-overlapping windows of a held-out stream. */
export async function evaluateLm(
  model: TinyGpt,
  tokens: TokenStream,
  seqLen: number,
  batchSize: number,
  maxBatches = Infinity,
): Promise<{ loss: number; perplexity: number; tokens: number }> {
  const span = seqLen + 1
  const windows = Math.floor((tokens.length - 1) / seqLen)
  let sum = 0
  let count = 0
  for (let w = 0, batches = 0; w < windows && batches < maxBatches; w += batchSize, batches++) {
    const n = Math.min(batchSize, windows - w)
    const data = new Int32Array(n * span)
    for (let b = 0; b < n; b++) for (let i = 0; i < span; i++) data[b * span + i] = tokens[(w + b) * seqLen + i] ?? 0
    const loss = tf.tidy(() => {
      const batch = tf.tensor2d(data, [n, span], 'int32')
      const [bb, s] = batch.shape
      const t = s - 1
      const logits = model.lmLogits(model.forward(batch.slice([0, 0], [bb, t])))
      const logp = tf.logSoftmax(logits.reshape([bb * t, model.config.vocabSize]))
      const targets = tf.oneHot(batch.slice([0, 1], [bb, t]).reshape([bb * t]), model.config.vocabSize)
      return tf.neg(tf.sum(tf.mul(logp, targets)))
    })
    sum += (await loss.data())[0] ?? NaN
    loss.dispose()
    count += n * seqLen
  }
  const loss = sum / Math.max(1, count)
  return { loss, perplexity: Math.exp(loss), tokens: count }
}
