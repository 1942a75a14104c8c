/// <reference lib="webworker" />
/** The bench's training in a dedicated worker, set up as the app's worker is
 *  (src/worker/backendHost.ts): there the wasm threads' waits block, where on a page's main
 *  thread Emscripten has to spin. bench/threads.mjs times threads here. */
import * as tf from '@tensorflow/tfjs'
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import threadedWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'
import { startWasmWithThreads, wasmThreadsFor } from '../../src/worker/backendHost'
import { matmulFlops } from './flops'
import { useOneHotEmbedding } from './oneHotEmbedding'
import { benchSteps, type StepsArgs } from './steps'

const ctx = self as unknown as DedicatedWorkerGlobalScope
type Msg = { id: number } & ({ type: 'init'; threads: 'one' | 'all'; embed: 'lookup' | 'onehot' } | { type: 'steps'; args: StepsArgs } | { type: 'matmul'; n: number; reps: number })

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
    await startWasmWithThreads(ctx.navigator, m.threads === 'one' ? 1 : wasmThreadsFor(ctx.navigator.hardwareConcurrency), setThreadsCount)
    return { threads: getThreadsCount(), isolated: ctx.crossOriginIsolated, cores: ctx.navigator.hardwareConcurrency }
  }
  if (m.type === 'matmul') return matmulGflops(m.n, m.reps)
  return benchSteps(m.args, () => getThreadsCount())
}

ctx.onmessage = (e: MessageEvent<Msg>) => {
  handle(e.data).then(
    (result) => ctx.postMessage({ id: e.data.id, result }),
    (err: unknown) => ctx.postMessage({ id: e.data.id, error: err instanceof Error ? `${err.message}\n${err.stack}` : String(err) }),
  )
}
