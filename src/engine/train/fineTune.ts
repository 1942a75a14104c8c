import * as tf from '@tensorflow/tfjs'
import type { Settings } from '../../settings/types'
import type { Metrics } from '../types/metrics'
import type { DoneReason, EpochEvent, RunSummary, StepEvent } from '../types/run'
import { mulberry32, shuffleInPlace } from '../data/rng'
import type { Body } from '../models/body'
import { TinyGpt, type ForwardHooks, type Param } from '../models/tinyGpt'
import { TinyCnn, pointwiseLayers } from '../models/tinyCnn'
import { Adapters, combineHooks } from '../tuning/adapters'
import { frozenPrefixBlocks, trainableBlocks, trainableBodyParams, trainableVariables } from '../tuning/freeze'
import { Head } from '../tuning/heads'
import { Lora, parseLoraTargets } from '../tuning/lora'
import type { ParamOwner } from '../tuning/namedVariable'
import { paramCounts, type ParamCounts } from '../tuning/paramCounts'
import { clipByGlobalNorm } from './clipping'
import { EarlyStopping } from './earlyStopping'
import { maskedTokenCrossEntropy, softmaxCrossEntropy } from './losses'
import { accuracy, confusionMatrix, macroF1, perplexity } from './metrics'
import { FeatureCache } from './featureCache'
import { LossReader } from './lossReads'
import { createOptimizer, type StudioOptimizer } from './optimizers'
import { ReduceLrOnPlateau } from './plateau'
import { assignTensors, decayFlags, readOptimizers, readTensors, restoreOptimizers, stableNames, tensorsByVariable, type LoopCheckpoint, type ResumeInput } from './loopState'
import type { RunControl } from './runControl'
import { learningRateAt } from '../../shared/schedules'
import { lineToBeat, majorityClass } from './baselines'
import { multiHeadFor, multitaskMetrics, type TaskLabels } from './multitaskData'
import type { MultiHead } from '../tuning/multitask'
import { prefetchImages } from './imageBatches'
import { augmentBatch, augmentOptions, augmentSeed, type AugmentOptions } from '../data/images/augment'
import { SYMMETRIC } from '../data/images/pixels'
import { BatchSource } from './batchSource'
import { microBatchSeed, type Seed } from './seeds'
import { EtaEstimator } from './eta'
import { runSteps } from '../../settings/runSteps'
import { labelsOf, tasksOf, valuesOf, type Encoded } from './encoded'
import { headLoss } from '../tuning/heads'
import { regressionBaseline, regressionMetrics } from './regression'

export type { Encoded }

export type { EpochEvent } // declared with the other run events in engine/types/run.ts

export interface FineTuneCallbacks {
  onBaseline?: (metrics: Metrics, note: string, name: string) => void
  onStep?: (e: StepEvent) => void
  onEpoch?: (e: EpochEvent) => void | Promise<void>
  onProgress?: (task: 'features' | 'baseline', done: number, total: number, label: string) => void
  onState?: (state: 'running' | 'paused') => void
  /** After each full epoch: the weights, optimizer and loop state a checkpoint needs. */
  onCheckpoint?: (c: LoopCheckpoint) => void | Promise<void>
}

/** The trainable pieces a run adds to the base model; kept after the run for the
 *  playground, evaluation and export. */
export class Tuning {
  readonly head: Head | null // with several tasks: the first task's head
  readonly multi: MultiHead | null // one head per label column (multitask), or null
  readonly lora: Lora | null
  readonly adapters: Adapters | null
  readonly hooks: ForwardHooks | undefined

