/** Browser side of bench/run.mjs: measures the studio's own training loop (fineTune) against
 *  a lean reference loop and tf.LayersModel.fit, per backend, in a cross-origin-isolated page. */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-webgpu'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import threadedWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'
import { openDB } from 'idb'
import { parseDataset } from '../../src/engine/data/dataset'
import { encodeClassification } from '../../src/engine/data/textBatches'
import { loadTinyGpt, type LoadedTinyGpt } from '../../src/engine/models/modelFile'
import { fineTune, Tuning, type Encoded } from '../../src/engine/train/fineTune'
import { RunControl } from '../../src/engine/train/runControl'
import { frozenPrefixBlocks, trainableBlocks, trainableVariables } from '../../src/engine/tuning/freeze'
import { LORA_TARGETS, parseLoraTargets } from '../../src/engine/tuning/lora'
import { DEFAULTS } from '../../src/settings/schema'
import type { Method, Settings } from '../../src/settings/types'
import { countFlops, matmulFlops } from './flops'

// Same wasm set-up as the app's worker (src/worker/backendHost.ts): SIMD, one thread.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
setWasmPaths({ 'tfjs-backend-wasm.wasm': plainWasm, 'tfjs-backend-wasm-simd.wasm': simdWasm, 'tfjs-backend-wasm-threaded-simd.wasm': threadedWasm })

export type BenchMethod = 'full' | 'head' | 'lora' | 'last-block'
const METHOD: Record<BenchMethod, Partial<Settings>> = {
  full: { method: 'full' },
  head: { method: 'head' },
  lora: { method: 'lora' },
  'last-block': { method: 'freeze' as Method, freezeFirst: 3 },
}

export interface BackendArgs {
  backend: string
  methods: BenchMethod[]
  batchSize: number
  seqLen: number
  budgetSec: number // target measured seconds per loop and method
  maxSteps: number
  minSteps: number
  repeats: number // studio runs, each followed by a lean run (the first lean run comes before them)
  fit: boolean // also run the model.fit comparison
}

const now = () => performance.now()
const LOSS_READ_EVERY = 8 // as src/engine/train/fineTune.ts
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

let loaded: LoadedTinyGpt | null = null
let encodedAll: Encoded | null = null

async function setBackend(name: string): Promise<{ ok: boolean; note?: string }> {
  try {
    if (!tf.findBackendFactory(name)) return { ok: false, note: 'not registered' }
    const ok = await tf.setBackend(name)
    await tf.ready()
    return ok ? { ok } : { ok, note: 'setBackend returned false' }
  } catch (e) {
    return { ok: false, note: String(e) }
  }
}

async function matmulGflops(n: number, reps: number): Promise<number> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1)
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2)
  const run = async () => {
    const c = tf.matMul(a, b)
    await c.data()
    c.dispose()
  }
  await run()
  const t0 = now()
  for (let i = 0; i < reps; i++) await run()
  const sec = (now() - t0) / 1000
  tf.dispose([a, b])
  return (matmulFlops(n) * reps) / sec / 1e9
}

async function ensureModelAndData(seqLen: number): Promise<{ model: LoadedTinyGpt['model']; all: Encoded & { kind: 'classification' } }> {
  loaded ??= await loadTinyGpt('/models/tiny-lm/model.json')
  if (!encodedAll) {
    const bytes = new Uint8Array(await (await fetch('/samples/spam-ham.csv')).arrayBuffer())
    const parsed = await parseDataset('spam-ham.csv', bytes)
    if (!parsed.ok) throw new Error(parsed.error.message)
    const d = parsed.dataset
    const a = encodeClassification(d, loaded.tokenizer, { seqLen })
    const classes = (d.classes[d.roles.labels[0] ?? ''] ?? []).map((c) => c.label)
    encodedAll = { kind: 'classification', n: a.n, seqLen, tokens: a.ids, mask: a.mask, labels: a.labels, classes }
  }
  return { model: loaded.model, all: encodedAll as Encoded & { kind: 'classification' } }
}

