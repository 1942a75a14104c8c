/**
 * Data parallelism (dataParallel.ts) on the built-in text transformer and the real spam/ham
 * sample, wasm backend: a run whose micro-batches are split between the loop and a replica
 * (here in the same thread, each request and answer structured-cloned as a worker message
 * would be) against the same run on one worker.
 *
 * Tolerance: with dropout off, a split step differs from one worker's only in the order the
 * float32 sums run (each half's mean, then the rows-weighted mean of the two), a relative
 * error near 1e-7 in each gradient. Adam turns a gradient into a step of about the learning
 * rate whatever its size, so a weight whose gradient is within rounding of zero may move by
 * up to 2·lr a step differently; no other weight moves measurably differently. So: losses
 * within 1e-4 (on losses near 0.7), every weight within 2·lr·steps, and the typical (mean)
 * weight difference under 1e-6.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { taskFor } from '../tasks'
import { DataParallel, GradientReplica, halfSeed, whyNotSplit, whyNotSplitPasses, type GradientPeer, type HalfRequest, type HalfResult, type InferRequest, type InferResult, type ReplicaSetup } from './dataParallel'
import type { InferPass } from './inferencePasses'
import { fineTune, Tuning, type Encoded } from './fineTune'
import { BatchSource } from './batchSource'
import { splitStepFixture } from './tinyLmSpamHamFixture'
import { tinyLmOnSpamHamFiles } from './tinyLmSpamHam.testSetup'
import { FeatureCache } from './featureCache'
import { cachePlan, gatherBatch } from './forward'
import { zeroShotClassify } from './zeroShot'
import { TinyCnn, type TinyCnnConfig } from '../models/tinyCnn'
import { mulberry32 } from '../data/rng'
import type { LoopCheckpoint } from './loopState'
import { RunControl } from './runControl'
import { microBatchSeed } from './seeds'

// 36 training rows: 4 full batches of 8 and one of 4 an epoch (an odd last split: 2 + 2).
const lm = tinyLmOnSpamHamFiles({ train: 36, val: 16 })

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, batchSize: 8, epochs: 2, seqLen: 32, learningRate: 1e-3, dropout: 0, loraDropout: 0, backend: 'wasm', ...over })

/** The replica behind a message boundary: requests and answers are structured-cloned. */
class ClonedPeer implements GradientPeer {
  readonly replica = new GradientReplica()
  halves = 0
  tensors: number[] = []
  /** The kinds of the inference passes asked for, in order. */
  readonly passes: InferPass['kind'][] = []
  constructor(
    private readonly failAt = -1,
    private readonly failPassAt = -1,
  ) {}
  async setup(s: ReplicaSetup) {
    await this.replica.setup(structuredClone(s))
  }
  async half(r: HalfRequest): Promise<HalfResult> {
    if (++this.halves === this.failAt) throw new Error('the second worker stopped (out of memory)')
    const out = structuredClone(await this.replica.half(structuredClone(r)))
    this.tensors.push(out.tensors)
    return out
  }
  async infer(r: InferRequest): Promise<InferResult> {
    this.passes.push(r.pass.kind)
    if (this.failPassAt >= 0 && this.passes.length === this.failPassAt) throw new Error('the second worker stopped (out of memory)')
    const out = structuredClone(await this.replica.infer(structuredClone(r)))
    this.tensors.push(out.tensors)
    return out
  }
}