  constructor(
    readonly model: Body,
    readonly settings: Settings,
    need: number | 'regression' | null, // classes of a classification head, one number, or no head (LM)
    tasks?: readonly Pick<TaskLabels, 'name' | 'classes'>[],
  ) {
    const seed = settings.seed
    this.multi = tasks && tasks.length > 1 ? multiHeadFor(model.featureDim, tasks, settings.taskWeights, seed + 11) : null
    this.head = this.multi
      ? this.multi.heads[0]!
      : need === null
        ? null
        : need === 'regression'
          ? new Head({ name: 'task', kind: 'regression', inputDim: model.featureDim }, seed + 11)
          : new Head({ name: 'task', kind: 'classification', inputDim: model.featureDim, numClasses: need }, seed + 11)
    const needsGpt = settings.method === 'adapter' || (settings.method === 'lora' && !(model instanceof TinyCnn))
    if (needsGpt && !(model instanceof TinyGpt)) throw new Error(`${settings.method} is available for the text transformer only; choose another method for this model.`)
    // The image CNN adapts all its pointwise (1×1) convs; loraTargets names transformer layers.
    const loraLayers = model instanceof TinyCnn ? { layers: pointwiseLayers(model.config) } : { targets: parseLoraTargets(settings.loraTargets) }
    this.lora =
      settings.method === 'lora'
        ? new Lora(model, { rank: settings.loraRank, alpha: settings.loraAlpha, dropout: settings.loraDropout, ...loraLayers, seed: seed + 13 })
        : null
    this.adapters = settings.method === 'adapter' ? new Adapters(model as TinyGpt, { size: settings.adapterSize, seed: seed + 17 }) : null
    const hooks = [this.lora?.hooks, this.adapters?.hooks].filter((h): h is ForwardHooks => !!h)
    this.hooks = hooks.length ? combineHooks(...hooks) : undefined
  }

  get parts(): { head?: ParamOwner; tuning: ParamOwner[] } {
    const tuning = [this.lora, this.adapters].filter((t): t is Lora | Adapters => t !== null)
    const head = this.multi ?? this.head
    return { ...(head ? { head } : {}), tuning }
  }

  counts(epoch: number): ParamCounts {
    return paramCounts(this.model, this.settings, epoch, this.parts)
  }

  dispose(): void {
    if (this.multi) this.multi.dispose()
    else this.head?.dispose()
    this.lora?.dispose()
    this.adapters?.dispose()
  }
}

export type Cache = FeatureCache

const EVAL_BATCH = 64
/** Rows per evaluation pass: 64, or fewer where the body says a pass of 64 would not fit
 *  (a 224 px MobileNet on the wasm heap). */
const evalBatch = (model: Body) => Math.min(EVAL_BATCH, model.rowsPerPass ?? EVAL_BATCH)
/**
 * Fine-tunes `model` on encoded data, minGPT-style: knows nothing of workers or React.
 * Frozen leading blocks are run once and their output cached (no dropout there), so
 * head-only and last-block runs cost a fraction of full fine-tuning per epoch.
 */
