import * as tf from '@tensorflow/tfjs'
import type { PoolingChoice, Settings } from '../../settings/types'
import type { Metrics } from '../types/metrics'
import type { DoneReason, EpochEvent, RunSummary, StepEvent } from '../types/run'
import { mulberry32, shuffleInPlace } from '../data/rng'
import type { Body } from '../models/body'
import type { TinyGpt, ForwardHooks, Param } from '../models/tinyGpt'
import { bodyKindOf } from '../bodies'
import { taskFor, type Task } from '../tasks'
import { Adapters, combineHooks } from '../tuning/adapters'
import { trainableVariables } from '../tuning/freeze'
import { Head } from '../tuning/heads'
import { Lora } from '../tuning/lora'
import type { ParamOwner } from '../tuning/namedVariable'
import { paramCounts, type ParamCounts } from '../tuning/paramCounts'
import { clipByGlobalNorm } from './clipping'
import { EarlyStopping } from './earlyStopping'
import { LossReader } from './lossReads'
import { createOptimizer, type StudioOptimizer } from './optimizers'
import { ReduceLrOnPlateau } from './plateau'
import { assignTensors, decayFlags, readOptimizers, readTensors, restoreOptimizers, stableNames, tensorsByVariable, type LoopCheckpoint, type ResumeInput } from './loopState'
import type { RunControl } from './runControl'
import { learningRateAt } from '../../shared/schedules'
import { multiHeadFor, type TaskLabels } from './multitaskData'
import type { MultiHead } from '../tuning/multitask'
import { IMAGE_BATCHES_AHEAD, loadImagesAhead, prefetchImages } from './imageBatches'
import { augmentOptions, augmentSeed } from '../data/images/augment'
import { BatchSource, hostBatchData } from './batchSource'
import { microBatchSeed } from './seeds'
import { EtaEstimator } from './eta'
import { runSteps } from '../../settings/runSteps'
import type { Encoded } from './encoded'
import { augmentedBatch, cachePlan, fillCache, gatherBatch, planCache, type Batch, type Cache } from './forward'
import { DataParallel, halfSeed, whyNotSplit, whyNotSplitPasses, type GradientPeer, type HalvesApart, type SplitTask } from './dataParallel'
import { headNeedOf } from './encoded'
import { DIVERGED_ABOVE, divergedLoss, lossWords } from './divergence'
import { ImpossibleLossError, impossibleLossMessage, impossibleLossWhy, nonFiniteHeldOutMessage, webgpuFaultMessage, type LossAt } from './impossibleLoss'
import { webgpuFaultMark, webgpuFaultSince, WebgpuFaultError } from '../webgpuFaults'

export type { Encoded }

export type { EpochEvent } // declared with the other run events in engine/types/run.ts

/** A second worker for the run (dataParallel.ts): each micro-batch's gradient is computed
 *  half here, half there, when the run can be split. */
export interface ParallelOptions {
  /** The other engine workers (one or more): each computes its share of every batch. */
  peer: GradientPeer | readonly GradientPeer[]
  /** Once, before the first step: null when the run is split over both workers, else why not. */
  onPlan?: (whyNot: string | null) => void
  /** Another worker failed: its shares are computed here from then on, with the same numbers
   *  (`count`: how many of how many workers have failed). */
  onPeerLost?: (message: string, count?: { lost: number; workers: number }) => void
  /** Whether the run's inference passes (the feature cache's frozen blocks, the base model's
   *  and each epoch's evaluation) are halved between the workers too; false only for
   *  comparisons (bench/dataParallelBrowser.mjs). Default true. */
  passes?: boolean
  /** The split, where the caller made it before the loop (splitRun) to halve a pass of its
   *  own (the zero-shot baseline); the caller then disposes it. */
  split?: DataParallel | null
}

/** The run's split over two workers (dataParallel.ts), or null when it trains on one; tells
 *  `onPlan` once. */
/** A split step's halves built apart (dataParallel.ts HalvesApart): the replica's rows copied
 *  from the host arrays, the first worker's too on wasm (a copy and one upload: 0.1 ms for 8
 *  emoji-cnn images in Node, where tfjs-wasm's Gather from the set kept on the device took 0.8
 *  ms), else gathered on the device; the same rows and values as the whole batch sliced at n0. */
