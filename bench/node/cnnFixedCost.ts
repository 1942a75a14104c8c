/**
 * What one emoji-cnn full fine-tuning step costs that does not grow with the batch (issue 19: two
 * workers each pay it on their half, so it caps the data-parallel speed-up). The studio's own
 * step, as fineTune runs it on one worker (wasm, single thread, as the app's workers): the batch
 * gathered from the set on the device, the classification loss and its gradients
 * (tf.variableGrads), Adam's update (train/optimizers.ts, fused on wasm), the loss read back.
 * At batches 2, 4, 8 and 16, alternating rounds; each phase's median and a least-squares line
 * t(b) = fixed + per-image·b over the batches. Then one step at the smallest and the largest
 * batch under tf.profile: kernels by kind (calls, ms), and the wall time outside kernels.
 *
 *   npx tsx bench/node/cnnFixedCost.ts [--batches 2,4,8,16] [--rounds 4] [--steps 8] [--switch key,key] [--shapes]
 *
 * `--switch a,b`: each round also runs with those benchSwitch keys on (`old`), alternating with
 * them off (`new`), so a change and its old path are timed side by side.
 * Writes bench/results/<stamp>-cnn-fixed-cost.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { median } from './benchProcess'
import { startOneThreadWasm, kernelsByKind } from './wasmStepBench'
import { workload, slice } from '../page/workloads'
import { benchSettings } from '../page/loops'
import { Tuning } from '../../src/engine/train/fineTune'
import { trainableVariables } from '../../src/engine/tuning/freeze'
import { decayFlags } from '../../src/engine/train/loopState'
import { createOptimizer } from '../../src/engine/train/optimizers'
import { BatchSource } from '../../src/engine/train/batchSource'
import { gatherBatch, planCache } from '../../src/engine/train/forward'
import { taskFor } from '../../src/engine/tasks'
import { benchSwitch } from '../../src/engine/benchSwitches'

const here = fileURLToPath(import.meta.url)
const now = () => performance.now()
type Phase = 'batch' | 'gradients' | 'update' | 'loss read' | 'step'
const PHASES: Phase[] = ['batch', 'gradients', 'update', 'loss read', 'step']

async function main() {
  const { values: opts } = parseArgs({
    options: {
      batches: { type: 'string', default: '2,4,8,16' },
      rounds: { type: 'string', default: '4' },
      steps: { type: 'string', default: '8' },
      switch: { type: 'string', default: '' },
      shapes: { type: 'boolean', default: false },
      label: { type: 'string', default: '' },
      out: { type: 'string', default: path.join(path.dirname(here), '../results') },
    },
  })
  await startOneThreadWasm()
  const started = new Date()
  const load0 = os.loadavg()
  const w = await workload('emoji-cnn', 32)
  const batches = opts.batches.split(',').map(Number)
  const switches = opts.switch ? (opts.switch.split(',') as (keyof typeof benchSwitch)[]) : []
  for (const k of switches) if (!(k in benchSwitch)) throw new Error(`no benchSwitch ${k}`)
  const sides = switches.length ? (['new', 'old'] as const) : (['new'] as const)
  const setSide = (side: 'new' | 'old') => {
    for (const k of switches) benchSwitch[k] = side === 'old'
  }
  const rowsN = Math.min(w.all.n, 256)
  const set = slice(w.all, 0, rowsN)
  const initial = w.model.params.map((p) => p.variable.clone())

  /** One step's machinery at batch b, as fineTune's loop runs it. */
  const setup = (b: number) => {
    const s = { ...benchSettings(w, 'full', b, 32, 1), seed: 42 }
    const tuning = new Tuning(w.model, s, w.classes)
    const vars = trainableVariables(w.model, s, 0, tuning.parts)
    const opt = createOptimizer(s.optimizer, { weightDecay: s.weightDecay, momentum: s.momentum, decayMask: decayFlags(w.model, tuning.parts) })
    const source = BatchSource.device(set)
    const cache = planCache(w.model, tuning, set, set, s, 0, null)
    const task = taskFor(set, tuning)
    tuning.trainable = tuning.namesOf(new Set(vars))
    let step = 0
    const run = async (t: Record<Phase, number> | null) => {
      const t0 = now()
      const idx = Array.from({ length: b }, (_, i) => (step * b + i) % rowsN)
      let t1 = 0
      const { value, grads } = tf.tidy(() => {
        const batch = gatherBatch(source, cache, 'train', idx)
        t1 = now()
        const r = tf.variableGrads(() => task.loss(w.model, tuning, batch, cache, s, true, step), vars)
        return { value: r.value, grads: vars.map((v) => r.grads[v.name]!) }
      })
      const t2 = now()
      tf.tidy(() => opt.step(grads, vars, s.learningRate))
      tf.dispose(grads)
      const t3 = now()
      await value.data()
      value.dispose()
      const t4 = now()
      step++
      if (t) {
        t.batch += t1 - t0
        t.gradients += t2 - t1
        t.update += t3 - t2
        t['loss read'] += t4 - t3
        t.step += t4 - t0
      }
    }
    const dispose = () => {
      opt.dispose()
      source.dispose()
      cache.dispose()
      tuning.dispose()
      w.model.params.forEach((p, i) => p.variable.assign(initial[i]!))
    }
    return { run, dispose, vars, opt, tuning, source, cache, task, s }
  }

  const steps = Number(opts.steps)
  const runs: { b: number; side: string; round: number; t: Record<Phase, number>; load1: number; tensors: number }[] = []
  for (let r = 0; r < Number(opts.rounds); r++) {
    for (const b of r % 2 ? [...batches].reverse() : batches) {
      for (const side of r % 2 ? [...sides].reverse() : sides) {
        setSide(side)
        const m = setup(b)
        for (let i = 0; i < 2; i++) await m.run(null) // warm-up
        const tensors0 = tf.memory().numTensors
        const t = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>
        const load1 = os.loadavg()[0]!
        for (let i = 0; i < steps; i++) await m.run(t)
        const tensors = tf.memory().numTensors - tensors0
        for (const p of PHASES) t[p] /= steps
        m.dispose()
        runs.push({ b, side, round: r, t, load1, tensors })
        console.log(`round ${r} b${b} ${side}: ${PHASES.map((p) => `${p} ${t[p].toFixed(1)}`).join(', ')} ms; load ${load1.toFixed(2)}; tensors +${tensors}`)
      }
    }
  }
  setSide('new')

  const L: string[] = []
  L.push(`# emoji-cnn: the fixed cost of a full fine-tuning step (Node, wasm, one worker), ${started.toISOString()}${opts.label ? ` — ${opts.label}` : ''}`, '')
  L.push(`\`npx tsx bench/node/cnnFixedCost.ts ${process.argv.slice(2).join(' ')}\`: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}. Load average at start ${load0.map((x) => x.toFixed(2)).join(' / ')}, at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}. The studio's step as fineTune runs it (device batch gather, classification loss, tf.variableGrads, Adam through train/optimizers.ts, the loss read back), full fine-tuning, Adam, no clipping, dropout off; ${opts.rounds} rounds over the batches${switches.length ? `, each with benchSwitch ${switches.join(',')} on (old) and off (new), alternating` : ''}, ${steps} timed steps a run after 2 warm-up steps; ms a step, medians over rounds. fixed + per image: least squares over the batches.`, '')
  for (const side of sides) {
    L.push(`## ${side === 'old' ? `old (benchSwitch ${switches.join(',')} on)` : switches.length ? 'new' : 'as now'}`, '')
    L.push(`| phase | ${batches.map((b) => `b${b}`).join(' | ')} | fixed | per image |`, `|---|${batches.map(() => '---|').join('')}---|---|`)
    for (const p of PHASES) {
      const ys = batches.map((b) => median(runs.filter((x) => x.b === b && x.side === side).map((x) => x.t[p])))
      const { a, c } = fit(batches, ys)
      L.push(`| ${p} | ${ys.map((y) => y.toFixed(1)).join(' | ')} | ${a.toFixed(1)} | ${c.toFixed(2)} |`)
    }
    L.push('', `Tensors left after a run's steps (must be 0): ${[...new Set(runs.filter((x) => x.side === side).map((x) => x.tensors))].join(', ')}. Loads: ${runs.filter((x) => x.side === side).map((x) => x.load1.toFixed(1)).join(' ')}.`, '')
  }

  // One profiled step at the smallest and largest batch: kernels by kind.
  for (const side of sides) {
    setSide(side)
    for (const b of [batches[0]!, batches[batches.length - 1]!]) {
      const m = setup(b)
      for (let i = 0; i < 3; i++) await m.run(null)
      let wall = 0
      const p = await tf.profile(async () => {
        const t0 = now()
        await m.run(null)
        wall = now() - t0
      })
      m.dispose()
      const { by, byShape, wrappers } = kernelsByKind(p.kernels)
      const n = [...by.values()].reduce((a, e) => a + e.n, 0)
      const total = [...by.values()].reduce((a, e) => a + e.ms, 0)
      L.push(`## One profiled step, batch ${b}${switches.length ? `, ${side}` : ''}: ${n} kernels (+${wrappers} custom-gradient wrappers), ${total.toFixed(1)} ms in kernels, ${wall.toFixed(1)} ms wall under the profiler (the profiler adds its own time a kernel)`, '')
      L.push('| kernel | calls | ms |', '|---|---|---|')
      for (const [k, e] of [...by].sort((x, y) => y[1].ms - x[1].ms)) L.push(`| ${k} | ${e.n} | ${e.ms.toFixed(2)} |`)
      if (opts.shapes) {
        L.push('', '| kernel and input shapes | calls | ms |', '|---|---|---|')
        for (const [k, e] of [...byShape].sort((x, y) => y[1].ms - x[1].ms).slice(0, 40)) L.push(`| ${k} | ${e.n} | ${e.ms.toFixed(2)} |`)
      }
      L.push('')
    }
  }
  setSide('new')
  tf.dispose(initial)
  const text = L.join('\n')
  console.log(text)
  mkdirSync(opts.out, { recursive: true })
  const file = path.join(opts.out, `${started.toISOString().replace(/[:.]/g, '-')}-cnn-fixed-cost.md`)
  writeFileSync(file, text + '\n')
  console.log(`wrote ${file}`)
}

/** Least-squares line y = a + c·x. */
function fit(xs: number[], ys: number[]): { a: number; c: number } {
  const n = xs.length
  const mx = xs.reduce((s, x) => s + x, 0) / n
  const my = ys.reduce((s, y) => s + y, 0) / n
  let sxy = 0
  let sxx = 0
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my)
    sxx += (x - mx) ** 2
  })
  const c = sxx ? sxy / sxx : 0
  return { a: my - c * mx, c }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
