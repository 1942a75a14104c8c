/**
 * Where a tiny-lm full fine-tuning step (forward, loss, gradients; no optimizer) goes on the
 * single-threaded wasm backend in Node, by kernel and by kernel + input shapes (tf.profile).
 *
 *   npx tsx bench/node/lmStepProfile.ts [16x64,8x32] [--shapes]
 */
import * as tf from '@tensorflow/tfjs'
import * as wasm from '@tensorflow/tfjs-backend-wasm'
import os from 'node:os'
import { servePublic } from './nodeHost'
import { workload, slice, inputTensors } from '../page/workloads'
import { Tuning } from '../../src/engine/train/fineTune'
import { benchSettings } from '../page/loops'
import { softmaxCrossEntropy } from '../../src/engine/train/losses'
import { trainableVariables } from '../../src/engine/tuning/freeze'
import type { TinyGpt } from '../../src/engine/models/tinyGpt'

async function main() {
  wasm.setThreadsCount(1)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
  await tf.setBackend('wasm'); await tf.ready()
  servePublic()
  const shapes = (process.argv.find((a) => /^\d+x\d+/.test(a)) ?? '16x64,8x32').split(',').map((s) => s.split('x').map(Number) as [number, number])
  for (const [B, T] of shapes) {
    const w = await workload('tiny-lm', T)
    const model = w.model as TinyGpt
    const s = { ...benchSettings(w, 'full', B, T, 1), seed: 42 }
    const tuning = new Tuning(w.model, s, w.classes)
    const vars = trainableVariables(w.model, s, 0, tuning.parts)
    const { x, mask, labels } = inputTensors(slice(w.all, 0, B))
    const step = () => tf.tidy(() => {
      const r = tf.variableGrads(() => softmaxCrossEntropy(tuning.head!.apply(model.pool(model.forward(x as tf.Tensor2D, { training: true }), mask), true), labels), vars)
      return [r.value, ...Object.values(r.grads)]
    })
    for (let i = 0; i < 3; i++) tf.dispose(step())
    const t = performance.now(); const N = 8
    for (let i = 0; i < N; i++) { const o = step(); await o[0]!.data(); tf.dispose(o) }
    const ms = (performance.now() - t) / N
    const p = await tf.profile(() => { const o = step(); tf.dispose(o) })
    const own = p.kernels.filter((k) => tf.getKernel(k.name, tf.getBackend()))
    const tot = own.reduce((a, k) => a + Number(k.kernelTimeMs), 0)
    console.log(`tiny-lm ${B}x${T}: step ${ms.toFixed(1)} ms (unprofiled, no optimizer); ${own.length} kernels, kernel time ${tot.toFixed(1)} ms; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
    const group = (key: (k: (typeof own)[number]) => string, top: number) => {
      const m = new Map<string, { n: number; ms: number }>()
      for (const k of own) { const e = m.get(key(k)) ?? { n: 0, ms: 0 }; e.n++; e.ms += Number(k.kernelTimeMs); m.set(key(k), e) }
      for (const [k, e] of [...m].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) console.log(`| ${k} | ${e.n} | ${e.ms.toFixed(2)} |`)
    }
    console.log('| kernel | calls | ms |\n|---|---|---|'); group((k) => k.name, 30)
    if (process.argv.includes('--shapes')) { console.log('| kernel, input shapes | calls | ms |\n|---|---|---|'); group((k) => `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('·')}`, 40) }
    tuning.dispose(); tf.dispose([x, labels, ...(mask ? [mask] : [])])
  }
}
main().then(() => process.exit(0))