async function run(s: Settings, peer?: GradientPeer, resume?: LoopCheckpoint) {
  const model = lm.loaded.model
  model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
  const tuning = new Tuning(model, s, 2)
  const epochs: { train: number; val: number }[] = []
  const checkpoints: LoopCheckpoint[] = []
  const plan: (string | null)[] = []
  const lost: string[] = []
  await fineTune(model, tuning, lm.data, s, new RunControl(), {
    onEpoch: (e) => void epochs.push({ train: e.train.loss, val: e.val.loss }),
    onCheckpoint: (c) => void checkpoints.push(c),
  }, resume, peer ? { peer, onPlan: (w) => plan.push(w), onPeerLost: (m) => lost.push(m) } : undefined)
  const weights = await Promise.all([...model.params.map((p) => p.variable), ...(tuning.head?.params ?? []).map((p) => p.variable), ...(tuning.lora?.params ?? []).map((p) => p.variable)].map(async (v) => (await v.data()) as Float32Array))
  tuning.dispose()
  return { epochs, checkpoints, plan, lost, weights }
}

function weightGap(a: Float32Array[], b: Float32Array[]): { max: number; mean: number } {
  let max = 0
  let sum = 0
  let n = 0
  a.forEach((x, i) => x.forEach((v, k) => {
    const d = Math.abs(v - b[i]![k]!)
    max = Math.max(max, d)
    sum += d
    n++
  }))
  return { max, mean: sum / n }
}

