/** Browser side of bench/run.mjs: measures the studio's own training loop (fineTune) against
 *  a lean reference loop and tf.LayersModel.fit, per backend and built-in model, in a
 *  cross-origin-isolated page. */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-webgpu'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import threadedWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'
import { useOneHotEmbedding } from './oneHotEmbedding'
import { fineTune, Tuning } from '../../src/engine/train/fineTune'
import { RunControl } from '../../src/engine/train/runControl'
import { DEFAULTS } from '../../src/settings/schema'
import type { Settings } from '../../src/settings/types'
import { checkpointBench } from './checkpointBench'
import { gradientCheck } from './gradientCheck'
import { headFitComparison, layersFitComparison } from './fitComparisons'
import { matmulFlops } from './flops'
import { flopsOf } from './steps'
import { benchSettings, MAX_ROWS, planOf, referenceLoop, studioLoop } from './loops'
import { atMost, pairedRatio, type RatioEstimate } from './stats'
import { slice, workload, type BenchMethod, type Workload, type WorkloadId } from './workloads'

// On this page's main thread wasm runs single-threaded SIMD, as the studio did until
// 2026-12-06: Emscripten cannot block the main thread, so XNNPACK's threads spin-wait here and
// ran 3-10× slower than one thread. Threads are measured where the app uses them, in a worker
// set up as the app's (stepsWorker.ts, bench/threads.mjs). There `?threads=1` keeps one thread
// and `?embed=onehot` brings back the embedding's old one-hot product, for side-by-side runs.
const query = new URLSearchParams(location.search)
const singleThread = query.get('threads') === '1'
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
if (query.get('embed') === 'onehot') useOneHotEmbedding()
setWasmPaths({ 'tfjs-backend-wasm.wasm': plainWasm, 'tfjs-backend-wasm-simd.wasm': simdWasm, 'tfjs-backend-wasm-threaded-simd.wasm': threadedWasm })

export interface BackendArgs {
  backend: string
  workloads: WorkloadId[]
  methods: BenchMethod[]
  batchSize: number
  seqLen: number
  budgetSec: number // target measured seconds per loop and method
  maxSteps: number
  minSteps: number
  maxRows: number // distinct rows a loop cycles through (their cache is filled up front)
  repeats: number // studio runs, each between two lean runs
  fit: boolean // also run the model.fit comparisons
  fitRepeats: number
}

const now = () => performance.now()
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

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

/** One method on one model: lean, studio, lean, studio, …, lean, so each studio run is
 *  compared with the lean runs on either side of it (the machine is shared and noisy). */
async function benchMethod(w: Workload, m: BenchMethod, args: BackendArgs) {
  const s = benchSettings(w, m, args.batchSize, args.seqLen, 1)
  const probe = new Tuning(w.model, s, w.classes)
  const plan = planOf(w.model, probe, s)
  const flops = flopsOf(w, s, probe)
  probe.dispose()
  const cached = plan.blocks > 0 || plan.pooled
  const ref1 = await referenceLoop(w, s, args.budgetSec, args.maxSteps, args.minSteps, args.maxRows)
  const refs = [ref1]
  const studios = []
  for (let r = 0; r < Math.max(1, args.repeats); r++) {
    studios.push(await studioLoop(w, s, ref1.steps, cached, args.maxRows))
    refs.push(await referenceLoop(w, s, args.budgetSec, ref1.steps, ref1.steps, args.maxRows))
  }
  const studioMs = studios.map((x) => x.stepMs)
  const refMs = refs.map((x) => x.stepMs)
  const stepMs = median(studioMs)
  const samplesPerSec = (1000 * args.batchSize) / stepMs
  return {
    method: m,
    steps: ref1.steps,
    cachedBlocks: plan.pooled ? 'all (pooled features)' : plan.blocks,
    trainableParams: ref1.trainableParams,
    flopsPerSample: flops.perSampleStep,
    cacheFlopsPerSample: flops.cacheOnce,
    studioStepMs: stepMs,
    studioFirstEpochStepMs: studios[0]!.firstEpochStepMs,
    studioStepMsEach: studioMs,
    studioIntervalsMs: studios[0]!.intervals.map((x) => Math.round(x * 10) / 10),
    referenceStepMs: median(refMs),
    referenceStepMsEachSide: refMs,
    samplesPerSec,
    gflops: (flops.perSampleStep * samplesPerSec) / 1e9,
    overhead: withVerdict(pairedRatio(studioMs, refMs)),
    studioSetupMs: studios[0]!.setupMs,
    residentBytes: Math.max(...studios.map((x) => x.residentBytes)),
    stepPeakBytes: ref1.peakBytes,
  }
}

/** The target for every loop ratio: at most 1.05, judged on the 90 % interval. */
const OVERHEAD_LIMIT = 1.05
const withVerdict = <T extends RatioEstimate>(e: T) => ({ ...e, limit: OVERHEAD_LIMIT, verdict: atMost(e, OVERHEAD_LIMIT) })

/** A comparison that fails is reported as such, not allowed to lose the backend's other figures. */
async function safely<T>(run: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await run()
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) }
  }
}

