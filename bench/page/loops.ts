/** The two loops the benchmark compares on the same work: the studio's own (fineTune) and
 *  the leanest loop we can write around optimizer.minimize. */
import * as tf from '@tensorflow/tfjs'
import type { Body } from '../../src/engine/models/body'
import { fineTune, Tuning } from '../../src/engine/train/fineTune'
import { RunControl } from '../../src/engine/train/runControl'
import { frozenPrefixBlocks, trainableBlocks, trainableVariables } from '../../src/engine/tuning/freeze'
import { DEFAULTS } from '../../src/settings/schema'
import type { Settings } from '../../src/settings/types'
import { inputTensors, slice, type BenchMethod, type Rows, type Workload } from './workloads'

export const now = () => performance.now()
const LOSS_READ_EVERY = 8
/** Distinct rows on the fast backends (bench/run.mjs uses fewer on the slow ones). */
export const MAX_ROWS = 512

/** Rows for `steps` batches of `batchSize`, at most `maxRows` (a whole number of batches):
 *  loops cycle through them. More rows cost their feature cache up front (a forward pass per
 *  row), and a sub-millisecond head-only step needs thousands of steps to be timed at all. */
export function distinctRows(steps: number, batchSize: number, maxRows: number): number {
  return Math.max(batchSize, Math.min(steps * batchSize, Math.floor(maxRows / batchSize) * batchSize))
}

/** Settings shared by the studio run and the reference: everything that adds work beyond
 *  the plain step (dropout, clipping, weight decay, schedules, accumulation) is off, so the
 *  ratio measures the loop, not extra features. */
export function benchSettings(w: Workload, method: BenchMethod, batchSize: number, seqLen: number, epochs: number): Settings {
  return {
    ...DEFAULTS,
    ...w.method(method),
    batchSize,
    seqLen,
    epochs,
    dropout: 0,
    loraDropout: 0,
    clipNorm: 0,
    optimizer: 'adam',
    weightDecay: 0,
    labelSmoothing: 0,
    warmupSteps: 0,
    schedule: 'constant',
    plateauPatience: 0,
    earlyStopPatience: 0,
    restoreBest: false,
    accumSteps: 1,
    unfreezeEvery: 0,
    headFirstEpochs: 0,
  }
}

/** Leading blocks the studio caches for this method, and whether it caches pooled features. */
export function planOf(model: Body, tuning: Tuning, s: Settings) {
  const n = model.config.nLayers
  const blocks = frozenPrefixBlocks(model, s, 0, [tuning.lora, tuning.adapters].filter((t) => t !== null))
  return { blocks, pooled: blocks === n && !trainableBlocks(n, s, 0).has(n) }
}

export interface LeanRun {
  steps: number
  stepMs: number
  peakBytes: number
  trainableParams: number
  kernelsPerStep: number // kernels one step runs (tf.profile of the warm-up step)
  /** Of them, those touching a tensor of 1,000 elements or more: what tfjs' webgpu backend
   *  dispatches to the GPU (smaller ones whose data is on the CPU it runs with cpu kernels). */
  largeKernelsPerStep: number
  /** With `profileSteps`: that many further steps under tf.profile, after the timed ones:
   *  milliseconds a step per kernel name (wasm runs kernels synchronously, so this is each
   *  kernel's wall time) and the steps' own wall time, the rest being JavaScript between them. */
  profile?: { stepMs: number; kernelMs: Record<string, number>; matMulMs: Record<string, number> }
}

const elements = (shape: number[] | null) => (shape ?? []).reduce((a, b) => a * b, 1)

/** The leanest loop for the same work: the same frozen-prefix cache as the studio (computed
 *  once, outside the timing), every batch gathered on the device, then
 *  optimizer.minimize over the same variables; losses read every 8 steps and after the last.
 *  No metrics, events, shuffling or yields. */