describe('a run split over two workers trains as one worker does', () => {
  it('one split step: the loss and every gradient are the full batch mean (8 rows: 4 + 4; 7 rows: 4 + 3)', async () => {
    const s = settings({ method: 'full', batchSize: 8 })
    const { model, tuning, vars, source, cache } = splitStepFixture(lm, s)
    const idx = [3, 0, 7, 1, 30, 12, 5, 33]
    const odd = idx.slice(0, 7) // 7 rows: 4 here, 3 on the replica
    const task = taskFor(lm.data.train, tuning)
    for (const rows of [idx, odd]) {
      const one = tf.tidy(() => {
        const b = gatherBatch(source, cache, 'train', rows)
        const r = tf.variableGrads(() => task.loss(model, tuning, b, cache, s, true, microBatchSeed(s.seed, 0, 0)), vars)
        return { value: r.value, grads: vars.map((v) => r.grads[v.name]!) }
      })
      const peer = new ClonedPeer()
      const dp = new DataParallel(peer, model, tuning, s, 'classification', 2)
      const two = await dp.gradients(vars, () => gatherBatch(source, cache, 'train', rows), cache, [halfSeed(s.seed, 0, 0, 0), halfSeed(s.seed, 0, 0, 1)])
      expect(Math.abs((await two.value.data())[0]! - (await one.value.data())[0]!)).toBeLessThan(1e-6)
      let worst = 0
      for (const [i, g] of one.grads.entries()) {
        const a = (await g.data()) as Float32Array
        const b = (await two.grads[i]!.data()) as Float32Array
        const scale = a.reduce((m, x) => Math.max(m, Math.abs(x)), 0)
        if (scale === 0) {
          expect(b.every((x) => x === 0)).toBe(true) // unused embedding rows stay exactly zero
          continue
        }
        a.forEach((x, k) => (worst = Math.max(worst, Math.abs(x - b[k]!) / scale)))
      }
      expect(worst, `largest gradient error relative to each weight's largest gradient, ${rows.length} rows`).toBeLessThan(1e-5)
      tf.dispose([one.value, ...one.grads, two.value, ...two.grads])
      dp.dispose()
      peer.replica.dispose()
    }
    cache.dispose()
    tuning.dispose()
  })

  it.each([
    ['full fine-tuning', { method: 'full' }],
    ['frozen first two blocks (the loop caches their output; the replica gets cached rows)', { method: 'freeze', freezeFirst: 2 }],
    ['LoRA', { method: 'lora', loraRank: 4 }],
    ['full fine-tuning, 2 accumulated micro-batches of 4 (each split 2 + 2)', { method: 'full', batchSize: 4, accumSteps: 2 }],
  ] as [string, Partial<Settings>][])('%s: the same epoch losses and final weights as one worker', async (_name, over) => {
    const s = settings(over)
    const before = tf.memory().numTensors
    const one = await run(s)
    const peer = new ClonedPeer()
    const two = await run(s, peer)
    peer.replica.dispose()
    expect(tf.memory().numTensors, 'tensors after both runs and the replica are freed').toBe(before)
    expect(two.plan).toEqual([null]) // split, not refused
    expect(peer.halves).toBe(2 * Math.ceil(36 / s.batchSize)) // every micro-batch of both epochs split
    expect(two.epochs).toHaveLength(2)
    two.epochs.forEach((e, i) => {
      expect(Math.abs(e.train - one.epochs[i]!.train), `train loss epoch ${i + 1}`).toBeLessThan(1e-4)
      expect(Math.abs(e.val - one.epochs[i]!.val), `val loss epoch ${i + 1}`).toBeLessThan(1e-4)
    })
    const gap = weightGap(one.weights, two.weights)
    console.info(`${_name}: losses ${one.epochs.map((e) => e.train.toFixed(6)).join(', ')} vs ${two.epochs.map((e) => e.train.toFixed(6)).join(', ')}; weights max |Δ| ${gap.max.toExponential(2)}, mean ${gap.mean.toExponential(2)}`)
    expect(gap.max).toBeLessThanOrEqual(2 * s.learningRate * 10)
    expect(gap.mean).toBeLessThan(1e-6)
  }, 120_000)

  it('with dropout and LoRA dropout each half draws its own masks: the same seed repeats the run exactly, another seed does not', async () => {
    const s = settings({ method: 'lora', loraRank: 4, loraDropout: 0.3, dropout: 0.1, epochs: 1 })
    const a = await run(s, new ClonedPeer())
    const b = await run(s, new ClonedPeer())
    const c = await run({ ...s, seed: s.seed + 1 }, new ClonedPeer())
    expect(b.epochs).toEqual(a.epochs)
    expect(weightGap(a.weights, b.weights).max).toBe(0)
    expect(c.epochs[0]!.train).not.toBe(a.epochs[0]!.train)
    expect(halfSeed(42, 3, 0, 0)).not.toBe(halfSeed(42, 3, 0, 1))
    expect(halfSeed(42, 3, 0, 0)).not.toBe(microBatchSeed(42, 3, 0))
  }, 120_000)

  it('resumed from the epoch-1 checkpoint, a split run ends as the uninterrupted split run does', async () => {
    // restoreBest off: the checkpoint here carries no best weights to restore at the end.
    const s = settings({ method: 'full', restoreBest: false })
    const whole = await run(s, new ClonedPeer())
    const resumed = await run(s, new ClonedPeer(), whole.checkpoints[0])
    expect(resumed.epochs).toHaveLength(1)
    expect(Math.abs(resumed.epochs[0]!.train - whole.epochs[1]!.train)).toBeLessThan(1e-6)
    expect(weightGap(whole.weights, resumed.weights).max).toBeLessThan(1e-6)
  }, 120_000)

  it('when the second worker fails, the run goes on here with the same numbers and says so', async () => {
    const s = settings({ method: 'full' })
    const steady = await run(s, new ClonedPeer())
    const before = tf.memory().numTensors
    const failing = new ClonedPeer(3)
    const broken = await run(s, failing)
    failing.replica.dispose()
    expect(tf.memory().numTensors).toBe(before)
    expect(broken.lost).toEqual(['the second worker stopped (out of memory)'])
    expect(failing.halves).toBe(3) // never asked again
    expect(broken.epochs).toEqual(steady.epochs)
    expect(weightGap(steady.weights, broken.weights).max).toBe(0)
  }, 120_000)

  it("the replica's tensors: flat from half to half and from run to run, none left after it is disposed", async () => {
    const s = settings({ method: 'lora', loraRank: 4 })
    const { model, tuning, vars, source, cache } = splitStepFixture(lm, s)
    const before = tf.memory().numTensors
    const peer = new ClonedPeer()
    const counts: number[] = []
    for (let run = 0; run < 2; run++) {
      const dp = new DataParallel(peer, model, tuning, s, 'classification', 2)
      for (let step = 0; step < 3; step++) {
        const rows = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => (r + 8 * step) % lm.data.train.n)
        const g = await dp.gradients(vars, () => gatherBatch(source, cache, 'train', rows), cache, [halfSeed(s.seed, step, 0, 0), halfSeed(s.seed, step, 0, 1)])
        tf.dispose([g.value, ...g.grads])
        counts.push(tf.memory().numTensors - before)
      }
      dp.dispose()
    }
    // One replica (model + LoRA + head) held after each half, the same in both runs: the
    // second run's setup replaced the first's replica.
    expect(new Set(counts).size).toBe(1)
    expect(counts[0]).toBe(model.params.length + tuning.parts.tuning.flatMap((t) => t.params).length + (tuning.head?.params.length ?? 0))
    peer.replica.dispose()
    expect(tf.memory().numTensors).toBe(before)
    cache.dispose()
    tuning.dispose()
  })

  it('says why a run is not split', () => {
    const tuning = new Tuning(lm.loaded.model, settings({ method: 'head' }), 2)
    const task = taskFor(lm.data.train, tuning)
    expect(whyNotSplit(lm.loaded.model, tuning, settings({ method: 'head' }), task)).toBe('head runs train on one worker')
    expect(whyNotSplit(lm.loaded.model, tuning, settings({ method: 'full', batchSize: 1 }), task)).toBe('a batch of one cannot be split')
    expect(whyNotSplit(lm.loaded.model, tuning, settings({ method: 'full' }), task)).toBeNull()
    // Their inference passes are halved all the same.
    expect(whyNotSplitPasses(lm.loaded.model, tuning, settings({ method: 'head' }), task)).toBeNull()
    expect(whyNotSplitPasses(lm.loaded.model, tuning, settings({ method: 'full', batchSize: 1 }), task)).toBeNull()
    expect(whyNotSplitPasses(lm.loaded.model, tuning, settings({ method: 'adapter' }), task)).toBe('adapter runs train on one worker')
    tuning.dispose()
  })
})