export async function fineTune(
  model: Body,
  tuning: Tuning,
  data: { train: Encoded; val: Encoded; zeroShot?: Metrics | null; zeroShotNote?: string }, // zeroShotNote: what the zero-shot score read, when less than the model
  s: Settings,
  control: RunControl,
  cb: FineTuneCallbacks = {},
  resume?: ResumeInput, // continue from a checkpoint of this run: same settings and data
): Promise<{ reason: DoneReason; summary: RunSummary; message: string }> {
  const t0 = Date.now()
  const { train, val } = data
  const nLayers = model.config.nLayers
  // The same count the learning-rate preview shows (settings/runSteps.ts).
  const { stepsPerEpoch, totalSteps } = runSteps(train.n, s)
  const optimizers: { vars: tf.Variable[]; opt: StudioOptimizer }[] = []
  // Image augmentation of training batches (never validation), seeded by run seed and step.
  const augment = train.kind === 'image' ? augmentOptions(s) : null
  const monitorMode = s.monitor === 'val_acc' && labelsOf(train) ? 'max' : 'min'
  // Plateau halving watches the Monitor setting, as early stopping and "restore best" do.
  const plateau = new ReduceLrOnPlateau({ patience: s.plateauPatience, mode: monitorMode })
  const early = new EarlyStopping({ patience: s.earlyStopPatience, mode: monitorMode })
  const watched = new Set<tf.Variable>() // everything that may change during the run
  for (let e = 0; e < s.epochs; e++) trainableVariables(model, s, e, tuning.parts).forEach((v) => watched.add(v))
  let best: Map<tf.Variable, tf.Tensor> | null = null
  let lastGood: Map<tf.Variable, tf.Tensor> | null = null
  let cache: Cache | null = null
  let step = 0
  let reason: DoneReason = 'finished'
  let message = ''
  let epochsDone = 0
  let lastVal: Metrics = { loss: NaN }

  const snapshot = () => new Map([...watched].map((v) => [v, tf.keep(v.clone())] as const))
  const restore = (m: Map<tf.Variable, tf.Tensor>) => m.forEach((t, v) => v.assign(t))
  const drop = (m: Map<tf.Variable, tf.Tensor> | null) => m?.forEach((t) => t.dispose())

  cb.onProgress?.('baseline', 0, 1, 'Evaluating the base model on the validation split')
  cache = planCache(model, tuning, train, val, s, 0, null)
  // Both sets on the device when they fit: a step gathers its batch with one index upload.
  const sources = { train: BatchSource.device(train), val: BatchSource.device(val) }
  const headBaseline = resume ? resume.loop.baseline : await evaluate(model, tuning, val, cache, 'val', sources.val)
  // The line to beat: classification takes the best of the majority class, the zero-shot LM
  // (scored by the caller) and the untrained head; regression the training mean.
  const { metrics: baseline, note: baseNote, name: baseName } = resume
    ? { metrics: resume.loop.baseline, note: resume.loop.baselineNote, name: resume.loop.baselineName ?? 'base model' }
    : val.kind === 'lm'
      ? { metrics: headBaseline, note: 'the pretrained model before fine-tuning', name: 'pretrained model' }
      : valuesOf(val)
        ? { ...regressionBaseline(valuesOf(val)!, headBaseline), name: 'training mean' }
        : lineToBeat(headBaseline, labelsOf(val)!.classes.length, data.zeroShot ?? null, majorityOf(train, val, tuning), data.zeroShotNote)
  cb.onBaseline?.(baseline, baseNote, baseName)
  const names = stableNames(model, tuning.parts)
  const decay = decayFlags(model, tuning.parts) // which weights take weight decay, as the model declares
  if (resume) {
    assignTensors(resume.weights, names)
    optimizers.push(...restoreOptimizers(resume.optimizer, names, s, decay))
    early.restore(resume.loop.early)
    plateau.restore(resume.loop.plateau)
    step = resume.loop.step
    epochsDone = resume.loop.epoch
    if (resume.bestWeights && s.restoreBest) best = tensorsByVariable(resume.bestWeights, names)
  }
  lastGood = snapshot()

  // Per-window timing for throughput and ETA; the first window includes warm-up.
  let windowStart = Date.now()
  let windowSamples = 0
  let windowLoss = 0
  let windowCount = 0
  let secPerStep = 0
  // Time left by phase: steps that fill the feature cache cost far more than cached ones (eta.ts).
  const eta = new EtaEstimator()
  const caches = (e: number) => {
    const p = cachePlan(model, tuning, s, e)
    return p.blocks > 0 || p.pooled
  }
  const samePlan = (a: number, b: number) => {
    const x = cachePlan(model, tuning, s, a)
    const y = cachePlan(model, tuning, s, b)
    return x.blocks === y.blocks && x.pooled === y.pooled
  }
  // Losses are read asynchronously, a group at a time (lossReads.ts): a blocking read per
  // step stalled the GPU backends' pipeline.
  const losses = new LossReader()

  try {
    for (let epoch = resume?.loop.epoch ?? 0; epoch < s.epochs && !control.stopped; epoch++) {
      const vars = trainableVariables(model, s, epoch, tuning.parts)
      // Parameter groups: a newly unfrozen set gets its own optimizer, the rest keep their moments.
      const known = new Set(optimizers.flatMap((g) => g.vars))
      const fresh = vars.filter((v) => !known.has(v))
      if (fresh.length) optimizers.push({ vars: fresh, opt: createOptimizer(s.optimizer, { weightDecay: s.weightDecay, momentum: s.momentum, decayMask: decay }) })
      const active = new Set(vars)
      cache = planCache(model, tuning, train, val, s, epoch, cache)

      const order = shuffleInPlace(Array.from({ length: train.n }, (_, i) => i), mulberry32(s.seed * 1009 + epoch))
      let trainLossSum = 0
      let trainCount = 0
      let lastLr = NaN // the rate this epoch's last step used: what the epoch event reports
      // Whether this epoch's steps fill the cache (its first epoch, or rows not cached yet), and
      // how many steps of later epochs will fill a new cache (a plan that changes, e.g. unfreezing).
      const fillingEpoch = !augment && cache.active && order.some((r) => !cache!.has('train', r))
      let laterCaching = 0
      for (let e = epoch + 1; e < s.epochs; e++) if (!augment && caches(e) && !samePlan(e, e - 1)) laterCaching += stepsPerEpoch
      const cachingLeft = (st: number) => (fillingEpoch ? stepsPerEpoch - st - 1 : 0) + laterCaching
      let stepMark = Date.now() // end of the last step (epoch-end validation is timed on its own)
      // Once per epoch, not per step: which of this epoch's gradients each optimizer updates.
      const at = new Map(vars.map((v, i) => [v, i] as const))
      const groups = optimizers.map((g) => ({ opt: g.opt, vars: g.vars.filter((v) => active.has(v)) })).filter((g) => g.vars.length)
      const groupGrads = groups.map((g) => g.vars.map((v) => at.get(v)!))
      /** Handles read losses in step order: divergence check, train loss and step events.
       *  'ready' waits only while too many reads are in flight; 'all' waits for every one
       *  (epoch end). False when the run diverged (the last good weights are restored). */
      const drain = async (mode: 'ready' | 'all'): Promise<boolean> => {
        for (const p of await losses.take(mode)) {
          const loss = p.loss
          if (!Number.isFinite(loss) || loss > 1e4) {
            reason = 'diverged'
            message = `Training diverged at step ${p.step} (loss ${Number.isFinite(loss) ? loss.toExponential(2) : String(loss)}). The weights from the last good epoch were kept. Lower the learning rate (now ${s.learningRate}) or turn on gradient clipping.`
            if (lastGood) restore(lastGood)
            return false
          }
          trainLossSum += loss * p.examples
          trainCount += p.examples
          windowLoss += loss
          windowCount++
          windowSamples += p.examples
          const elapsed = (Date.now() - windowStart) / 1000
          if (windowCount >= 1 && (elapsed > 0.25 || p.st === stepsPerEpoch - 1)) {
            const sps = windowSamples / Math.max(elapsed, 1e-3)
            secPerStep = secPerStep === 0 ? elapsed / windowCount : 0.7 * secPerStep + 0.3 * (elapsed / windowCount)
            cb.onStep?.({
              step: p.step,
              totalSteps,
              epoch,
              epochs: s.epochs,
              loss: windowLoss / windowCount,
              lr: p.lr,
              samplesPerSec: sps,
              etaSec: eta.remaining(totalSteps - p.step, cachingLeft(p.st), s.epochs - epoch),
            })
            windowStart = Date.now()
            windowSamples = 0
            windowLoss = 0
            windowCount = 0
          }
        }
        return true
      }
      for (let st = 0; st < stepsPerEpoch && !control.stopped; st++) {
        await control.checkpoint(() => cb.onState?.('paused'), () => {
          cb.onState?.('running')
          windowStart = Date.now()
          windowSamples = 0
          stepMark = Date.now() // a pause is no step's time
        })
        if (control.stopped) break
        let fillMs = 0
        const lr = plateau.apply(learningRateAt(step, totalSteps, { ...s, stepEvery: Math.max(1, s.stepEvery) * stepsPerEpoch }))
        lastLr = lr
        // Gradient accumulation: sum example-weighted grads over micro-batches, then one step.
        let gradSum: tf.Tensor[] | null = null
        let lossSum = 0
        let examples = 0
        let lossT: tf.Tensor | null = null // one micro-batch: read later with the others
        for (let m = 0; m < s.accumSteps; m++) {
          const start = (st * s.accumSteps + m) * s.batchSize
          if (start >= train.n) break
          const idx = order.slice(start, start + s.batchSize)
          // Augmented images differ at every step, so their frozen prefix cannot be cached.
          if (augment) await prefetchImages(train, idx)
          else {
            const f0 = Date.now()
            await fillCache(model, tuning, cache, sources.train, 'train', idx)
            fillMs += Date.now() - f0
          }
          const { value, grads } = tf.tidy(() => {
            const batch = augment ? augmentedBatch(model, tuning, sources.train, cache!, idx, augment, augmentSeed(s.seed, step, m)) : gatherBatch(sources.train, cache!, 'train', idx)
            const fn = () => lossOf(model, tuning, batch, cache!, s, true, microBatchSeed(s.seed, step, m))
            const r = tf.variableGrads(fn, vars)
            return { value: r.value, grads: vars.map((v) => r.grads[v.name]!) }
          })
          if (s.accumSteps === 1) {
            // No accumulation: the batch-mean grads as they are (no ×n then ÷n round trip).
            lossT = value
            gradSum = grads
            examples = idx.length
            break
          }
          const lossValue = (await value.data())[0] ?? NaN
          value.dispose()
          lossSum += lossValue * idx.length
          examples += idx.length
          if (gradSum === null) gradSum = grads.map((g) => tf.mul(g, idx.length))
          else {
            const next: tf.Tensor[] = gradSum.map((acc, i) => tf.add(acc, tf.mul(grads[i]!, idx.length)))
            tf.dispose(gradSum)
            gradSum = next
          }
          tf.dispose(grads)
        }
        if (!gradSum || examples === 0) {
          lossT?.dispose()
          break
        }
        const loss = lossSum / examples
        if (!lossT && (!Number.isFinite(loss) || loss > 1e4)) {
          tf.dispose(gradSum)
          reason = 'diverged'
          message = `Training diverged at step ${step + 1} (loss ${Number.isFinite(loss) ? loss.toExponential(2) : String(loss)}). The weights from the last good epoch were kept. Lower the learning rate (now ${s.learningRate}) or turn on gradient clipping.`
          if (lastGood) restore(lastGood)
          break
        }
        tf.tidy(() => {
          const mean = lossT ? gradSum! : gradSum!.map((g) => tf.div(g, examples))
          // Without clipping the global norm is not computed at all (it was work every step).
          const clipped = s.clipNorm > 0 ? clipByGlobalNorm(mean, s.clipNorm).grads : mean
          groups.forEach((g, k) => g.opt.step(groupGrads[k]!.map((i) => clipped[i]!), g.vars, lr))
        })
        tf.dispose(gradSum)
        step++
        const last = st === stepsPerEpoch - 1
        losses.push(lossT ?? loss, { examples, lr, step, st }, secPerStep, last)
        // A step's time runs from the last one's mark, so waiting for loss reads counts too.
        eta.step((Date.now() - stepMark) / 1000, fillMs / 1000)
        stepMark = Date.now()
        const mode = last ? 'all' : 'ready'
        if (losses.due(mode) && !(await drain(mode))) break
      }
      if (reason !== 'diverged' && losses.due('all') && !(await drain('all'))) break
      if (reason === 'diverged' || (control.stopped && trainCount === 0)) break
      const evalStart = Date.now()
      const valMetrics = await evaluate(model, tuning, val, cache, 'val', sources.val)
      eta.evaluation((Date.now() - evalStart) / 1000)
      lastVal = valMetrics
      const trainMetrics: Metrics = { loss: trainLossSum / Math.max(trainCount, 1) }
      if (train.kind === 'lm') trainMetrics.perplexity = perplexity(trainMetrics.loss)
      const monitored = monitorMode === 'max' ? (valMetrics.accuracy ?? 0) : valMetrics.loss
      const verdict = early.update(epoch, monitored)
      plateau.update(monitored)
      epochsDone = epoch + 1
      if (verdict.isBest && s.restoreBest) {
        drop(best)
        best = snapshot()
      }
      drop(lastGood)
      lastGood = snapshot()
      await cb.onEpoch?.({ epoch, train: trainMetrics, val: valMetrics, lr: lastLr, isBest: verdict.isBest })
      if (cb.onCheckpoint && trainCount === train.n) {
        const loop = { epoch: epoch + 1, step, early: early.state(), plateau: plateau.state(), baseline, baselineNote: baseNote, baselineName: baseName }
        await cb.onCheckpoint({ loop, weights: await readTensors(watched, names), optimizer: await readOptimizers(optimizers, names), train: trainMetrics, val: valMetrics, isBest: verdict.isBest, monitored, mode: monitorMode })
      }
      if (control.stopped) break
      if (verdict.stop && s.earlyStopPatience > 0) {
        reason = 'early-stopped'
        break
      }
    }
    if (control.stopped && reason === 'finished') reason = 'stopped'
    let bestMetrics = lastVal
    if (best && s.restoreBest && early.bestEpoch >= 0 && early.bestEpoch !== epochsDone - 1) {
      restore(best)
      bestMetrics = await evaluate(model, tuning, val, cache, 'val', sources.val)
    }
    const summary: RunSummary = {
      epochs: epochsDone,
      bestEpoch: Math.max(early.bestEpoch, 0),
      best: bestMetrics,
      baseline,
      baselineName: baseName,
      seconds: (Date.now() - t0) / 1000,
    }
    if (!message) message = describeEnd(reason, summary, val)
    return { reason, summary, message }
  } finally {
    await losses.dispose()
    sources.train.dispose()
    sources.val.dispose()
    drop(best)
    drop(lastGood)
    cache?.dispose()
    for (const g of optimizers) g.opt.dispose()
  }
}

