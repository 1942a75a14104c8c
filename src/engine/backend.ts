import * as tf from '@tensorflow/tfjs'
import type { BackendChoice } from '../settings/types'
import { formatPercent } from '../format/format'
import type { GradientPeer } from './train/dataParallel'

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu'

export interface BackendInfo {
  name: BackendName // the backend training runs on
  reason: string // one sentence for the badge: why this one
  adapter?: string // WebGPU adapter description, when there is one
  software: boolean // true when the chosen backend runs on the CPU (SwiftShader, wasm, cpu)
  threads?: number // wasm only: the threads XNNPACK really runs (1 = one core)
  workers?: number // wasm only: engine workers a full, freeze or LoRA run splits its batches over (train/dataParallel.ts)
  probes: { name: BackendName; gflops: number | null; note?: string }[]
  /** Backends that computed wrong numbers in the start-up self-test, with their error
   *  relative to the largest expected value; the page says so once. */
  selfTestFailed?: { name: BackendName; maxError: number }[]
}

/** What the environment offers (GPU adapter, backend loaders, clock, thread count); the worker
 *  entry fills it so this module never touches globals. */
export interface BackendEnvironment {
  gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } | undefined
  /** Registers tfjs-backend-webgpu / -wasm on demand (dynamic imports live in the worker). */
  loadBackend?: (name: 'webgpu' | 'wasm') => Promise<void>
  now?: () => number
  /** wasm only, once it runs: XNNPACK's real thread count, and why it is 1 on a multi-core
   *  machine; `workers` when runs split their batches over two engine workers instead. */
  wasmThreads?: () => { count: number; note?: string; workers?: number } | undefined
  /** wasm only: the other engine workers a run shares its batches with (train/dataParallel.ts),
   *  started once and kept; none when this environment trains on one. */
  otherWorkers?: () => readonly GradientPeer[]
  /** false: the other workers take their shares of each training step only, not of the run's
   *  inference passes (train/inferencePasses.ts); for comparisons (bench/). */
  secondWorkerPasses?: boolean
}

export interface GpuAdapterLike {
  /** Older browsers: on the adapter; Chromium 156 has it on `info` only. */
  isFallbackAdapter?: boolean
  info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean }
}

/**
 * What an adapter says it is. 'software': the browser's fallback adapter, or one that names a
 * CPU rasteriser (SwiftShader: vendor "google", architecture "swiftshader", isFallbackAdapter
 * true on info in Chromium 156). 'gpu': one that names itself otherwise. 'hidden': one whose
 * vendor, architecture, device and description are all empty, which browsers may do to limit
 * fingerprinting: measured, Chromium 156 with WebGPU's compatibility mode on ANGLE on lavapipe
 * (e2e/webgpu-binding-split.spec.ts's flags) gives an adapter with all four empty,
 * isFallbackAdapter false, a 128 MiB maxStorageBufferBindingSize, and nothing else that says
 * whether a GPU or the CPU computes. Such an adapter is neither trusted as a GPU nor written off:
 * the backends are measured.
 */
export type AdapterKind = 'software' | 'gpu' | 'hidden'

export function adapterKind(a: GpuAdapterLike): AdapterKind {
  if (a.isFallbackAdapter || a.info?.isFallbackAdapter) return 'software'
  const said = [a.info?.vendor, a.info?.architecture, a.info?.description, a.info?.device].filter((s) => typeof s === 'string' && s.trim() !== '')
  if (said.length === 0) return 'hidden'
  return /swiftshader|llvmpipe|lavapipe|software|microsoft basic/.test(said.join(' ').toLowerCase()) ? 'software' : 'gpu'
}

/** A software adapter computes on the CPU: SwiftShader, or the browser's fallback adapter. */
export function isSoftwareAdapter(a: GpuAdapterLike): boolean {
  return adapterKind(a) === 'software'
}

