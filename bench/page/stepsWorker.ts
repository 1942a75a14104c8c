/// <reference lib="webworker" />
/** The bench's training in a dedicated worker, set up as the app's worker is
 *  (src/worker/backendEnvironment.ts): there the wasm threads' waits block, where on a page's main
 *  thread Emscripten has to spin. bench/threads.mjs times threads here. */
import * as tf from '@tensorflow/tfjs'
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import threadedWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'
import { startWasmWithThreads, wasmThreadsFor } from '../../src/worker/backendEnvironment'
import { matmulFlops } from './flops'
import { useOneHotEmbedding } from './oneHotEmbedding'
import { benchSteps, type StepsArgs } from './steps'

const ctx = self as unknown as DedicatedWorkerGlobalScope
/** threads: 'one' = tfjs' single-threaded SIMD build; 'all' = the threaded build with the
 *  app's count (wasmThreadsFor); a number = the threaded build with that many threads (the
 *  caller plus n - 1 pthreads), to compare counts on the same binary (bench/threadCount.mjs). */
type Msg = { id: number } & ({ type: 'init'; threads: 'one' | 'all' | number; embed: 'lookup' | 'onehot' } | { type: 'steps'; args: StepsArgs } | { type: 'matmul'; n: number; reps: number } | { type: 'add'; n: number; reps: number; gapUs?: number; bias?: boolean })

/** Microseconds per tf.add of two [n] float tensors (with `bias`: [n / 128, 128] + [128], as a
 *  layer's bias add), `reps` of them back to back and one read at the end: what a small
 *  elementwise kernel costs; XNNPACK runs it on its thread pool. With `gapUs`, each add is
 *  followed by that long a busy wait on the calling thread (as a step's single-threaded kernels
 *  and JavaScript sit between pooled ones), left out of the figure: the pool's threads then
 *  wait idle between adds, and the figure includes waking them. */
async function addMicros(n: number, reps: number, gapUs = 0, bias = false): Promise<number> {
  const a = tf.randomNormal(bias ? [n / 128, 128] : [n], 0, 1, 'float32', 1)
  const b = bias ? tf.randomNormal([128], 0, 1, 'float32', 2) : a
  const run = () => {
    let x = a
    for (let i = 0; i < reps; i++) {
      const y = tf.add(x, b)
      if (x !== a) x.dispose()
      x = y
      if (gapUs > 0) for (const until = performance.now() + gapUs / 1000; performance.now() < until; );
    }
    return x
  }
  const warm = run()
  await warm.data()
  warm.dispose()
  const t0 = performance.now()
  const out = run()
  await out.data()
  const us = ((performance.now() - t0) * 1000) / reps - gapUs
  tf.dispose([a, b, out])
  return us
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
  const t0 = performance.now()
  for (let i = 0; i < reps; i++) await run()
  const sec = (performance.now() - t0) / 1000
  tf.dispose([a, b])
  return (matmulFlops(n) * reps) / sec / 1e9
}

async function handle(m: Msg): Promise<unknown> {
  if (m.type === 'init') {
    if (m.threads === 'one') tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
    if (m.embed === 'onehot') useOneHotEmbedding()
    setWasmPaths({ 'tfjs-backend-wasm.wasm': plainWasm, 'tfjs-backend-wasm-simd.wasm': simdWasm, 'tfjs-backend-wasm-threaded-simd.wasm': threadedWasm })
    const count = m.threads === 'one' ? 1 : m.threads === 'all' ? wasmThreadsFor(ctx.navigator.hardwareConcurrency) : m.threads
    await startWasmWithThreads(ctx.navigator, count, setThreadsCount)
    const threadedBuild = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')
    return { threads: getThreadsCount(), build: threadedBuild ? 'threaded-simd' : 'simd', isolated: ctx.crossOriginIsolated, cores: ctx.navigator.hardwareConcurrency }
  }
  if (m.type === 'matmul') return matmulGflops(m.n, m.reps)
  if (m.type === 'add') return addMicros(m.n, m.reps, m.gapUs, m.bias)
  return benchSteps(m.args, () => getThreadsCount())
}

ctx.onmessage = (e: MessageEvent<Msg>) => {
  handle(e.data).then(
    (result) => ctx.postMessage({ id: e.data.id, result }),
    (err: unknown) => ctx.postMessage({ id: e.data.id, error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) }),
  )
}