export async function referenceLoop(w: Workload, s: Settings, budgetSec: number, maxSteps: number, minSteps: number, maxRows: number, profileSteps = 0): Promise<LeanRun> {
  const model = w.model
  const tuning = new Tuning(model, s, w.classes)
  const vars = trainableVariables(model, s, 0, tuning.parts)
  const opt = tf.train.adam(s.learningRate)
  const plan = planOf(model, tuning, s)
  const B = s.batchSize
  const rows = distinctRows(maxSteps + 3 + profileSteps, B, maxRows)
  const { x, mask, labels } = inputTensors(slice(w.all, 0, rows))
  const part = (t: tf.Tensor, a: number, n: number) => t.slice([a, ...t.shape.slice(1).map(() => 0)], [n, ...t.shape.slice(1)])
  // The cache in chunks of 64 rows: all rows at once kept every block's activations alive
  // together and ran the wasm heap out of memory at 120 steps.
  const cacheRows = (a: number, b: number) =>
    tf.tidy(() => {
      const input = part(x, a, b - a)
      const m = mask ? (part(mask, a, b - a) as tf.Tensor2D) : null
      return plan.pooled ? model.pool(model.forwardFrom(model.prefix(input, 0), 0), m) : model.prefix(input, plan.blocks)
    })
  const chunks: tf.Tensor[] = []
  if (plan.blocks > 0 || plan.pooled) for (let a = 0; a < rows; a += 64) chunks.push(cacheRows(a, Math.min(rows, a + 64)))
  const cache = chunks.length ? tf.concat(chunks) : null
  tf.dispose(chunks)
  let unread: tf.Tensor[] = []
  const oneStep = async (i: number, read = true) => {
    const cost = opt.minimize(
      () => {
        const from = (i * B) % rows // batches cycle through the distinct rows
        const idx = tf.range(from, from + B, 1, 'int32')
        const m = mask ? (tf.gather(mask, idx) as tf.Tensor2D) : null
        const opts = { ...(tuning.hooks ? { hooks: tuning.hooks } : {}), training: true }
        let feats: tf.Tensor2D
        if (plan.pooled) feats = tf.gather(cache!, idx) as tf.Tensor2D
        else {
          const start = cache ? tf.gather(cache, idx) : model.embed(tf.gather(x, idx), opts)
          feats = model.pool(model.forwardFrom(start, plan.blocks, opts), m)
        }
        const logits = tuning.head!.apply(feats, true)
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.gather(labels, idx), w.classes), logits) as tf.Scalar
      },
      true,
      vars,
    )!
    unread.push(cost)
    if (!read) return
    await Promise.all(unread.map((c) => c.data()))
    tf.dispose(unread)
    unread = []
  }
  try {
    // Warm-up (kernel compilation) under tf.profile: the transient peak of one step.
    const prof = await tf.profile(() => oneStep(0))
    let t = now()
    await oneStep(1)
    const estimate = now() - t
    const steps = Math.max(minSteps, Math.min(maxSteps, Math.round((budgetSec * 1000) / Math.max(estimate, 1))))
    t = now()
    for (let i = 0; i < steps; i++) await oneStep(2 + i, (i + 1) % LOSS_READ_EVERY === 0 || i === steps - 1)
    const stepMs = (now() - t) / steps
    let profile: LeanRun['profile']
    if (profileSteps > 0) {
      const kernelMs: Record<string, number> = {}
      const matMulMs: Record<string, number> = {} // BatchMatMul by its input shapes
      t = now()
      for (let i = 0; i < profileSteps; i++) {
        const p = await tf.profile(() => oneStep(2 + steps + i))
        // Backend kernels only: a custom gradient's 'forward' wraps kernels that are listed too.
        for (const k of p.kernels) {
          if (!tf.getKernel(k.name, tf.getBackend())) continue
          kernelMs[k.name] = (kernelMs[k.name] ?? 0) + Number(k.kernelTimeMs) / profileSteps
          if (k.name === 'BatchMatMul') {
            const key = k.inputShapes.map((x) => `[${(x ?? []).join(',')}]`).join('·')
            matMulMs[key] = (matMulMs[key] ?? 0) + Number(k.kernelTimeMs) / profileSteps
          }
        }
      }
      profile = { stepMs: (now() - t) / profileSteps, kernelMs, matMulMs }
    }
    return { steps, stepMs, ...(profile ? { profile } : {}), peakBytes: prof.peakBytes, trainableParams: vars.reduce((n, v) => n + v.size, 0), kernelsPerStep: prof.kernels.length, largeKernelsPerStep: prof.kernels.filter((k) => [...k.inputShapes, ...k.outputShapes].some((x) => elements(x) >= 1000)).length }
  } finally {
    tf.dispose([x, labels, ...(mask ? [mask] : []), ...unread, ...(cache ? [cache] : [])])
    opt.dispose()
    tuning.dispose()
  }
}