function halvesApart(source: BatchSource, cache: Cache, idx: number[]): HalvesApart {
  return {
    rows: idx.length,
    mine: (n0) => {
      const host = tf.getBackend() === 'wasm' ? hostBatchData(source.set, idx.slice(0, n0)) : null
      if (!host) return gatherBatch(source, cache, 'train', idx.slice(0, n0))
      return Object.fromEntries(Object.entries(host).map(([k, t]) => [k, tf.tensor(t.data, t.shape, t.dtype)])) as unknown as Batch
    },
    theirs: (n0) => hostBatchData(source.set, idx.slice(n0)),
  }
}

export function splitRun(model: Body, tuning: Tuning, train: Encoded, s: Settings, parallel?: ParallelOptions): DataParallel | null {
  if (parallel?.split !== undefined) return parallel.split
  const task = taskFor(train, tuning)
  const whyNot = parallel ? whyNotSplit(model, tuning, s, task) : 'no second worker'
  // A head-only run (or a batch of one) splits its inference passes only.
  const passesToo = parallel && parallel.passes !== false && !whyNotSplitPasses(model, tuning, s, task)
  const need = headNeedOf(train)
  const dp = parallel && (!whyNot || passesToo) && need !== null ? new DataParallel(parallel.peer, model, tuning, s, task.name as SplitTask, need, parallel.onPeerLost) : null
  if (dp) dp.splitsSteps = !whyNot
  parallel?.onPlan?.(dp?.splitsSteps ? null : whyNot)
  return dp
}

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
  /** What the head reads of an encoder's token states (the `pooling` setting; a run recorded
   *  before the setting existed has none: 'auto'). Bodies without a choice ignore it. */
  readonly pooling: PoolingChoice

  constructor(
    readonly model: Body,
    readonly settings: Settings,
    need: number | 'regression' | null, // classes of a classification head, one number, or no head (LM)
    tasks?: readonly Pick<TaskLabels, 'name' | 'classes'>[],
  ) {
    const seed = settings.seed
    this.pooling = settings.pooling ?? 'auto'
    this.multi = tasks && tasks.length > 1 ? multiHeadFor(model.featureDim, tasks, settings.taskWeights, seed + 11) : null
    this.head = this.multi
      ? this.multi.heads[0]!
      : need === null
        ? null
        : need === 'regression'
          ? new Head({ name: 'task', kind: 'regression', inputDim: model.featureDim, ...model.headStructure?.(this.pooling) }, seed + 11)
          : new Head({ name: 'task', kind: 'classification', inputDim: model.featureDim, numClasses: need, ...model.headStructure?.(this.pooling) }, seed + 11)
    // Where LoRA and adapters go is the body's to say (engine/bodies/).
    const kind = bodyKindOf(model)
    const placement = settings.method === 'lora' ? kind.loraPlacement(model, settings) : null
    if ((settings.method === 'lora' && !placement) || (settings.method === 'adapter' && !kind.adapters)) {
      throw new Error(`${settings.method} is available for the text transformer only; choose another method for this model.`)
    }
    this.lora = placement ? new Lora(model, { rank: settings.loraRank, alpha: settings.loraAlpha, dropout: settings.loraDropout, ...placement, seed: seed + 13 }) : null
    this.adapters = settings.method === 'adapter' ? new Adapters(model as TinyGpt, { size: settings.adapterSize, seed: seed + 17 }) : null
    const hooks = [this.lora?.hooks, this.adapters?.hooks].filter((h): h is ForwardHooks => !!h)
    this.hooks = hooks.length ? combineHooks(...hooks) : undefined
  }

  /** The variables this epoch's steps train, with their names (set by the loop at the start
   *  of each epoch; see `ForwardOptions.trainable`). */
  trainable: ReadonlyMap<tf.Variable, string> | null = null

  /** `active` with the names the model and the tuning pieces give each variable. */
  namesOf(active: ReadonlySet<tf.Variable>): Map<tf.Variable, string> {
    const names = new Map<tf.Variable, string>()
    const { head, tuning } = this.parts
    for (const p of [...this.model.params, ...(head?.params ?? []), ...tuning.flatMap((t) => t.params)]) if (active.has(p.variable)) names.set(p.variable, p.name)
    return names
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

export type { Cache }
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
  parallel?: ParallelOptions,
): Promise<{ reason: DoneReason; summary: RunSummary; message: string }> {
  const t0 = Date.now()
  const deviceMark = webgpuFaultMark() // WebGPU's errors from here on stop the run (checkDevice)
  const { train, val } = data
  const nLayers = model.config.nLayers
  // The same count the learning-rate preview shows (settings/runSteps.ts).
  const { stepsPerEpoch, totalSteps } = runSteps(train.n, s)
  const optimizers: { vars: tf.Variable[]; opt: StudioOptimizer }[] = []
  // Image augmentation of training batches (never validation), seeded by run seed and step.
  const augment = train.kind === 'image' ? augmentOptions(s) : null
  // What the run learns and how it is judged (engine/tasks/): the loop asks, never branches.
  const task = taskFor(train, tuning)
  // Two workers, each half of every micro-batch (dataParallel.ts), when the run can be split;
  // and half the rows of every inference pass (inferencePasses.ts) unless asked not to.
  const dp = splitRun(model, tuning, train, s, parallel)
  const ownsSplit = parallel?.split === undefined
  const passes = parallel?.passes === false ? null : dp
  const monitorMode = s.monitor === 'val_acc' && task.hasAccuracy ? 'max' : 'min'
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
  let stoppedAt: number | null = null // the epoch (from 1) a stop came inside
  let lastValMetrics: Metrics = { loss: NaN }

  const snapshot = () => new Map([...watched].map((v) => [v, tf.keep(v.clone())] as const))
  const restore = (m: Map<tf.Variable, tf.Tensor>) => {
    m.forEach((t, v) => v.assign(t))
    dp?.markDirty(m.keys())
  }
  const drop = (m: Map<tf.Variable, tf.Tensor> | null) => m?.forEach((t) => t.dispose())
  /** Stops the run on a loss its objective cannot produce (a backend computing garbage
   *  without an error: impossibleLoss.ts), the last good weights put back. */
  /** Stops the run when the GPU reported errors since it started (webgpuFaults.ts): the loss
   *  just read came from kernels that did not all run, however ordinary it looks. */
  const checkDevice = (at: LossAt) => {
    const fault = webgpuFaultSince(deviceMark)
    if (fault === null) return
    if (lastGood && !fault.lost) restore(lastGood)
    const kept = fault.lost ? 'the weights were on the GPU and are gone; your dataset and checkpoints are kept' : at.kind === 'untrained' ? 'before its first step; nothing was changed' : epochsDone > 0 ? `the weights after epoch ${epochsDone}, the last good one, were kept` : 'the weights from before the run were kept'
    throw new WebgpuFaultError(webgpuFaultMessage(fault, at, kept), fault.first, fault.lost)
  }
  const checkPossible = (value: number, at: LossAt) => {
    checkDevice(at)
    const why = impossibleLossWhy(task.lossRange, value, at)
    if (why === null) return
    if (lastGood) restore(lastGood)
    const kept = at.kind === 'untrained' ? 'before its first step; nothing was changed' : epochsDone > 0 ? `the weights after epoch ${epochsDone}, the last good one, were kept` : 'the weights from before the run were kept'
    throw new ImpossibleLossError(impossibleLossMessage(backendNow(), value, at, why, kept))
  }

  cb.onProgress?.('baseline', 0, 1, 'Evaluating the base model on the validation split')
  cache = planCache(model, tuning, train, val, s, 0, null)
  // Both sets on the device when they fit: a step gathers its batch with one index upload.
  const sources = { train: BatchSource.device(train), val: BatchSource.device(val) }
  // Each epoch's order of the training rows.
  const epochOrder = (epoch: number) => shuffleInPlace(Array.from({ length: train.n }, (_, i) => i), mulberry32(s.seed * 1009 + epoch))
  // Stored images: the validation rows the first evaluation reads, then the first epoch's first
  // batches, start loading now, many at a time, instead of batch by batch as each is asked for
  // (imageBatches.ts loadImagesAhead; the same pixels).
  if (!resume && val.kind === 'image') loadImagesAhead(val, Array.from({ length: val.n }, (_, i) => i), s.batchSize)
  if (train.kind === 'image') loadImagesAhead(train, epochOrder(resume?.loop.epoch ?? 0).slice(0, s.batchSize * (1 + IMAGE_BATCHES_AHEAD)), s.batchSize)
  const untrained = resume ? resume.loop.baseline : await task.evaluate(model, tuning, sources.val, cache, 'val', passes)
  // The line to beat: classification takes the best of the majority class, the zero-shot LM
  // (scored by the caller) and the untrained head; regression the training mean.
  const { metrics: baseline, note: baseNote, name: baseName } = resume
    ? { metrics: resume.loop.baseline, note: resume.loop.baselineNote, name: resume.loop.baselineName ?? 'base model' }
    : task.baseline({ untrained, train, val, tuning, zeroShot: data.zeroShot ?? null, ...(data.zeroShotNote ? { zeroShotNote: data.zeroShotNote } : {}) })
  cb.onBaseline?.(baseline, baseNote, baseName)
  const names = stableNames(model, tuning.parts)
  const decay = decayFlags(model, tuning.parts) // which weights take weight decay, as the model declares
  if (resume) {
    assignTensors(resume.weights, names)
    dp?.markDirty(names.keys()) // the replica may have evaluated the weights before these
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
  let stepPosted = false // whether this run (or this continuation of one) has posted a step yet
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
    // in the try: its finally disposes the sets and the cache
    if (!resume) {
      // NaN or Infinity before any update is not divergence (nothing was trained): a backend
      // fault or weights that are not finite; the run cannot start from it.
      checkDevice({ kind: 'untrained' })
      if (!Number.isFinite(untrained.loss)) throw new ImpossibleLossError(nonFiniteHeldOutMessage(backendNow(), untrained.loss))
      checkPossible(untrained.loss, { kind: 'untrained' })
    }
    for (let epoch = resume?.loop.epoch ?? 0; epoch < s.epochs && !control.stopped; epoch++) {
      const vars = trainableVariables(model, s, epoch, tuning.parts)
      // Parameter groups: a newly unfrozen set gets its own optimizer, the rest keep their moments.
      const known = new Set(optimizers.flatMap((g) => g.vars))
      const fresh = vars.filter((v) => !known.has(v))
      if (fresh.length) optimizers.push({ vars: fresh, opt: createOptimizer(s.optimizer, { weightDecay: s.weightDecay, momentum: s.momentum, decayMask: decay }) })
      const active = new Set(vars)
      tuning.trainable = tuning.namesOf(active)
      cache = planCache(model, tuning, train, val, s, epoch, cache)

      const order = epochOrder(epoch)
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
        const read = await losses.take(mode)
        for (const [i, p] of read.entries()) {
          const loss = p.loss
          checkDevice({ kind: 'step', step: p.step, untrained: p.step === 1 && !resume })
          if (divergedLoss(loss)) {
            reason = 'diverged'
            message = `Training diverged at step ${p.step} (loss ${lossWords(loss)}). The weights from the last good epoch were kept. Lower the learning rate (now ${s.learningRate}) or turn on gradient clipping.`
            if (lastGood) restore(lastGood)
            return false
          }
          checkPossible(loss, { kind: 'step', step: p.step, untrained: p.step === 1 && !resume })
          trainLossSum += loss * p.examples
          trainCount += p.examples
          windowLoss += loss
          windowCount++
          windowSamples += p.examples
          const elapsed = (Date.now() - windowStart) / 1000
          // The run's first step is posted at once, so its chart has a point as soon as there is a
          // loss, and a run whose steps all fit in one window still draws more than its last one.
          const first = !stepPosted
          // 'all' reads everything before an epoch's end or a stop: its last step is posted too,
          // so the chart and the step count end where the loop did (a stop inside an epoch
          // otherwise dropped the steps of the last window, up to 0.25 s of them).
          const closes = mode === 'all' && i === read.length - 1
          if (windowCount >= 1 && (first || elapsed > 0.25 || p.st === stepsPerEpoch - 1 || closes)) {
            const sps = windowSamples / Math.max(elapsed, 1e-3)
            // The first step's time is mostly warm-up: it sizes no loss-read group.
            if (!first) secPerStep = secPerStep === 0 ? elapsed / windowCount : 0.7 * secPerStep + 0.3 * (elapsed / windowCount)
            stepPosted = true
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
          // Stored images: this step's rows, then the next IMAGE_BATCHES_AHEAD batches' start
          // loading now (at most imageBatches.ts AHEAD_BYTES of them), so the loads run while the
          // steps compute; rows whose frozen prefix is cached are not loaded.
          if (train.kind === 'image') {
            const uncached = (rows: number[]) => (augment || !cache!.active ? rows : rows.filter((r) => !cache!.has('train', r)))
            loadImagesAhead(train, uncached(idx), s.batchSize)
            loadImagesAhead(train, uncached(order.slice(start + s.batchSize, start + s.batchSize * (1 + IMAGE_BATCHES_AHEAD))), s.batchSize)
          }
          // Augmented images differ at every step, so their frozen prefix cannot be cached.
          if (augment) await prefetchImages(train, idx)
          else {
            const f0 = Date.now()
            await fillCache(model, tuning, cache, sources.train, 'train', idx, passes)
            fillMs += Date.now() - f0
          }
          const makeBatch = () => (augment ? augmentedBatch(model, tuning, sources.train, cache!, idx, augment, augmentSeed(s.seed, step, m)) : gatherBatch(sources.train, cache!, 'train', idx))
          const { value, grads } = dp?.splitsSteps
            ? await dp.gradients(vars, makeBatch, cache, Array.from({ length: dp.workers }, (_, k) => halfSeed(s.seed, step, m, k)), augment || cache.active ? undefined : halvesApart(sources.train, cache, idx))
            : tf.tidy(() => {
                const batch = makeBatch()
                const fn = () => task.loss(model, tuning, batch, cache!, s, true, microBatchSeed(s.seed, step, m))
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
          // In tidy: a number multiplied in becomes a tensor, and the product before the sum is
          // one more; outside a tidy both stayed (hundreds of tensors a run with accumulation).
          const prev = gradSum as tf.Tensor[] | null
          gradSum = tf.tidy(() => (prev === null ? grads.map((g) => tf.mul(g, idx.length)) : prev.map((acc, i) => tf.add(acc, tf.mul(grads[i]!, idx.length)))))
          if (prev) tf.dispose(prev)
          tf.dispose(grads)
        }
        if (!gradSum || examples === 0) {
          lossT?.dispose()
          break
        }
        const loss = lossSum / examples
        if (!lossT) {
          try {
            checkDevice({ kind: 'step', step: step + 1, untrained: step === 0 && !resume })
          } catch (e) {
            tf.dispose(gradSum)
            throw e
          }
        }
        if (!lossT && divergedLoss(loss)) {
          tf.dispose(gradSum)
          reason = 'diverged'
          message = `Training diverged at step ${step + 1} (loss ${lossWords(loss)}). The weights from the last good epoch were kept. Lower the learning rate (now ${s.learningRate}) or turn on gradient clipping.`
          if (lastGood) restore(lastGood)
          break
        }
        if (!lossT) {
          try {
            checkPossible(loss, { kind: 'step', step: step + 1, untrained: step === 0 && !resume })
          } catch (e) {
            tf.dispose(gradSum)
            throw e
          }
        }
        tf.tidy(() => {
          const mean = lossT ? gradSum! : gradSum!.map((g) => tf.div(g, examples))
          // Without clipping the global norm is not computed at all (it was work every step).
          const clipped = s.clipNorm > 0 ? clipByGlobalNorm(mean, s.clipNorm).grads : mean
          groups.forEach((g, k) => g.opt.step(groupGrads[k]!.map((i) => clipped[i]!), g.vars, lr))
        })
        dp?.markDirty(vars)
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
      // Stopped partway through this epoch: it is measured and counted, but its end says where.
      if (control.stopped && trainCount < train.n) stoppedAt = epoch + 1
      const evalStart = Date.now()
      const valMetrics = await task.evaluate(model, tuning, sources.val, cache, 'val', passes)
      eta.evaluation((Date.now() - evalStart) / 1000)
      // Every step loss of the epoch passed the divergence rule (checked above), but the weights
      // its last updates made can still overflow, or score far off, on the validation rows: the
      // same rule makes that divergence too, and the epoch must not count (nor be snapshotted as
      // the last good one, nor end "complete").
      checkDevice({ kind: 'validation', epoch: epoch + 1 })
      if (divergedLoss(valMetrics.loss)) {
        reason = 'diverged'
        const kept = epochsDone > 0 ? `The weights after epoch ${epochsDone}, the last good one, were kept` : 'The weights from before the run were kept'
        const v = valMetrics.loss
        const why = Number.isFinite(v)
          ? `its training losses were below ${DIVERGED_ABOVE.toLocaleString('en-US')}, but the validation loss after it was ${lossWords(v)} (above ${DIVERGED_ABOVE.toLocaleString('en-US')}, where the loop stops a run), so the weights its last updates made are far off`
          : `its training losses were finite, but the validation loss after it was ${String(v)}, so the weights its last updates made no longer give finite outputs`
        message = `Training diverged in epoch ${epoch + 1}: ${why}. ${kept}. Lower the learning rate (now ${s.learningRate}) or turn on gradient clipping.`
        if (lastGood) restore(lastGood)
        break
      }
      checkPossible(valMetrics.loss, { kind: 'validation', epoch: epoch + 1 })
      lastValMetrics = valMetrics
      const trainMetrics: Metrics = task.trainMetrics(trainLossSum / Math.max(trainCount, 1))
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
    let bestMetrics = lastValMetrics
    if (best && s.restoreBest && early.bestEpoch >= 0 && early.bestEpoch !== epochsDone - 1) {
      restore(best)
      bestMetrics = await task.evaluate(model, tuning, sources.val, cache, 'val', passes)
    }
    const summary: RunSummary = {
      epochs: epochsDone,
      bestEpoch: Math.max(early.bestEpoch, 0),
      best: bestMetrics,
      baseline,
      baselineName: baseName,
      seconds: (Date.now() - t0) / 1000,
    }
    if (!message) message = describeEnd(task, reason, summary, val, reason === 'stopped' && stoppedAt ? { epoch: stoppedAt, epochs: s.epochs } : null)
    return { reason, summary, message }
  } finally {
    await losses.dispose()
    sources.train.dispose()
    sources.val.dispose()
    drop(best)
    drop(lastGood)
    cache?.dispose()
    if (ownsSplit) dp?.dispose()
    for (const g of optimizers) g.opt.dispose()
  }
}

/** The running backend's name, or undefined (none set up yet). */
function backendNow(): string | undefined {
  try {
    return tf.getBackend()
  } catch {
    return undefined
  }
}

function describeEnd(task: Task, reason: DoneReason, s: RunSummary, val: Encoded, midEpoch: { epoch: number; epochs: number } | null): string {
  const count = (n: number) => `${n} epoch${n === 1 ? '' : 's'}`
  // A stop inside an epoch: "2 epochs" would claim the unfinished one was trained.
  const epochs = midEpoch ? `in epoch ${midEpoch.epoch} of ${midEpoch.epochs} (${midEpoch.epoch > 1 ? `${count(midEpoch.epoch - 1)} trained in full` : 'none trained in full'})` : count(s.epochs)
  const head = { finished: 'Training complete', stopped: 'Training stopped', 'early-stopped': 'Stopped early (validation stopped improving)', diverged: 'Training diverged' }[reason]
  return `${head} — ${epochs}, ${task.describeBest(s, val)}`
}

/** Loss and task metrics on a whole set, in batches, reading values with await; with `split`
 *  each batch's rows halved over the two workers (evaluationSplit.ts). */
export async function evaluate(model: Body, tuning: Tuning, set: Encoded, cache: Cache, side: 'train' | 'val', source = BatchSource.host(set), split?: DataParallel | null): Promise<Metrics> {
  return taskFor(set, tuning).evaluate(model, tuning, source, cache, side, split)
}

export type { Param }
