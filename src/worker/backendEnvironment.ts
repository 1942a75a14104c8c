import * as tf from '@tensorflow/tfjs'
import type { BackendEnvironment } from '../engine/backend'
import type { GradientPeer } from '../engine/train/dataParallel'
import { widenShapeFeedback } from '../engine/shapeFeedback'
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm')

/** tfjs-backend-wasm starts 8 pthread workers up front; asking XNNPACK for more threads than
 *  that would create workers that cannot load while the worker is busy computing. */
const WASM_PTHREAD_POOL = 8

/** XNNPACK's threads (the training worker itself plus pthreads) for the cores the browser
 *  reports: one fewer than the cores, within the pthread pool, but 2 on a 2-core machine.
 *  tfjs' own default is half the cores (one thread on a 2-core machine).
 *  Why not one per core: every operation XNNPACK splits waits for its slowest thread, so a
 *  pool that needs more cores than are free stalls at every operation. With 3 threads on 2
 *  cores, full fine-tuning ran at 0.42× (tiny-lm) and 0.23× (emoji-cnn) the speed of one
 *  thread (bench/results/2026-12-06T08-32-07-988Z-threadcount.md); while training, the
 *  page's main thread redraws the charts and the browser works too, so one core is left to
 *  them. On 2 cores that would leave one thread, but two measured no worse: 1.09× / 1.02× on
 *  an idle machine and the first click's run 1.2× faster (…07-27-08-026Z-threads.md), 0.98× /
 *  0.80× on a busy one; large products (512²) 1.86×. */
export function wasmThreadsFor(hardwareConcurrency: number | undefined): number {
  const cores = Math.max(1, Math.floor(hardwareConcurrency ?? 1))
  return Math.min(WASM_PTHREAD_POOL, cores <= 2 ? cores : cores - 1)
}

/**
 * Starts tfjs' wasm backend with `threads` threads. Its C++ side caps the thread count at
 * navigator.hardwareConcurrency / 2, read once as the module starts ("many x86-64
 * processors have 2 threads per core"), so a 2-core machine got one thread whatever
 * setThreadsCount said. While the module starts, hardwareConcurrency reads twice the
 * threads wanted; the real value comes back as soon as the module has started.
 */
export async function startWasmWithThreads(
  nav: { hardwareConcurrency?: number },
  threads: number,
  setThreadsCount: (n: number) => void,
): Promise<boolean> {
  setThreadsCount(threads)
  const own = Object.getOwnPropertyDescriptor(nav, 'hardwareConcurrency')
  Object.defineProperty(nav, 'hardwareConcurrency', { value: threads * 2, configurable: true })
  try {
    return await tf.setBackend('wasm')
  } finally {
    if (own) Object.defineProperty(nav, 'hardwareConcurrency', own)
    else delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency
  }
}

/** Engine workers for the cores the browser reports (the 'workers' mode): half of them (tfjs-wasm's
 *  own guess at the physical cores, since most x86-64 machines report two logical processors
 *  a core: one worker a core, the other logical processor left to the page, the browser and
 *  the worker's own compile and collection threads), at least 2 where there are 2 or more, at
 *  most 8 (a batch of 16 is then 2 rows a worker, and every worker pays each step's fixed
 *  cost: kernels, JavaScript). `asked` (the worker's name: `workers=N`, from localStorage
 *  "studio.workers") overrides it for comparisons (bench/, e2e/), within 1–16.
 *  Only 2 workers have been timed (a 2-core machine: bench/results/); more follow the same
 *  code and are checked for equal numbers (dataParallelShares.test.ts). */
export function engineWorkersFor(hardwareConcurrency: number | undefined, asked?: number): number {
  if (asked !== undefined && Number.isInteger(asked) && asked >= 1) return Math.min(16, asked)
  const cores = Math.max(1, Math.floor(hardwareConcurrency ?? 1))
  if (cores < 2) return 1
  return Math.min(8, Math.max(2, Math.floor(cores / 2)))
}

/** The engine workers asked for in the worker's name (`workers=N`), if any. */
export function workersAskedOf(workerName: string): number | undefined {
  const m = /(?:^|;)workers=(\d{1,2})(?:;|$)/.exec(workerName)
  return m ? Number(m[1]) : undefined
}