export const HIDDEN_ADAPTER = 'a WebGPU adapter that does not say what it is'

function describeAdapter(a: GpuAdapterLike): string {
  const i = a.info ?? {}
  return [i.vendor, i.architecture, i.description].filter((s) => s).join(' / ') || HIDDEN_ADAPTER
}

async function trySet(name: BackendName, env: BackendEnvironment): Promise<boolean> {
  try {
    if ((name === 'webgpu' || name === 'wasm') && env.loadBackend) await env.loadBackend(name)
    if (!tf.findBackendFactory(name)) return false
    return await tf.setBackend(name)
  } catch {
    return false
  }
}

/** GFLOP/s of a 256×256 fp32 matmul, the shape class of a small transformer's projections. */
async function probeMatmul(now: () => number): Promise<number> {
  const n = 256
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1)
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2)
  const run = async () => {
    const c = tf.matMul(a, b)
    await c.data() // await, not dataSync: webgpu's sync read returned zeros in the field notes
    c.dispose()
  }
  await run() // warm up: shader compilation, wasm start-up
  const reps = 4
  const t0 = now()
  for (let i = 0; i < reps; i++) await run()
  const seconds = Math.max((now() - t0) / 1000, 1e-6)
  a.dispose()
  b.dispose()
  return (2 * n * n * n * reps) / seconds / 1e9
}

/** How a backend is named in words the page shows. */
export const BACKEND_WORDS: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WebAssembly', cpu: 'plain JavaScript on the CPU' }

// The self-test network: x [B, D] → tanh(x·w1) [B, H] → ·w2 [B, O], loss = mean of squares.
// Every tensor has more than 128 elements, so WebGL cannot hand an op to the CPU (its
// CPU_HANDOFF_SIZE_THRESHOLD): each op really runs on the backend under test.
const ST = { B: 16, D: 12, H: 16, O: 9 }
/** Fixed inputs of order 1, different in every element (so a shifted or transposed result shows). */
export function selfTestInputs(shape = ST): { x: Float32Array; w1: Float32Array; w2: Float32Array } {
  const { B, D, H, O } = shape
  return {
    x: Float32Array.from({ length: B * D }, (_, i) => Math.sin(0.37 * i + 0.1)),
    w1: Float32Array.from({ length: D * H }, (_, i) => 0.5 * Math.cos(1.7 * i + 0.5)),
    w2: Float32Array.from({ length: H * O }, (_, i) => Math.sin(2.3 * i - 0.7)),
  }
}

/** The loss and its gradients [loss, ...dL/dw1, ...dL/dw2] by plain loops in float64 — the
 *  expected values, computed without TensorFlow.js. */
export function selfTestReference(shape = ST, inputs = selfTestInputs(shape)): number[] {
  const { B, D, H, O } = shape
  const { x, w1, w2 } = inputs
  const h = new Float64Array(B * H)
  const y = new Float64Array(B * O)
  for (let b = 0; b < B; b++)
    for (let k = 0; k < H; k++) {
      let z = 0
      for (let d = 0; d < D; d++) z += x[b * D + d]! * w1[d * H + k]!
      h[b * H + k] = Math.tanh(z)
    }
  let loss = 0
  for (let b = 0; b < B; b++)
    for (let o = 0; o < O; o++) {
      let v = 0
      for (let k = 0; k < H; k++) v += h[b * H + k]! * w2[k * O + o]!
      y[b * O + o] = v
      loss += v * v
    }
  const n = B * O
  loss /= n
  const dw1 = new Float64Array(D * H)
  const dw2 = new Float64Array(H * O)
  for (let b = 0; b < B; b++)
    for (let k = 0; k < H; k++) {
      let dh = 0
      for (let o = 0; o < O; o++) {
        const dy = (2 * y[b * O + o]!) / n
        dw2[k * O + o]! += h[b * H + k]! * dy
        dh += dy * w2[k * O + o]!
      }
      const dz = dh * (1 - h[b * H + k]! ** 2)
      for (let d = 0; d < D; d++) dw1[d * H + k]! += x[b * D + d]! * dz
    }
  return [loss, ...dw1, ...dw2]
}