/** Everything for one backend. */
async function benchBackend(args: BackendArgs) {
  const set = await setBackend(args.backend)
  if (!set.ok) return { backend: args.backend, available: false, note: set.note }
  const started = now()
  const matmul = { n256: await matmulGflops(256, 6), n512: await matmulGflops(512, 2) }
  const models = []
  for (const id of args.workloads) {
    const w = await workload(id, args.seqLen)
    // First: does this backend train this model correctly at all (against the cpu backend)?
    const check = args.backend === 'cpu' ? null : await safely(() => gradientCheck(w, args.backend))
    const methods = []
    for (const m of args.methods) methods.push(await benchMethod(w, m, args))
    const fit = args.fit ? await safely(async () => {
      const head = await headFitComparison(w, 16, args.fitRepeats)
      return { ...head, overhead: withVerdict(head.overhead) }
    }) : null
    models.push({ id, describe: w.describe, batchSize: args.batchSize, check, methods, fit })
  }
  const layersFit = args.fit && args.workloads.includes('emoji-cnn') ? await safely(async () => {
    const layers = await layersFitComparison(await workload('emoji-cnn', args.seqLen), 8, args.fitRepeats)
    return { ...layers, overhead: withVerdict(layers.overhead) }
  }) : null
  return { backend: args.backend, available: true, batchSize: args.batchSize, seqLen: args.seqLen, matmul, models, layersFit, seconds: (now() - started) / 1000, memory: tf.memory() }
}

/** Tensor count at the start, after every epoch and at the end of a multi-epoch run with the
 *  studio's default settings (dropout, clipping, AdamW, best-weights restore included). */
async function benchLeaks(args: { backend: string; seqLen: number; epochs: number; model: WorkloadId }) {
  await setBackend(args.backend)
  const w = await workload(args.model, args.seqLen)
  const s: Settings = { ...DEFAULTS, batchSize: 8, seqLen: args.seqLen, epochs: args.epochs, earlyStopPatience: 0 }
  // One short run first: one-off caches (causal masks, compiled kernels) are not leaks.
  const warm = new Tuning(w.model, { ...s, epochs: 1 }, w.classes)
  await fineTune(w.model, warm, { train: slice(w.all, 0, 16), val: slice(w.all, 100, 8) }, { ...s, epochs: 1 }, new RunControl())
  warm.dispose()
  const start = tf.memory().numTensors
  const tuning = new Tuning(w.model, s, w.classes)
  const afterEpoch: number[] = []
  await fineTune(w.model, tuning, { train: slice(w.all, 0, 24), val: slice(w.all, 100, 8) }, s, new RunControl(), { onEpoch: () => void afterEpoch.push(tf.memory().numTensors) })
  tuning.dispose()
  const end = tf.memory().numTensors
  return { backend: args.backend, model: args.model, method: s.method, epochs: args.epochs, start, afterEpoch, end, flat: end === start && afterEpoch.every((x) => x === afterEpoch[0]) }
}

async function benchCheckpoint(args: { backend: string; reps: number; model: WorkloadId }) {
  await setBackend(args.backend)
  return checkpointBench(await workload(args.model, 32), args.reps)
}

async function uaMemory(): Promise<number | null> {
  const perf = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> }
  if (!perf.measureUserAgentSpecificMemory || !crossOriginIsolated) return null
  const timeout = new Promise<null>((r) => setTimeout(() => r(null), 20_000))
  const m = await Promise.race([perf.measureUserAgentSpecificMemory().catch(() => null), timeout])
  return m ? m.bytes : null
}

/** One studio run only (for profiling a method with DevTools). */
async function benchStudio(args: { backend: string; model: WorkloadId; method: BenchMethod; steps: number; batchSize: number; seqLen: number }) {
  await setBackend(args.backend)
  const w = await workload(args.model, args.seqLen)
  const s = benchSettings(w, args.method, args.batchSize, args.seqLen, 1)
  const probe = new Tuning(w.model, s, w.classes)
  const plan = planOf(w.model, probe, s)
  probe.dispose()
  return studioLoop(w, s, args.steps, plan.blocks > 0 || plan.pooled, MAX_ROWS)
}

/** Training in a dedicated worker set up as the app's is (bench/page/stepsWorker.ts): wasm
 *  threads wait there as in the app; on this page's main thread Emscripten must spin.
 *  bench/threads.mjs alternates pages that differ in one thing (threads, or the embedding). */
let stepsWorker: Worker | null = null
let asked = 0
const pending = new Map<number, { resolve: (x: unknown) => void; reject: (e: Error) => void }>()
function ask<T>(msg: Record<string, unknown>): Promise<T> {
  if (!stepsWorker) {
    stepsWorker = new Worker(new URL('./stepsWorker.ts', import.meta.url), { type: 'module' })
    stepsWorker.onmessage = (e: MessageEvent<{ id: number; result?: unknown; error?: string }>) => {
      const p = pending.get(e.data.id)
      pending.delete(e.data.id)
      if (e.data.error !== undefined) p?.reject(new Error(e.data.error))
      else p?.resolve(e.data.result)
    }
  }
  const id = ++asked
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (x: unknown) => void, reject })
    stepsWorker!.postMessage({ ...msg, id })
  })
}
let workerStarted: Promise<unknown> | null = null
// `?pool=N`: the threaded build with N threads (N = 1 too), to compare counts on one binary.
const poolThreads = query.get('pool') === null ? null : Number(query.get('pool'))
const workerInfo = () => (workerStarted ??= ask({ type: 'init', threads: poolThreads ?? (singleThread ? 'one' : 'all'), embed: query.get('embed') === 'onehot' ? 'onehot' : 'lookup' }))
const benchSteps = async (args: Record<string, unknown>) => (await workerInfo(), ask({ type: 'steps', args }))
const workerMatmul = async (n: number, reps: number) => (await workerInfo(), ask<number>({ type: 'matmul', n, reps }))
const workerAdd = async (n: number, reps: number, gapUs = 0, bias = false) => (await workerInfo(), ask<number>({ type: 'add', n, reps, gapUs, bias }))


const win = window as unknown as Record<string, unknown>
Object.assign(win, { benchStudio, benchBackend, benchLeaks, benchCheckpoint, uaMemory, benchSteps, workerInfo, workerMatmul, workerAdd, benchReady: true })