/** Always answering the commonest training class; with several label columns, each task's
 *  own, averaged with the task weights as validation accuracy is. */
function majorityOf(train: Encoded, val: Encoded, tuning: Tuning): { metrics: Metrics; className: string } | null {
  const tasks = tasksOf(train)
  const valTasks = tasksOf(val)
  if (tasks && valTasks && tuning.multi) {
    const per = tasks.map((t, i) => majorityClass(t.labels, valTasks[i]!.labels, t.classes))
    const w = tuning.multi.weights
    const total = w.reduce((a, x) => a + x, 0) || 1
    const acc = per.reduce((a, p, i) => a + (w[i] ?? 1) * (p.metrics.accuracy ?? 0), 0) / total
    return { metrics: { loss: NaN, accuracy: acc }, className: per.map((p) => p.className).join(', ') }
  }
  const a = labelsOf(train)
  const b = labelsOf(val)
  return a && b ? majorityClass(a.labels, b.labels, a.classes) : null
}

function describeEnd(reason: DoneReason, s: RunSummary, val: Encoded): string {
  const epochs = `${s.epochs} epoch${s.epochs === 1 ? '' : 's'}`
  const metric =
    val.kind === 'lm'
      ? `best validation perplexity ${fmt(s.best.perplexity)} (line to beat: ${s.baselineName} ${fmt(s.baseline.perplexity)})`
      : valuesOf(val)
        ? `best validation RMSE ${fmtNum(s.best.rmse)} ${valuesOf(val)!.scale.name} (line to beat: ${s.baselineName} ${fmtNum(s.baseline.rmse)})`
        : `best validation accuracy ${pct(s.best.accuracy)} (line to beat: ${s.baselineName} ${pct(s.baseline.accuracy)})`
  const head = { finished: 'Training complete', stopped: 'Training stopped', 'early-stopped': 'Stopped early (validation stopped improving)', diverged: 'Training diverged' }[reason]
  return `${head} — ${epochs}, ${metric}`
}

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`)
const fmt = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(2))
const fmtNum = (x: number | undefined) => (x === undefined ? '–' : x.toPrecision(4))

/** Leading blocks to cache at this epoch, and whether the cache can hold final pooled features. */
function cachePlan(model: Body, tuning: Tuning, s: Settings, epoch: number): { blocks: number; pooled: boolean } {
  const n = model.config.nLayers
  const blocks = frozenPrefixBlocks(model, s, epoch, [tuning.lora, tuning.adapters].filter((t): t is Lora | Adapters => t !== null))
  const lnfFrozen = !trainableBlocks(n, s, epoch).has(n)
  return { blocks, pooled: blocks === n && lnfFrozen }
}

/** The cache for this epoch's frozen prefix: the old one while the plan is unchanged. */
function planCache(model: Body, tuning: Tuning, train: Encoded, val: Encoded, s: Settings, epoch: number, old: Cache | null): Cache {
  const plan = cachePlan(model, tuning, s, epoch)
  if (old && old.prefixBlocks === plan.blocks && old.pooled === plan.pooled) return old
  old?.dispose()
  return new FeatureCache(plan.blocks, plan.pooled, { train: train.n, val: val.n })
}

/** Runs the frozen prefix (no dropout, no gradient) for rows of `idx` not cached yet. */
async function fillCache(model: Body, tuning: Tuning, cache: Cache, source: BatchSource, side: 'train' | 'val', idx: number[]): Promise<void> {
  const set = source.set
  // Images stored outside memory are loaded here, before the synchronous tidy; cached rows are not loaded again.
  const need = cache.active ? idx.filter((r) => !cache.has(side, r)) : idx
  if (need.length) await prefetchImages(set, need)
  await cache.ensure(side, idx, model.rowsPerPass ?? 64, (part) => {
    const { tokens, mask } = source.inputs(part)
    return frozenPrefix(model, tuning, cache, tokens, mask, set.kind)
  })
}

/** What the cache holds for a batch of inputs: the frozen blocks' output, or pooled features. */
function frozenPrefix(model: Body, tuning: Tuning, cache: Cache, tokens: tf.Tensor, mask: tf.Tensor2D, kind: Encoded['kind']): tf.Tensor {
  if (!cache.pooled) return model.prefix(tokens, cache.prefixBlocks, { hooks: tuning.hooks })
  const hidden = model.forwardFrom(model.prefix(tokens, 0), 0, { hooks: tuning.hooks })
  return kind !== 'lm' ? model.pool(hidden, mask) : hidden
}

/** A training batch of augmented images: the raw pixels of `idx`, augmented on the device
 *  (engine/data/images/augment.ts), then run through the frozen prefix here instead of being
 *  read from the cache, in the form gatherBatch would give. Call inside tf.tidy, outside
 *  the gradient (the prefix is frozen). */
function augmentedBatch(model: Body, tuning: Tuning, source: BatchSource, cache: Cache, idx: number[], opts: AugmentOptions, seed: number): Batch {
  const set = source.set
  if (set.kind !== 'image') throw new Error('Augmentation applies to image data only')
  const rows = source.rows(idx, true)
  const mask = rows.inputs!.mask
  const pixels = augmentBatch(rows.inputs!.tokens as tf.Tensor4D, opts, seed, set.norm ?? SYMMETRIC)
  const input = cache.active ? frozenPrefix(model, tuning, cache, pixels, mask, set.kind) : pixels
  return { input, ...(cache.pooled ? {} : { mask }), ...(rows.labels ? { labels: rows.labels } : {}) }
}

interface Batch {
  input: tf.Tensor // tokens [B, T] int32, cached prefix [B, T, D] or pooled [B, D]
  mask?: tf.Tensor2D // [B, T]; absent when the cache holds pooled features (nothing left to pool)
  labels?: tf.Tensor1D // classification
  values?: tf.Tensor1D // regression: standardised targets
  targets?: tf.Tensor2D // lm: next ids [B, T]
  taskLabels?: Map<string, tf.Tensor1D> // multitask: labels per task name
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i)
}

/** A training or evaluation batch: the cached prefix or pooled features when the cache holds
 *  them, else the raw inputs, with the mask for pooling and the targets. */
function gatherBatch(source: BatchSource, cache: Cache, side: 'train' | 'val', idx: number[]): Batch {
  const set = source.set
  // Pooled features need neither tokens nor a mask: building them was two uploads per
  // head-only step for nothing. Cached image rows need no pixels (they may not be loaded).
  const cachedImages = cache.active && set.kind === 'image'
  const rows = source.rows(idx, !cache.pooled && !cachedImages)
  const mask = cache.pooled ? undefined : (rows.inputs?.mask ?? (tf.ones([idx.length, 1]) as tf.Tensor2D))
  const input = cache.active ? cache.gather(side, idx) : rows.inputs!.tokens
  const targets = rows.inputs?.targets
  return { input, ...(mask ? { mask } : {}), ...(rows.labels ? { labels: rows.labels } : {}), ...(rows.values ? { values: rows.values } : {}), ...(targets ? { targets } : {}), ...(rows.taskLabels ? { taskLabels: rows.taskLabels } : {}) }
}

/** Pooled features (with a head) or final hidden states, from whatever the cache computed. */
function featuresOf(model: Body, tuning: Tuning, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): tf.Tensor {
  const opts = { training, dropout: s.dropout, hooks: tuning.hooks, ...(seed === undefined ? {} : { seed }) }
  if (cache.pooled) return batch.input
  const x = cache.active ? batch.input : model.embed(batch.input, opts)
  const hidden = model.forwardFrom(x, cache.prefixBlocks, opts)
  return tuning.head ? model.pool(hidden, batch.mask!) : hidden
}

/** Logits for a batch, starting from whatever the cache already computed. */
function logitsOf(model: Body, tuning: Tuning, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): tf.Tensor {
  const features = featuresOf(model, tuning, batch, cache, s, training, seed)
  if (tuning.head) return tuning.head.apply(features as tf.Tensor2D, training, s.dropout, seed)
  if (!(model instanceof TinyGpt)) throw new Error('Language modelling needs the text transformer.')
  return model.lmLogits(features as tf.Tensor3D)
}

function lossOf(model: Body, tuning: Tuning, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): tf.Scalar {
  if (tuning.multi && batch.taskLabels) {
    // Multitask: the weighted sum of every head's loss on the shared features.
    const outputs = tuning.multi.apply(featuresOf(model, tuning, batch, cache, s, training, seed) as tf.Tensor2D, training, s.dropout, seed)
    return tuning.multi.loss(outputs, batch.taskLabels, training ? s.labelSmoothing : 0)
  }
  const logits = logitsOf(model, tuning, batch, cache, s, training, seed)
  if (batch.labels) return softmaxCrossEntropy(logits as tf.Tensor2D, batch.labels, training ? s.labelSmoothing : 0)
  if (batch.values) return headLoss('regression', logits as tf.Tensor2D, batch.values)
  return maskedTokenCrossEntropy(logits as tf.Tensor3D, batch.targets!, batch.mask!)
}

/** Loss and task metrics on a whole set, in batches, reading values with await. */
export async function evaluate(model: Body, tuning: Tuning, set: Encoded, cache: Cache, side: 'train' | 'val', source = BatchSource.host(set)): Promise<Metrics> {
  const tasks = tasksOf(set)
  if (tuning.multi && tasks) return evaluateTasks(model, tuning, tuning.multi, source, tasks, cache, side)
  if (valuesOf(set)) return evaluateRegression(model, tuning, source, valuesOf(set)!, cache, side)
  const lab = labelsOf(set)
  let lossSum = 0
  const preds: number[] = []
  const truth: number[] = []
  for (let start = 0, rows = evalBatch(model); start < set.n; start += rows) {
    const idx = range(start, Math.min(set.n, start + rows))
    await fillCache(model, tuning, cache, source, side, idx)
    const [lossT, predT] = tf.tidy(() => {
      const batch = gatherBatch(source, cache, side, idx)
      const logits = logitsOf(model, tuning, batch, cache, tuning.settings, false)
      if (batch.labels) return [softmaxCrossEntropy(logits as tf.Tensor2D, batch.labels, 0), tf.argMax(logits, 1)]
      return [maskedTokenCrossEntropy(logits as tf.Tensor3D, batch.targets!, batch.mask!), tf.scalar(0)]
    })
    lossSum += ((await lossT.data())[0] ?? NaN) * idx.length
    if (lab) {
      preds.push(...(await predT.data()))
      idx.forEach((r) => truth.push(lab.labels[r]!))
    }
    tf.dispose([lossT, predT])
  }
  const loss = lossSum / Math.max(set.n, 1)
  if (!lab) return { loss, perplexity: perplexity(loss) }
  const cm = confusionMatrix(truth, preds, lab.classes.length)
  return { loss, accuracy: accuracy(truth, preds), macroF1: macroF1(cm), confusion: cm }
}

/** Regression: MSE on standardised targets as the loss; MAE and RMSE in the target's units. */
async function evaluateRegression(model: Body, tuning: Tuning, source: BatchSource, target: NonNullable<ReturnType<typeof valuesOf>>, cache: Cache, side: 'train' | 'val'): Promise<Metrics> {
  const set = source.set
  const preds = new Float32Array(set.n)
  for (let start = 0, rows = evalBatch(model); start < set.n; start += rows) {
    const idx = range(start, Math.min(set.n, start + rows))
    await fillCache(model, tuning, cache, source, side, idx)
    const out = tf.tidy(() => logitsOf(model, tuning, gatherBatch(source, cache, side, idx), cache, tuning.settings, false).reshape([-1]))
    preds.set(await out.data(), start)
    out.dispose()
  }
  return regressionMetrics(preds, target.values, target.scale)
}

/** Multitask evaluation: each head's loss, accuracy and macro-F1 on its own label column. */
async function evaluateTasks(model: Body, tuning: Tuning, multi: MultiHead, source: BatchSource, tasks: TaskLabels[], cache: Cache, side: 'train' | 'val'): Promise<Metrics> {
  const set = source.set
  const lossSums = tasks.map(() => 0)
  const preds: number[][] = tasks.map(() => [])
  const truth: number[][] = tasks.map(() => [])
  for (let start = 0, rows = evalBatch(model); start < set.n; start += rows) {
    const idx = range(start, Math.min(set.n, start + rows))
    await fillCache(model, tuning, cache, source, side, idx)
    const parts = tf.tidy(() => {
      const batch = gatherBatch(source, cache, side, idx)
      const outputs = multi.apply(featuresOf(model, tuning, batch, cache, tuning.settings, false) as tf.Tensor2D, false)
      return tasks.map((t) => {
        const out = outputs.get(t.name)!
        return [softmaxCrossEntropy(out, batch.taskLabels!.get(t.name)!, 0), tf.argMax(out, 1)] as const
      })
    })
    for (const [i, [lossT, predT]] of parts.entries()) {
      lossSums[i]! += ((await lossT.data())[0] ?? NaN) * idx.length
      preds[i]!.push(...(await predT.data()))
      idx.forEach((r) => truth[i]!.push(tasks[i]!.labels[r]!))
    }
    tf.dispose(parts.flat())
  }
  return multitaskMetrics(tasks, multi.weights, truth, preds, lossSums.map((l) => l / Math.max(set.n, 1)))
}

export type { Param }