/** Largest error relative to the largest expected value of its part (the loss, each
 *  gradient: `parts` are their lengths); float32 arithmetic stays far below the tolerance, a
 *  driver fault (zeros, NaN, a wrong kernel) lands far above it. */
export function compareSelfTest(got: ArrayLike<number>, want: readonly number[], parts = [1, ST.D * ST.H, ST.H * ST.O]): { ok: boolean; maxError: number } {
  let maxError = got.length === want.length ? 0 : Infinity
  let start = 0
  for (const n of parts) {
    const scale = Math.max(...want.slice(start, start + n).map(Math.abs))
    for (let i = start; i < start + n; i++) {
      const e = Math.abs((got[i] ?? NaN) - want[i]!) / scale
      maxError = Number.isNaN(e) ? Infinity : Math.max(maxError, e)
    }
    start += n
  }
  return { ok: maxError < SELF_TEST_TOLERANCE, maxError }
}
export const SELF_TEST_TOLERANCE = 1e-3

/** One training step's loss and gradients of a small tanh network on the active backend,
 *  checked against values computed by hand (selfTestReference): catches drivers that
 *  silently train garbage (tfjs#8590, #7733). Reads with await data(): webgpu's sync reads
 *  returned zeros in the field notes. */
export async function gradientSelfTest(): Promise<{ ok: boolean; maxError: number }> {
  const { B, D, H, O } = ST
  const inputs = selfTestInputs()
  const variable = (values: Float32Array, shape: [number, number]) => {
    const t = tf.tensor2d(values, shape)
    const v = tf.variable(t) // shares t's data; disposing t leaves the variable whole
    t.dispose()
    return v
  }
  const w1 = variable(inputs.w1, [D, H])
  const w2 = variable(inputs.w2, [H, O])
  const x = tf.tensor2d(inputs.x, [B, D])
  try {
    const { grads, value } = tf.variableGrads(() => tf.mean(tf.square(tf.matMul(tf.tanh(tf.matMul(x, w1)), w2))) as tf.Scalar, [w1, w2])
    const parts = [value, grads[w1.name], grads[w2.name]]
    const read = await Promise.all(parts.map((t) => (t ? t.data() : Promise.resolve(new Float32Array(0)))))
    tf.dispose(parts.filter((t): t is tf.Tensor => !!t))
    return compareSelfTest(read.flatMap((a) => Array.from(a)), selfTestReference())
  } catch {
    return { ok: false, maxError: Infinity } // a backend that throws on a tanh network cannot train either
  } finally {
    tf.dispose([w1, w2, x])
  }
}

/** The sentence for the badge and the notice when backends failed the self-test. */
function selfTestWords(failed: { name: BackendName; maxError: number }[], now: BackendName): string {
  const names = failed.map((f) => BACKEND_WORDS[f.name]).join(' and ')
  const worst = Math.max(...failed.map((f) => f.maxError))
  const off = Number.isFinite(worst) ? `off by ${formatPercent(worst)} of the largest value` : 'unreadable (not a number)'
  return `${names} computed wrong numbers in the start-up check (one training step of a small network came out ${off}; a graphics-driver fault), so training uses ${BACKEND_WORDS[now]} instead`
}

/**
 * Choose the training backend. A real GPU wins outright; on a software adapter (or none)
 * the candidates are measured with a short matmul probe and the fastest is kept, because
 * on a CPU-only machine WebGPU-on-SwiftShader is the slowest of all (field notes).
 */
