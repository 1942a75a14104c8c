/** Kernel-time profile of one TinyGpt training step on the wasm backend (a diagnostic page). */
import * as tf from '@tensorflow/tfjs'
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import plainWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import simdWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import threadedWasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'
import { TinyGpt, type TinyGptConfig } from '../../src/engine/models/tinyGpt'
import { lmLoss } from '../../src/engine/train/pretrainLm'
import { checkFastWasmMatMul, installFastWasmMatMul } from './wasmMatMul'

setWasmPaths({
  'tfjs-backend-wasm.wasm': plainWasm,
  'tfjs-backend-wasm-simd.wasm': simdWasm,
  'tfjs-backend-wasm-threaded-simd.wasm': threadedWasm,
})

declare global {
  interface Window {
    profileStep?: (cfg: TinyGptConfig, batch: number, threads: number, fast: boolean, hc: number) => Promise<object>
  }
}

window.profileStep = async (cfg, batch, threads, fast, hc) => {
  if (hc > 0) Object.defineProperty(navigator, 'hardwareConcurrency', { get: () => hc })
  if (threads > 0) setThreadsCount(threads)
  await tf.setBackend('wasm')
  await tf.ready()
  if (fast) {
    installFastWasmMatMul()
    await checkFastWasmMatMul()
  }
  const model = new TinyGpt(cfg)
  const vars = model.params.map((p) => p.variable)
  const data = tf.randomUniform([batch, cfg.seqLen + 1], 0, cfg.vocabSize, 'int32') as tf.Tensor2D
  const read = async (t: tf.Tensor) => {
    await t.data()
    t.dispose()
  }
  const step = () => tf.tidy(() => tf.variableGrads(() => lmLoss(model, data), vars).value)
  await read(step()) // warm-up: kernels set up, XNNPACK operators created
  const t0 = performance.now()
  for (let i = 0; i < 2; i++) await read(step())
  const stepMs = (performance.now() - t0) / 2
  const t1 = performance.now()
  for (let i = 0; i < 2; i++) await read(tf.tidy(() => lmLoss(model, data)))
  const fwdMs = (performance.now() - t1) / 2
  const prof = await tf.profile(() => read(step()))
  const by = new Map<string, { ms: number; n: number; shapes: string }>()
  for (const k of prof.kernels) {
    const key = `${k.name} ${JSON.stringify(k.inputShapes)}`
    const e = by.get(key) ?? { ms: 0, n: 0, shapes: '' }
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0
    e.n++
    by.set(key, e)
  }
  const top = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25).map(([k, v]) => `${v.ms.toFixed(1)} ms ×${v.n} ${k}`)
  model.dispose()
  return { threads: getThreadsCount(), hc: navigator.hardwareConcurrency, stepMs, fwdMs, top }
}
