import * as tf from '@tensorflow/tfjs'
import type { BackendChoice } from '../settings/types'

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu'

export interface BackendInfo {
  name: BackendName // the backend training runs on
  reason: string // one sentence for the badge: why this one
  adapter?: string // WebGPU adapter description, when there is one
  software: boolean // true when the chosen backend runs on the CPU (SwiftShader, wasm, cpu)
  threads?: number // wasm only: the threads XNNPACK really runs (1 = one core)
  probes: { name: BackendName; gflops: number | null; note?: string }[]
}

/** What the host offers; the worker entry fills it so this module never touches globals. */
export interface BackendHost {
  gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } | undefined
  /** Registers tfjs-backend-webgpu / -wasm on demand (dynamic imports live in the worker). */
  loadBackend?: (name: 'webgpu' | 'wasm') => Promise<void>
  now?: () => number
  /** wasm only, once it runs: XNNPACK's real thread count, and why it is 1 on a multi-core machine. */
  wasmThreads?: () => { count: number; note?: string } | undefined
}

export interface GpuAdapterLike {
  isFallbackAdapter?: boolean
  info?: { vendor?: string; architecture?: string; description?: string; device?: string }
}

/** A software adapter computes on the CPU: SwiftShader, or the browser's fallback adapter. */
export function isSoftwareAdapter(a: GpuAdapterLike): boolean {
  if (a.isFallbackAdapter) return true
  const text = [a.info?.vendor, a.info?.architecture, a.info?.description, a.info?.device]
    .join(' ')
    .toLowerCase()
  return /swiftshader|llvmpipe|lavapipe|software|microsoft basic/.test(text)
}

function describeAdapter(a: GpuAdapterLike): string {
  const i = a.info ?? {}
  return [i.vendor, i.architecture, i.description].filter((s) => s).join(' / ') || 'unknown adapter'
}

async function trySet(name: BackendName, host: BackendHost): Promise<boolean> {
  try {
    if ((name === 'webgpu' || name === 'wasm') && host.loadBackend) await host.loadBackend(name)
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

/** One gradient of a tiny two-layer net on the active backend, compared with the cpu
 *  backend: catches drivers that silently train garbage (tfjs#8590, #7733). */
export async function gradientSelfTest(): Promise<{ ok: boolean; maxError: number }> {
  const compute = async () => {
    const w1 = tf.variable(tf.tensor2d([0.1, -0.2, 0.3, 0.4, -0.5, 0.6], [2, 3]))
    const w2 = tf.variable(tf.tensor2d([0.7, -0.1, 0.2], [3, 1]))
    const x = tf.tensor2d([1, 2, -1, 0.5], [2, 2])
    const { grads, value } = tf.variableGrads(
      () => tf.mean(tf.square(tf.matMul(tf.tanh(tf.matMul(x, w1)), w2))) as tf.Scalar,
      [w1, w2],
    )
    const out = [await value.data(), ...(await Promise.all(Object.values(grads).map((g) => g.data())))]
    tf.dispose([w1, w2, x, value, ...Object.values(grads)])
    return out.flatMap((a) => Array.from(a))
  }
  const active = tf.getBackend()
  const got = await compute()
  await tf.setBackend('cpu')
  const want = await compute()
  await tf.setBackend(active)
  const maxError = Math.max(...got.map((g, i) => Math.abs(g - (want[i] ?? NaN))))
  return { ok: Number.isFinite(maxError) && maxError < 1e-4, maxError }
}

/**
 * Choose the training backend. A real GPU wins outright; on a software adapter (or none)
 * the candidates are measured with a short matmul probe and the fastest is kept, because
 * on a CPU-only machine WebGPU-on-SwiftShader is the slowest of all (field notes).
 */
export async function chooseBackend(pref: BackendChoice, host: BackendHost = {}): Promise<BackendInfo> {
  const now = host.now ?? (() => performance.now())
  const probes: BackendInfo['probes'] = []
  let adapter: GpuAdapterLike | null = null
  try {
    adapter = (await host.gpu?.requestAdapter()) ?? null
  } catch {
    adapter = null
  }
  const adapterText = adapter ? describeAdapter(adapter) : undefined
  const software = adapter ? isSoftwareAdapter(adapter) : true

  const finish = async (name: BackendName, reason: string): Promise<BackendInfo> => {
    const check = await gradientSelfTest()
    if (!check.ok && name !== 'cpu') {
      await tf.setBackend('cpu')
      return {
        name: 'cpu',
        reason: `${name} failed the gradient self-test (error ${check.maxError.toExponential(1)}), so training uses the CPU`,
        software: true,
        probes,
        ...(adapterText ? { adapter: adapterText } : {}),
      }
    }
    const threads = name === 'wasm' ? host.wasmThreads?.() : undefined
    const threadText = threads ? (threads.count > 1 ? `, on ${threads.count} threads` : `, on one thread${threads.note ? ` (${threads.note})` : ''}`) : ''
    return {
      name,
      reason: reason + threadText,
      software: name !== 'webgpu' || software,
      probes,
      ...(adapterText ? { adapter: adapterText } : {}),
      ...(threads ? { threads: threads.count } : {}),
    }
  }

  if (pref !== 'auto') {
    if (await trySet(pref, host)) return finish(pref, `chosen in settings`)
    const fallback = await chooseBackend('auto', host)
    return { ...fallback, reason: `${pref} is not available in this browser; ${fallback.reason}` }
  }

  if (adapter && !software && (await trySet('webgpu', host))) {
    return finish('webgpu', `WebGPU on a real GPU (${adapterText})`)
  }

  // Software or no adapter: measure what this machine really offers.
  const candidates: BackendName[] = adapter ? ['wasm', 'webgl', 'webgpu'] : ['wasm', 'webgl']
  for (const name of candidates) {
    if (!(await trySet(name, host))) {
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
  const why = adapter ? `the WebGPU adapter is software (${adapterText})` : 'no WebGPU adapter'
  if (best && (await trySet(best.name, host))) {
    return finish(best.name, `${why}; ${best.name} measured fastest here (${best.gflops.toFixed(1)} GFLOP/s)`)
  }
  await tf.setBackend('cpu')
  return finish('cpu', `${why} and neither WebGL nor WebAssembly works here, so training uses plain JavaScript on the CPU (slow)`)
}