export async function chooseBackend(pref: BackendChoice, env: BackendEnvironment = {}): Promise<BackendInfo> {
  const now = env.now ?? (() => performance.now())
  const probes: BackendInfo['probes'] = []
  let adapter: GpuAdapterLike | null = null
  try {
    adapter = (await env.gpu?.requestAdapter()) ?? null
  } catch {
    adapter = null
  }
  const adapterText = adapter ? describeAdapter(adapter) : undefined
  const kind = adapter ? adapterKind(adapter) : null
  const software = kind === null || kind === 'software'

  const failed: { name: BackendName; maxError: number }[] = []
  const finish = async (name: BackendName, reason: string): Promise<BackendInfo> => {
    const check = await gradientSelfTest()
    if (!check.ok && name !== 'cpu') {
      failed.push({ name, maxError: check.maxError })
      // The next backend: the fastest measured one not yet failed, then any that starts, then the CPU.
      const measured = probes.filter((p) => p.gflops !== null).sort((a, b) => (b.gflops ?? 0) - (a.gflops ?? 0)).map((p) => p.name)
      const order = [...measured, 'wasm', 'webgl', ...(adapter ? (['webgpu'] as const) : []), 'cpu'] as BackendName[]
      for (const next of order) {
        if (failed.some((f) => f.name === next)) continue
        if (next === 'cpu') await tf.setBackend('cpu')
        else if (!(await trySet(next, env))) continue
        return finish(next, selfTestWords(failed, next))
      }
    }
    const threads = name === 'wasm' ? env.wasmThreads?.() : undefined
    const threadText = !threads
      ? ''
      : threads.workers && threads.workers > 1
        ? `, on ${threads.workers} workers of ${threads.count > 1 ? `${threads.count} threads` : 'one thread'} each (full, freeze and LoRA runs split every batch between them)`
        : threads.count > 1
          ? `, on ${threads.count} threads`
          : `, on one thread${threads.note ? ` (${threads.note})` : ''}`
    return {
      name,
      reason: reason + threadText,
      software: name !== 'webgpu' || software,
      probes,
      ...(adapterText ? { adapter: adapterText } : {}),
      ...(threads ? { threads: threads.count } : {}),
      ...(threads?.workers ? { workers: threads.workers } : {}),
      ...(failed.length ? { selfTestFailed: [...failed] } : {}),
    }
  }

  if (pref !== 'auto') {
    if (await trySet(pref, env)) return finish(pref, `chosen in settings`)
    const fallback = await chooseBackend('auto', env)
    return { ...fallback, reason: `${pref} is not available in this browser; ${fallback.reason}` }
  }

  if (kind === 'gpu' && (await trySet('webgpu', env))) {
    return finish('webgpu', `WebGPU on a real GPU (${adapterText})`)
  }

  // Software, hidden or no adapter: measure what this machine really offers.
  const candidates: BackendName[] = adapter ? ['wasm', 'webgl', 'webgpu'] : ['wasm', 'webgl']
  for (const name of candidates) {
    if (!(await trySet(name, env))) {
      probes.push({ name, gflops: null, note: 'not available' })
      continue
    }
    try {
      probes.push({ name, gflops: await probeMatmul(now) })
    } catch (e) {
      probes.push({ name, gflops: null, note: String(e) })
    }
  }
  const best = probes
    .filter((p): p is { name: BackendName; gflops: number } => p.gflops !== null)
    .sort((a, b) => b.gflops - a.gflops)[0]
  const why = kind === 'hidden' ? `${HIDDEN_ADAPTER} (its vendor, architecture and description are hidden), so the backends were measured` : adapter ? `the WebGPU adapter is software (${adapterText})` : 'no WebGPU adapter'
  if (best && (await trySet(best.name, env))) {
    return finish(best.name, `${why}; ${best.name} measured fastest here (${best.gflops.toFixed(1)} GFLOP/s)`)
  }
  await tf.setBackend('cpu')
  return finish('cpu', `${why} and neither WebGL nor WebAssembly works here, so training uses plain JavaScript on the CPU (slow)`)
}