/** How the CPU's cores train on WebAssembly:
 *  - 'workers' (the default where there are 2 cores or more): engine workers each on one
 *    thread (engineWorkersFor: 2 on a 2-core machine), each computing its share of every batch
 *    of a full, freeze or LoRA run (engine/train/dataParallel.ts). On the built-in models two
 *    measured 1.3-1.7× one thread where XNNPACK's threads gave 1.0-1.1×
 *    (bench/results/2026-12-06-data-parallel.md, README "Benchmarks");
 *  - 'threads': one worker, XNNPACK's threads (wasmThreadsFor);
 *  - 'one': one worker on one thread;
 *  - 'steps': two workers as 'workers', but only the training steps split: the feature cache,
 *    the zero-shot baseline and the evaluations on the first (how 'workers' ran before they
 *    were split too, train/inferencePasses.ts).
 *  The page picks another than the default only for comparisons (bench/, e2e/): it puts
 *  `cpu=<mode>` in the worker's name (worker/client.ts reads localStorage "studio.cpu"). */
export type CpuMode = 'workers' | 'threads' | 'one' | 'steps'

export function cpuModeOf(workerName: string): CpuMode {
  const m = /(?:^|;)cpu=(workers|threads|one|steps)(?:;|$)/.exec(workerName)
  return (m?.[1] as CpuMode | undefined) ?? 'workers'
}

/** The wasm module with the app's own .wasm file URLs (the training worker and the second worker). */
export async function importWasm(): Promise<WasmModule> {
  // Both engine workers load wasm here, before their first step (engine/shapeFeedback.ts).
  widenShapeFeedback()
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  wasm.setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
  })
  return wasm
}

/** One thread on the single-threaded SIMD build: no pthread pool to start or to wake, so
 *  each of two engine workers keeps to its own core. */
export async function startWasmOneThread(wasm: WasmModule): Promise<boolean> {
  wasm.setThreadsCount(1)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
  return tf.setBackend('wasm')
}

/** Backends other than webgl/cpu are imported on demand: a browser that never uses
 *  WebGPU or WebAssembly never downloads them. `spawnWorker` starts one of the other engine
 *  workers the 'workers' mode shares batches with (worker/gradientPeer.ts); `workersAsked`
 *  overrides how many (engineWorkersFor). */
export function browserBackendEnvironment(nav: WorkerNavigator, isolated: boolean, mode: CpuMode = 'workers', spawnWorker?: (index: number, workers: number) => GradientPeer, workersAsked?: number): BackendEnvironment {
  const gpu = (nav as WorkerNavigator & { gpu?: BackendEnvironment['gpu'] }).gpu
  let wasmModule: WasmModule | undefined
  const workers = engineWorkersFor(nav.hardwareConcurrency, workersAsked)
  const split = (mode === 'workers' || mode === 'steps') && workers >= 2 && !!spawnWorker
  let others: GradientPeer[] | null = null
  return {
    gpu,
    async loadBackend(name) {
      if (name === 'webgpu') {
        if (!gpu) throw new Error('WebGPU is not exposed in this browser')
        await import('@tensorflow/tfjs-backend-webgpu')
      } else {
        if (wasmModule) return // started already
        const wasm = await importWasm()
        wasmModule = wasm
        // Started here (which also makes wasm the active backend, as the caller is about to).
        if (split || mode === 'one') await startWasmOneThread(wasm)
        // Threads need a cross-origin isolated page (SharedArrayBuffer); without it tfjs falls
        // back to single-threaded SIMD. The built app's pthreads need wasmThreads.plugin.ts.
        else await startWasmWithThreads(nav, wasmThreadsFor(nav.hardwareConcurrency), wasm.setThreadsCount)
      }
    },
    ...(split ? { otherWorkers: () => (others ??= Array.from({ length: workers - 1 }, (_, i) => spawnWorker!(i + 1, workers))), ...(mode === 'steps' ? { secondWorkerPasses: false } : {}) } : {}),
    wasmThreads() {
      let count: number
      try {
        count = wasmModule?.getThreadsCount() ?? 1 // XNNPACK's real thread count, set at start-up
      } catch {
        return undefined // not started
      }
      if (split) return { count, workers }
      if (mode === 'one') return { count, note: 'chosen for a comparison' }
      if (count > 1 || (nav.hardwareConcurrency ?? 1) <= 1) return { count }
      return {
        count,
        note: isolated
          ? 'this browser refused WebAssembly threads'
          : 'WebAssembly threads need a cross-origin isolated page (see README "Hosting")',
      }
    },
  }
}
