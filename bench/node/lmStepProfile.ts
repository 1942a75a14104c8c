/**
 * Where a tiny-lm full fine-tuning step (forward, loss, gradients; no optimizer) goes on the
 * single-threaded wasm backend in Node, by kernel and by kernel + input shapes (tf.profile),
 * with the kernels as before 2026-12-06 18:00 (`old`: oldKernels in src/engine/benchSwitches.ts) and as
 * now (`new`), side by side from one run (steps alternate old / new).
 *
 *   npx tsx bench/node/lmStepProfile.ts [16x64,8x32] [--shapes] [--steps 8] [--lm | --switch a,b]
 *
 * --lm: `old` is only tiny-lm's fused kernels switched off (benchSwitch.lmOpPath, models/lmFused.ts).
 * --switch tfjsTranspose,widePacking: `old` is those benchSwitch keys on, the rest as now.
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
import { benchSwitch, oldKernels } from '../../src/engine/benchSwitches'
import type { TinyGpt } from '../../src/engine/models/tinyGpt'

// --lm: old = only tiny-lm's fused kernels off (benchSwitch.lmOpPath: models/lmFused.ts), the rest as now.
const lmOnly = process.argv.includes('--lm')
const switchAt = process.argv.indexOf('--switch')
const switches = switchAt > 0 ? (process.argv[switchAt + 1] ?? '').split(',').filter(Boolean) : []
for (const k of switches) if (!(k in benchSwitch)) throw new Error(`--switch: no benchSwitch.${k} (there are ${Object.keys(benchSwitch).join(', ')})`)
const setOld = (on: boolean) => {
  if (switches.length) for (const k of switches) benchSwitch[k as keyof typeof benchSwitch] = on
  else if (lmOnly) benchSwitch.lmOpPath = on
  else for (const k of Object.keys(oldKernels) as (keyof typeof oldKernels)[]) oldKernels[k] = on
}
type Kernels = Awaited<ReturnType<typeof tf.profile>>['kernels']
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

async function main() {
  wasm.setThreadsCount(1)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
  await tf.setBackend('wasm')
  await tf.ready()
  servePublic()
  const shapes = (process.argv.find((a) => /^\d+x\d+/.test(a)) ?? '16x64,8x32').split(',').map((s) => s.split('x').map(Number) as [number, number])
  const stepsAt = process.argv.indexOf('--steps')
  const N = stepsAt > 0 ? Number(process.argv[stepsAt + 1]) : 8
  console.log(`tiny-lm full fine-tuning step (forward, loss, gradients; no optimizer), wasm single-threaded SIMD in Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}; ${switches.length ? `old = benchSwitch ${switches.join(' + ')} on, new = off` : lmOnly ? 'old = benchSwitch.lmOpPath (tiny-lm\'s op path between the products), new = lmFused.ts' : 'old = oldKernels all on, new = off'}`)
  for (const [B, T] of shapes) {
    const w = await workload('tiny-lm', T)
    const model = w.model as TinyGpt
    const s = { ...benchSettings(w, 'full', B, T, 1), seed: 42 }
    const tuning = new Tuning(w.model, s, w.classes)
    const vars = trainableVariables(w.model, s, 0, tuning.parts)
    const { x, mask, labels } = inputTensors(slice(w.all, 0, B))
    const step = () =>
      tf.tidy(() => {
        const r = tf.variableGrads(() => softmaxCrossEntropy(tuning.head!.apply(model.pool(model.forward(x as tf.Tensor2D, { training: true }), mask), true), labels), vars)
        return [r.value, ...Object.values(r.grads)]
      })
    const times: Record<'old' | 'new', number[]> = { old: [], new: [] }
    for (const old of [true, false]) {
      setOld(old)
      for (let i = 0; i < 2; i++) tf.dispose(step())
    }
    for (let i = 0; i < N; i++)
      for (const old of i % 2 ? [true, false] : [false, true]) {
        setOld(old)
        const t = performance.now()
        const o = step()
        await o[0]!.data()
        times[old ? 'old' : 'new'].push(performance.now() - t)
        tf.dispose(o)
      }
    const profiles: Record<'old' | 'new', Kernels> = { old: [], new: [] }
    for (const old of [true, false]) {
      setOld(old)
      profiles[old ? 'old' : 'new'] = (await tf.profile(() => tf.dispose(step()))).kernels.filter((k) => tf.getKernel(k.name, tf.getBackend()))
    }
    setOld(false)
    const tot = (ks: Kernels) => ks.reduce((a, k) => a + Number(k.kernelTimeMs), 0)
    console.log(`\n## tiny-lm ${B} × ${T}: step ${median(times.old).toFixed(1)} ms old, ${median(times.new).toFixed(1)} ms new (medians of ${N} alternating unprofiled steps: ${(median(times.old) / median(times.new)).toFixed(2)}×); profiled kernel time ${tot(profiles.old).toFixed(1)} / ${tot(profiles.new).toFixed(1)} ms, ${profiles.old.length} / ${profiles.new.length} kernels; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`)
    const group = (key: (k: Kernels[number]) => string, top: number) => {
      const m = new Map<string, { old: [number, number]; new: [number, number] }>()
      for (const which of ['old', 'new'] as const)
        for (const k of profiles[which]) {
          const e = m.get(key(k)) ?? { old: [0, 0], new: [0, 0] }
          e[which][0]++
          e[which][1] += Number(k.kernelTimeMs)
          m.set(key(k), e)
        }
      for (const [k, e] of [...m].sort((a, b) => Math.max(b[1].old[1], b[1].new[1]) - Math.max(a[1].old[1], a[1].new[1])).slice(0, top)) console.log(`| ${k} | ${e.old[0]} | ${e.old[1].toFixed(2)} | ${e.new[0]} | ${e.new[1].toFixed(2)} |`)
    }
    console.log('| kernel | calls, old | ms, old | calls, new | ms, new |\n|---|---|---|---|---|')
    group((k) => k.name, 24)
    if (process.argv.includes('--shapes')) {
      console.log('\n| kernel, input shapes | calls, old | ms, old | calls, new | ms, new |\n|---|---|---|---|---|')
      group((k) => `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('·')}`, 30)
    }
    tuning.dispose()
    tf.dispose([x, labels, ...(mask ? [mask] : [])])
  }
}
main().then(() => process.exit(0))