/** A head whose predictions vary from row to row (a fresh head predicts one class for almost
 *  every row, which would make equal accuracies say nothing). */
function spreadHead(tuning: Tuning, scale: number): void {
  for (const p of tuning.head!.params) tf.tidy(() => p.variable.assign(tf.randomNormal(p.variable.shape, 0, scale, 'float32', 7)))
}

describe("a run's inference passes split over two workers give one worker's figures", () => {
  const regressionVal = (): Encoded => {
    const v = lm.data.val as Extract<Encoded, { kind: 'classification' }>
    return { kind: 'regression', n: v.n, seqLen: v.seqLen, tokens: v.tokens, mask: v.mask, values: Float32Array.from(v.labels, (l, i) => l - 0.5 + 0.1 * Math.sin(i)), scale: { name: 'score', mean: 3, std: 2 } }
  }

  it.each([
    ['full fine-tuning: the head reads the whole model', { method: 'full' }, 'classification'],
    ['frozen first two blocks: the cached prefix of the validation rows is split too', { method: 'freeze', freezeFirst: 2 }, 'classification'],
    ['LoRA', { method: 'lora', loraRank: 4 }, 'classification'],
    ['regression, frozen first three blocks', { method: 'freeze', freezeFirst: 3 }, 'regression'],
  ] as [string, Partial<Settings>, 'classification' | 'regression'][])('%s: validation metrics equal (accuracy exactly, loss within 1e-6); tensors flat', async (_name, over, kind) => {
    const model = lm.loaded.model
    model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
    const start = tf.memory().numTensors
    const s = settings(over)
    const val = kind === 'regression' ? regressionVal() : lm.data.val
    const tuning = new Tuning(model, s, kind === 'regression' ? 'regression' : 2)
    spreadHead(tuning, kind === 'regression' ? 0.2 : 2)
    // LoRA's B starts at zero: moved, so the replica's LoRA weights matter.
    for (const p of tuning.lora?.params ?? []) tf.tidy(() => p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.05, 'float32', 3)))
    const task = taskFor(val, tuning)
    const source = BatchSource.host(val)
    const plan = cachePlan(model, tuning, s, 0)
    const before = tf.memory().numTensors
    const cacheOne = new FeatureCache(plan.blocks, plan.pooled, { train: 0, val: val.n })
    const one = await task.evaluate(model, tuning, source, cacheOne, 'val')
    cacheOne.dispose()
    const peer = new ClonedPeer()
    const dp = new DataParallel(peer, model, tuning, s, kind, kind === 'regression' ? 'regression' : 2)
    const counts: number[] = []
    for (let pass = 0; pass < 2; pass++) {
      const cache = new FeatureCache(plan.blocks, plan.pooled, { train: 0, val: val.n })
      const two = await task.evaluate(model, tuning, source, cache, 'val', dp)
      cache.dispose()
      console.info(`${_name}: loss ${one.loss} (one worker) vs ${two.loss} (two); ${JSON.stringify(one.accuracy ?? one.rmse)}`)
      expect(Math.abs(two.loss - one.loss), 'validation loss').toBeLessThanOrEqual(1e-6)
      if (kind === 'classification') {
        expect(two.accuracy).toBe(one.accuracy)
        expect(two.confusion).toEqual(one.confusion)
        expect(two.macroF1).toBe(one.macroF1)
        // Both classes predicted (columns of the confusion matrix): equal accuracies say something.
        for (const c of [0, 1]) expect(one.confusion!.reduce((n, row) => n + row[c]!, 0)).toBeGreaterThan(0)
      } else {
        expect(Math.abs(two.rmse! - one.rmse!)).toBeLessThanOrEqual(1e-5)
        expect(Math.abs(two.mae! - one.mae!)).toBeLessThanOrEqual(1e-5)
      }
      counts.push(tf.memory().numTensors - before)
    }
    // Every pass asked of the replica: its half of each evaluation batch (16 rows: one batch),
    // and with frozen blocks first its half of the prefix, each evaluation once.
    expect(peer.passes).toEqual(plan.blocks > 0 ? ['prefix', 'head', 'prefix', 'head'] : ['head', 'head'])
    expect(counts[1], 'tensors here: flat from evaluation to evaluation').toBe(counts[0])
    // The replica (in this thread here) holds the model and the tuning pieces, nothing more.
    expect(counts[0]).toBe(model.params.length + (tuning.head?.params.length ?? 0) + (tuning.lora?.params.length ?? 0))
    // Each evaluation's passes leave the replica's tensors as the first one's did (the count is
    // the whole engine's here, the loop's cache rows included).
    expect(peer.tensors.slice(peer.tensors.length / 2), "the replica's tensors: flat from evaluation to evaluation").toEqual(peer.tensors.slice(0, peer.tensors.length / 2))
    dp.dispose()
    peer.replica.dispose()
    source.dispose()
    tuning.dispose()
    expect(tf.memory().numTensors).toBe(start)
  }, 120_000)

  it('the image CNN, first two of three blocks frozen: a run asks for the cache and evaluation passes of the pixels, and its figures equal one worker\'s', async () => {
    const cfg: TinyCnnConfig = { imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 }, { channels: 8, stride: 2 }, { channels: 8, stride: 1 }] }
    // Random pixels and labels (seeded): what is learnt does not matter here, only that both
    // runs compute the same figures.
    const images = (n: number, seed: number): Encoded => {
      const rnd = mulberry32(seed)
      return { kind: 'image', n, height: 8, width: 8, pixels: Float32Array.from({ length: n * 8 * 8 * 3 }, () => rnd() * 2 - 1), labels: Int32Array.from({ length: n }, () => (rnd() < 0.5 ? 1 : 0)), classes: ['a', 'b'] }
    }
    const sets = { train: images(24, 1), val: images(12, 2) }
    const s = settings({ method: 'freeze', freezeFirst: 2, epochs: 2, learningRate: 1e-2, restoreBest: false })
    const cnnRun = async (peer?: ClonedPeer) => {
      const model = new TinyCnn(cfg, undefined, 3)
      const tuning = new Tuning(model, s, 2)
      const val: { loss: number; accuracy?: number }[] = []
      await fineTune(model, tuning, sets, s, new RunControl(), { onEpoch: (e) => void val.push({ loss: e.val.loss, accuracy: e.val.accuracy! }) }, undefined, peer ? { peer } : undefined)
      tuning.dispose()
      model.dispose()
      return val
    }
    const one = await cnnRun()
    const peer = new ClonedPeer()
    const two = await cnnRun(peer)
    peer.replica.dispose()
    // The validation rows' prefix (one pass of 12), the 3 first-epoch batches', 3 evaluations.
    expect(peer.passes).toEqual(['prefix', 'head', 'prefix', 'prefix', 'prefix', 'head', 'head'])
    expect(peer.halves).toBe(6)
    two.forEach((e, i) => {
      expect(Math.abs(e.loss - one[i]!.loss), `val loss epoch ${i + 1}`).toBeLessThanOrEqual(1e-4)
      expect(e.accuracy).toBe(one[i]!.accuracy)
    })
  }, 60_000)

  it('the zero-shot baseline: the same scores (within 1e-6), predictions and metrics', async () => {
    const model = lm.loaded.model
    model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
    const s = settings({ method: 'freeze', freezeFirst: 3 })
    const tuning = new Tuning(model, s, 2)
    const val = lm.data.val as Extract<Encoded, { kind: 'classification' }>
    const one = await zeroShotClassify(model, lm.loaded.tokenizer, val)
    // Once, so that the tensors the model keeps per sequence length exist before any count.
    const warm = new ClonedPeer()
    await zeroShotClassify(model, lm.loaded.tokenizer, val, { split: new DataParallel(warm, model, tuning, s, 'classification', 2) })
    warm.replica.dispose()
    const before = tf.memory().numTensors
    const peer = new ClonedPeer()
    const dp = new DataParallel(peer, model, tuning, s, 'classification', 2)
    const two = await zeroShotClassify(model, lm.loaded.tokenizer, val, { split: dp })
    const held = tf.memory().numTensors - before
    expect(held, 'the replica (in this thread here): the model and the head').toBe(model.params.length + tuning.head!.params.length)
    await zeroShotClassify(model, lm.loaded.tokenizer, val, { split: dp })
    expect(tf.memory().numTensors - before, 'flat from pass to pass').toBe(held)
    expect(peer.passes.length).toBeGreaterThan(0)
    expect(new Set(peer.passes)).toEqual(new Set(['labelLogProbs']))
    let worst = 0
    one.scores.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - two.scores[i]!))))
    two.prior.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - one.prior[i]!))))
    console.info(`zero-shot: accuracy ${one.metrics.accuracy}; largest score difference ${worst.toExponential(2)}`)
    expect(worst).toBeLessThanOrEqual(1e-6)
    expect(two.predictions).toEqual(one.predictions)
    expect(two.metrics).toEqual(one.metrics)
    dp.dispose()
    peer.replica.dispose()
    expect(tf.memory().numTensors).toBe(before)
    tuning.dispose()
  }, 60_000)

  it('a run on two workers asks the replica for its half of the baseline, cache and evaluation passes, and its figures equal one worker\'s', async () => {
    // The first three blocks frozen and cached: their pass is split, as the default run's is.
    const s = settings({ method: 'freeze', freezeFirst: 3, epochs: 2, restoreBest: false })
    const one = await run(s)
    const peer = new ClonedPeer()
    const two = await run(s, peer)
    peer.replica.dispose()
    expect(new Set(peer.passes)).toEqual(new Set(['prefix', 'head']))
    // The validation rows' prefix once (16 rows, one pass), every training batch's (5 an epoch,
    // first epoch only: cached after), the baseline and both epochs' evaluations.
    expect(peer.passes.filter((k) => k === 'prefix')).toHaveLength(1 + 5)
    expect(peer.passes.filter((k) => k === 'head')).toHaveLength(3)
    two.epochs.forEach((e, i) => {
      expect(Math.abs(e.val - one.epochs[i]!.val), `val loss epoch ${i + 1}`).toBeLessThanOrEqual(1e-4)
    })
  }, 120_000)

  it("a head-only run trains on one worker but halves its passes (the cache pass runs the whole model once a row): one worker's figures", async () => {
    const s = settings({ method: 'head', epochs: 2, restoreBest: false })
    const one = await run(s)
    const peer = new ClonedPeer()
    const two = await run(s, peer)
    peer.replica.dispose()
    expect(two.plan).toEqual(['head runs train on one worker'])
    expect(peer.halves).toBe(0)
    // The pooled features of the 16 validation rows (one pass) and of each of the first epoch's
    // 5 training batches; the base model's and both epochs' evaluations.
    expect(peer.passes).toEqual(['prefix', 'head', ...Array(5).fill('prefix'), 'head', 'head'])
    two.epochs.forEach((e, i) => {
      expect(Math.abs(e.train - one.epochs[i]!.train), `train loss epoch ${i + 1}`).toBeLessThanOrEqual(1e-6)
      expect(Math.abs(e.val - one.epochs[i]!.val), `val loss epoch ${i + 1}`).toBeLessThanOrEqual(1e-6)
    })
    expect(weightGap(one.weights, two.weights).max).toBeLessThanOrEqual(1e-6)
  }, 120_000)

  it('when the second worker fails during a pass, that pass and the rest are computed here with the same figures, and it says so', async () => {
    const model = lm.loaded.model
    model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
    const s = settings({ method: 'freeze', freezeFirst: 2 })
    const tuning = new Tuning(model, s, 2)
    spreadHead(tuning, 2)
    const task = taskFor(lm.data.val, tuning)
    const source = BatchSource.host(lm.data.val)
    const plan = cachePlan(model, tuning, s, 0)
    const steadyPeer = new ClonedPeer()
    const steady = new DataParallel(steadyPeer, model, tuning, s, 'classification', 2)
    const cacheA = new FeatureCache(plan.blocks, plan.pooled, { train: 0, val: lm.data.val.n })
    const expected = await task.evaluate(model, tuning, source, cacheA, 'val', steady)
    cacheA.dispose()
    steady.dispose()
    steadyPeer.replica.dispose()
    const before = tf.memory().numTensors
    const failing = new ClonedPeer(-1, 2) // the second pass (the head's) fails
    const lost: string[] = []
    const dp = new DataParallel(failing, model, tuning, s, 'classification', 2, (m) => lost.push(m))
    const cacheB = new FeatureCache(plan.blocks, plan.pooled, { train: 0, val: lm.data.val.n })
    const broken = await task.evaluate(model, tuning, source, cacheB, 'val', dp)
    const again = await task.evaluate(model, tuning, source, cacheB, 'val', dp)
    cacheB.dispose()
    expect(lost).toEqual(['the second worker stopped (out of memory)'])
    expect(failing.passes).toEqual(['prefix', 'head']) // never asked again
    expect(broken).toEqual(expected)
    expect(again).toEqual(expected)
    dp.dispose()
    failing.replica.dispose()
    expect(tf.memory().numTensors).toBe(before)
    source.dispose()
    tuning.dispose()
  }, 60_000)
})