/** Stamps every step boundary of the studio loop (it calls checkpoint() before each step). */
class TimedControl extends RunControl {
  stamps: number[] = []
  bytes: number[] = []
  override async checkpoint(onPause?: () => void, onResume?: () => void): Promise<void> {
    this.stamps.push(now())
    this.bytes.push(tf.memory().numBytes)
    return super.checkpoint(onPause, onResume)
  }
}

export interface StudioRun {
  stepMs: number
  firstEpochStepMs: number
  intervals: number[]
  setupMs: number
  residentBytes: number
}

/** The studio's own loop over the same rows. Methods with a feature cache fill it lazily in
 *  a first, untimed epoch. Steps are timed epoch by epoch, from the first step's start to the
 *  read of the epoch's last loss, leaving out what happens between epochs (validation,
 *  snapshots, callbacks), which the lean loop does not do; without a cache the first epoch
 *  is timed from the first loss read after the warm-up step. */
export async function studioLoop(w: Workload, s0: Settings, steps: number, cached: boolean, maxRows: number): Promise<StudioRun> {
  const B = s0.batchSize
  const rows = distinctRows(steps + (cached ? 0 : 2), B, maxRows)
  const spe = rows / B // steps per epoch
  const timedEpochs = cached ? Math.ceil(steps / spe) : Math.ceil((steps + 2) / spe)
  const s = { ...s0, epochs: (cached ? 1 : 0) + timedEpochs }
  const tuning = new Tuning(w.model, s, w.classes)
  const control = new TimedControl()
  const train = slice(w.all, 0, rows)
  const val = slice(w.all, Math.floor(w.all.n * 0.8), 8)
  const stepAt = new Map<number, number>() // step number → when its (batched) loss was read
  const t0 = now()
  try {
    await fineTune(w.model, tuning, { train, val }, s, control, { onStep: (e) => void stepAt.set(e.step, now()) })
    const st = control.stamps // st[k]: the start of step k + 1
    const read = (step: number) => stepAt.get(step) ?? NaN
    let ms = 0
    let n = 0
    let firstEpochStepMs = NaN
    for (let e = 0; e < s.epochs; e++) {
      const last = (e + 1) * spe
      if (e === 0 && cached) {
        firstEpochStepMs = (read(last) - st[0]!) / spe
        continue
      }
      let span: number
      let k: number
      if (e === 0) {
        // No drained start: when step 2 starts the device may still run the warm-up step.
        const firstRead = [...stepAt.keys()].filter((x) => x >= 1 && x <= spe - 2).sort((a, b) => a - b)[0]
        span = firstRead === undefined ? read(last) - st[1]! : read(last) - read(firstRead)
        k = firstRead === undefined ? spe - 1 : spe - firstRead
        firstEpochStepMs = span / k
      } else {
        span = read(last) - st[e * spe]!
        k = spe
      }
      ms += span
      n += k
    }
    const firstTimed = cached ? spe : 1
    const intervals = st.slice(firstTimed + 1, firstTimed + Math.min(spe, 32)).map((x, i) => x - st[firstTimed + i]!)
    return { intervals, stepMs: ms / n, firstEpochStepMs, setupMs: (st[0] ?? now()) - t0, residentBytes: Math.max(...control.bytes) }
  } finally {
    tuning.dispose()
  }
}

export type { Rows }