/** Rows [from, from + n) of the encoded sample (wrapping), as their own Encoded set. */
function slice(all: Encoded & { kind: 'classification' }, from: number, n: number): Encoded {
  const T = all.seqLen
  const tokens = new Int32Array(n * T)
  const mask = new Float32Array(n * T)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const r = (from + i) % all.n
    tokens.set(all.tokens.subarray(r * T, (r + 1) * T), i * T)
    mask.set(all.mask.subarray(r * T, (r + 1) * T), i * T)
    labels[i] = all.labels[r]!
  }
  return { kind: 'classification', n, seqLen: T, tokens, mask, labels, classes: all.classes }
}

/** Settings shared by the studio run and the reference: everything that adds work beyond
 *  the plain step (dropout, clipping, weight decay, schedules, accumulation) is off, so the
 *  ratio measures the loop, not extra features. */
function benchSettings(method: BenchMethod, batchSize: number, seqLen: number, epochs: number): Settings {
  return {
    ...DEFAULTS,
    ...METHOD[method],
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

function planOf(model: LoadedTinyGpt['model'], tuning: Tuning, s: Settings) {
  const n = model.config.nLayers
  const blocks = frozenPrefixBlocks(model, s, 0, tuning.lora ? [tuning.lora] : [])
  return { blocks, pooled: blocks === n && !trainableBlocks(n, s, 0).has(n) }
}

/** The leanest loop we can write for the same work: the same frozen-prefix cache as the
 *  studio (computed once, outside the timing), then optimizer.minimize over the same
 *  variables, reading the loss each step. No metrics, events, shuffling or yields. */
async function referenceLoop(model: LoadedTinyGpt['model'], all: Encoded & { kind: 'classification' }, s: Settings, budgetSec: number, maxSteps: number, minSteps: number) {
  const tuning = new Tuning(model, s, all.classes.length)
  const vars = trainableVariables(model, s, 0, tuning.parts)
  const opt = tf.train.adam(s.learningRate)
  const plan = planOf(model, tuning, s)
  const B = s.batchSize
  const T = all.seqLen
  const rows = (maxSteps + 3) * B
  const data = slice(all, 0, rows) as Encoded & { kind: 'classification' }
  const tokens = tf.tensor2d(data.tokens, [rows, T], 'int32')
  const mask = tf.tensor2d(data.mask, [rows, T])
  const labels = tf.tensor1d(data.labels, 'int32')
  // The cache in chunks of 64 rows: all rows at once kept every block's activations alive
  // together and ran the wasm heap out of memory at 120 steps.
  const cacheRows = (a: number, b: number) =>
    tf.tidy(() => {
      const tok = tokens.slice([a, 0], [b - a, T])
      return plan.pooled ? model.pool(model.forward(tok), mask.slice([a, 0], [b - a, T]) as tf.Tensor2D) : model.prefix(tok, plan.blocks)
    })
  const chunks: tf.Tensor[] = []
  if (plan.blocks > 0 || plan.pooled) for (let a = 0; a < rows; a += 64) chunks.push(cacheRows(a, Math.min(rows, a + 64)))
  const cache = chunks.length ? tf.concat(chunks) : null
  tf.dispose(chunks)
  let unread: tf.Tensor[] = []
  const oneStep = async (i: number, read = true) => {
    const cost = opt.minimize(
      () => {
        const idx = tf.range(i * B, (i + 1) * B, 1, 'int32')
        const m = tf.gather(mask, idx) as tf.Tensor2D
        let feats: tf.Tensor2D
        if (plan.pooled) feats = tf.gather(cache!, idx) as tf.Tensor2D
        else {
          const x = cache ? tf.gather(cache, idx) : model.embed(tf.gather(tokens, idx))
          feats = model.pool(model.forwardFrom(x, plan.blocks, { hooks: tuning.hooks, training: true }), m)
        }
        const logits = tuning.head!.apply(feats, true)
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.gather(labels, idx), all.classes.length), logits) as tf.Scalar
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
    // Losses read every LOSS_READ_EVERY steps and after the last, as the studio loop does
    // (a read per step stalls the GPU backends); the mean over all timed steps.
    t = now()
    for (let i = 0; i < steps; i++) await oneStep(2 + i, (i + 1) % LOSS_READ_EVERY === 0 || i === steps - 1)
    return { steps, stepMs: (now() - t) / steps, peakBytes: prof.peakBytes, trainableParams: vars.reduce((n, v) => n + v.size, 0) }
  } finally {
    tf.dispose([tokens, mask, labels, ...unread, ...(cache ? [cache] : [])])
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

/** The studio's own loop. Its feature cache fills lazily during the first epoch, so methods
 *  with a cache run two epochs and time the second (steady) one; the first is reported too.
 *  Intervals between checkpoint() calls are whole steps; the warm-up step and the step
 *  that closes an epoch (it includes validation) are left out. */
async function studioLoop(model: LoadedTinyGpt['model'], all: Encoded & { kind: 'classification' }, s0: Settings, steps: number, cached: boolean) {
  const s = { ...s0, epochs: cached ? 2 : 1 }
  const spe = cached ? steps + 1 : steps + 2 // steps per epoch
  const tuning = new Tuning(model, s, all.classes.length)
  const control = new TimedControl()
  const train = slice(all, 0, spe * s.batchSize)
  const val = slice(all, 500, 8)
  const stepAt = new Map<number, number>() // step number → when its (batched) loss was read
  const t0 = now()
  try {
    await fineTune(model, tuning, { train, val }, s, control, { onStep: (e) => void stepAt.set(e.step, now()) })
    const st = control.stamps
    const span = (from: number, to: number) => st.slice(from + 1, to + 1).map((x, i) => x - st[from + i]!)
    const first = span(1, spe - 1)
    const intervals = cached ? span(spe, 2 * spe - 1) : first
    // Mean step time: from a step's start to the read of the epoch's last loss (the loop
    // reads losses in batches, so single intervals on GPU backends are enqueue times only).
    const mean = (from: number, lastStep: number) => ((stepAt.get(lastStep) ?? NaN) - st[from]!) / (lastStep - from)
    // Without a cache the epoch has no drained start: losses are read asynchronously, so when
    // step 2 starts the device may still be running the warm-up step, and timing from there
    // charged part of it to the timed steps (+1/8 on WebGL full fine-tuning). Time from the
    // first loss read after the warm-up instead, as the lean loop times from a read.
    const firstRead = [...stepAt.keys()].filter((k) => k >= 1 && k <= spe - 2).sort((a, b) => a - b)[0]
    const firstMean = firstRead === undefined ? mean(1, spe) : ((stepAt.get(spe) ?? NaN) - stepAt.get(firstRead)!) / (spe - firstRead)
    return { intervals, stepMs: cached ? mean(spe, 2 * spe) : firstMean, firstEpochStepMs: firstMean, setupMs: (st[0] ?? now()) - t0, residentBytes: Math.max(...control.bytes) }
  } finally {
    tuning.dispose()
  }
}

/** model.fit on a tf.sequential head over cached pooled features vs the studio's head-only
 *  loop on the same features size, rows and batch size (3 epochs each; epochs 2-3 timed). */
async function fitComparison(model: LoadedTinyGpt['model'], all: Encoded & { kind: 'classification' }, batchSize: number) {
  const rows = 256
  const epochs = 3
  const data = slice(all, 0, rows) as Encoded & { kind: 'classification' }
  const C = all.classes.length
  const D = model.featureDim
  const feats = tf.tidy(() => {
    const tok = tf.tensor2d(data.tokens, [rows, all.seqLen], 'int32')
    const m = tf.tensor2d(data.mask, [rows, all.seqLen])
    return model.pool(model.forward(tok), m)
  })
  const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), C)
  // The studio epoch ends with a validation pass on 16 rows; model.fit gets the same rows
  // as validationData, so both epochs do the same work.
  const valRows = slice(all, 500, 16) as Encoded & { kind: 'classification' }
  const valX = tf.tidy(() => model.pool(model.forward(tf.tensor2d(valRows.tokens, [16, all.seqLen], 'int32')), tf.tensor2d(valRows.mask, [16, all.seqLen])))
  const valY = tf.oneHot(tf.tensor1d(valRows.labels, 'int32'), C)
  const seq = tf.sequential({ layers: [tf.layers.dense({ inputShape: [D], units: C, activation: 'softmax' })] })
  seq.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' })
  const fitEpochs: number[] = []
  let t = 0
  await seq.fit(feats, y, {
    batchSize,
    epochs,
    shuffle: true,
    verbose: 0,
    validationData: [valX, valY],
    callbacks: { onEpochBegin: async () => void (t = now()), onEpochEnd: async () => void fitEpochs.push(now() - t) },
  })
  tf.dispose([feats, y, valX, valY])
  seq.dispose()

  const s = benchSettings('head', batchSize, all.seqLen, epochs)
  const tuning = new Tuning(model, s, C)
  const epochStamps: number[] = []
  const t0 = now()
  const val = valRows
  await fineTune(model, tuning, { train: data, val }, s, new RunControl(), { onEpoch: () => void epochStamps.push(now()) })
  tuning.dispose()
  const studioEpochs = epochStamps.map((x, i) => x - (i ? epochStamps[i - 1]! : t0))
  const stepsPerEpoch = Math.ceil(rows / batchSize)
  return {
    rows,
    batchSize,
    stepsPerEpoch,
    fitEpochMs: median(fitEpochs.slice(1)),
    studioEpochMs: median(studioEpochs.slice(1)),
    studioFirstEpochMs: studioEpochs[0] ?? NaN, // includes the feature cache over all rows
  }
}

/** Everything for one backend. */
async function benchBackend(args: BackendArgs) {
  const set = await setBackend(args.backend)
  if (!set.ok) return { backend: args.backend, available: false, note: set.note }
  const started = now()
  const matmul = { n256: await matmulGflops(256, 6), n512: await matmulGflops(512, 2) }
  const { model, all } = await ensureModelAndData(args.seqLen)
  const config = model.config
  const C = all.classes.length
  const methods = []
  for (const m of args.methods) {
    const s = benchSettings(m, args.batchSize, args.seqLen, 1)
    const probe = new Tuning(model, s, C)
    const plan = planOf(model, probe, s)
    const lora = probe.lora ? { rank: s.loraRank, targets: parseLoraTargets(s.loraTargets).map((t) => LORA_TARGETS[t]), blocks: probe.lora.blocks } : undefined
    probe.dispose()
    const flops = countFlops(config, args.seqLen, C, { trainableBlocks: trainableBlocks(config.nLayers, s, 0), cachedBlocks: plan.blocks, pooled: plan.pooled, ...(lora ? { lora } : {}) })
    // Lean, studio, lean (and again, `repeats` times): the machine is shared and noisy, so
    // studio runs are compared with lean runs on either side of them, median against median.
    const ref1 = await referenceLoop(model, all, s, args.budgetSec, args.maxSteps, args.minSteps)
    const refs = [ref1]
    const studios = []
    for (let r = 0; r < Math.max(1, args.repeats); r++) {
      studios.push(await studioLoop(model, all, s, ref1.steps, plan.blocks > 0 || plan.pooled))
      refs.push(await referenceLoop(model, all, s, args.budgetSec, ref1.steps, ref1.steps))
    }
    const studio = { ...studios[0]!, stepMs: median(studios.map((x) => x.stepMs)), stepMsEach: studios.map((x) => x.stepMs) }
    const ref = { ...ref1, stepMs: median(refs.map((x) => x.stepMs)), stepMsEachSide: refs.map((x) => x.stepMs) }
    const samplesPerSec = (1000 * args.batchSize) / studio.stepMs
    methods.push({
      method: m,
      steps: ref.steps,
      cachedBlocks: plan.pooled ? 'all (pooled features)' : plan.blocks,
      trainableParams: ref.trainableParams,
      flopsPerSample: flops.perSampleStep,
      cacheFlopsPerSample: flops.cacheOnce,
      studioStepMs: studio.stepMs,
      studioFirstEpochStepMs: studio.firstEpochStepMs,
      studioStepMsEach: studio.stepMsEach,
      studioIntervalsMs: studio.intervals.map((x) => Math.round(x * 10) / 10),
      referenceStepMs: ref.stepMs,
      referenceStepMsEachSide: ref.stepMsEachSide,
      samplesPerSec,
      gflops: (flops.perSampleStep * samplesPerSec) / 1e9,
      overheadVsLeanLoop: studio.stepMs / ref.stepMs,
      studioSetupMs: studio.setupMs,
      residentBytes: studio.residentBytes,
      stepPeakBytes: ref.peakBytes,
    })
  }
  const fit = args.fit ? await fitComparison(model, all, 16) : null
  return { backend: args.backend, available: true, batchSize: args.batchSize, seqLen: args.seqLen, matmul, methods, fit, seconds: (now() - started) / 1000, memory: tf.memory() }
}

/** Tensor count at the start, after every epoch and at the end of a multi-epoch run with the
 *  studio's default settings (dropout, clipping, AdamW, best-weights restore included). */
async function benchLeaks(args: { backend: string; seqLen: number; epochs: number }) {
  await setBackend(args.backend)
  const { model, all } = await ensureModelAndData(args.seqLen)
  const s: Settings = { ...DEFAULTS, batchSize: 8, seqLen: args.seqLen, epochs: args.epochs, earlyStopPatience: 0 }
  // One short run first: one-off caches (causal masks, compiled kernels) are not leaks.
  const warm = new Tuning(model, { ...s, epochs: 1 }, all.classes.length)
  await fineTune(model, warm, { train: slice(all, 0, 16), val: slice(all, 500, 8) }, { ...s, epochs: 1 }, new RunControl())
  warm.dispose()
  const start = tf.memory().numTensors
  const tuning = new Tuning(model, s, all.classes.length)
  const afterEpoch: number[] = []
  await fineTune(model, tuning, { train: slice(all, 0, 24), val: slice(all, 500, 8) }, s, new RunControl(), { onEpoch: () => void afterEpoch.push(tf.memory().numTensors) })
  tuning.dispose()
  const end = tf.memory().numTensors
  return { backend: args.backend, method: s.method, epochs: args.epochs, start, afterEpoch, end, flat: end === start && afterEpoch.every((x) => x === afterEpoch[0]) }
}

/** Checkpoint save/load to IndexedDB: a raw idb put/get of the model's weights buffer
 *  (src/engine/storage had no checkpoint module when this was written). */
async function benchStorage(args: { reps: number }) {
  const { model } = await ensureModelAndData(32)
  const parts = await Promise.all(model.params.map((p) => p.variable.data<'float32'>()))
  const total = parts.reduce((n, p) => n + p.length, 0)
  const buf = new Float32Array(total)
  let at = 0
  for (const p of parts) {
    buf.set(p, at)
    at += p.length
  }
  const db = await openDB('bench-checkpoints', 1, { upgrade: (d) => void d.createObjectStore('ckpt') })
  const save: number[] = []
  const load: number[] = []
  for (let i = 0; i < args.reps; i++) {
    const copy = buf.buffer.slice(0)
    let t = now()
    await db.put('ckpt', { weights: copy, names: model.params.map((p) => p.name) }, `c${i}`)
    save.push(now() - t)
    t = now()
    const back = (await db.get('ckpt', `c${i}`)) as { weights: ArrayBuffer }
    if (back.weights.byteLength !== buf.byteLength) throw new Error('checkpoint came back with another size')
    load.push(now() - t)
  }
  await db.clear('ckpt')
  db.close()
  const mb = buf.byteLength / 1e6
  return { via: 'raw idb put/get of one ArrayBuffer (no src/engine/storage checkpoint module yet)', megabytes: mb, saveMBps: mb / (median(save) / 1000), loadMBps: mb / (median(load) / 1000) }
}

async function uaMemory(): Promise<number | null> {
  const perf = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> }
  if (!perf.measureUserAgentSpecificMemory || !crossOriginIsolated) return null
  const timeout = new Promise<null>((r) => setTimeout(() => r(null), 20_000))
  const m = await Promise.race([perf.measureUserAgentSpecificMemory().catch(() => null), timeout])
  return m ? m.bytes : null
}

/** One studio run only (for profiling a method with DevTools). */
async function benchStudio(args: { backend: string; method: BenchMethod; steps: number; batchSize: number; seqLen: number }) {
  await setBackend(args.backend)
  const { model, all } = await ensureModelAndData(args.seqLen)
  const s = benchSettings(args.method, args.batchSize, args.seqLen, 1)
  const probe = new Tuning(model, s, all.classes.length)
  const plan = planOf(model, probe, s)
  probe.dispose()
  return studioLoop(model, all, s, args.steps, plan.blocks > 0 || plan.pooled)
}

const w = window as unknown as Record<string, unknown>
Object.assign(w, { benchStudio, benchBackend, benchLeaks, benchStorage, uaMemory, benchReady: true })
