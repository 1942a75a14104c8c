/**
 * The optimizer's update alone, per step, old (tf ops, about 14 kernels a weight) against new
 * (one fused kernel a weight, src/engine/train/fusedUpdate.ts), alternating in one run, on the
 * weights full fine-tuning trains (both built-in models, the head included), with AdamW and the
 * studio's default weight decay (0.01, per each weight's decay flag). Also times the gradient
 * clipping (clipByGlobalNorm), which runs before the update when "Clip grad norm" is on (the
 * default, 1), and two workers' combine of their halves' gradients (dataParallel.ts). Gradients
 * are fixed random tensors; each step runs in a tf.tidy as in fineTune.
 *
 *   npx tsx bench/node/optimizerStep.ts [--backend wasm|cpu] [--rounds 5] [--steps 20] [--priority]
 *
 * Writes bench/results/<stamp>-optimizer-step.md and .json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { median, raisePriority } from './benchProcess'
import * as tf from '@tensorflow/tfjs'
import * as wasm from '@tensorflow/tfjs-backend-wasm'
import { servePublic, pngDecoder } from './nodeHost'
import { workload, useImageDecoder, type WorkloadId } from '../page/workloads'
import { benchSettings } from '../page/loops'
import { Tuning } from '../../src/engine/train/fineTune'
import { trainableVariables } from '../../src/engine/tuning/freeze'
import { decayFlags } from '../../src/engine/train/loopState'
import { createOptimizer } from '../../src/engine/train/optimizers'
import { clipByGlobalNorm } from '../../src/engine/train/clipping'
import { benchSwitch } from '../../src/engine/benchSwitches'
import { runCombineHalves } from '../../src/engine/train/fusedUpdate'

const here = fileURLToPath(import.meta.url)
const now = () => performance.now()
async function main(): Promise<void> {
  const { values: opts } = parseArgs({
    options: {
      backend: { type: 'string', default: 'wasm' },
      rounds: { type: 'string', default: '5' },
      steps: { type: 'string', default: '20' },
      models: { type: 'string', default: 'tiny-lm,emoji-cnn' },
      priority: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join(path.dirname(here), '../results') },
    },
  })
  const priority = raisePriority(opts.priority) // --priority: autogroup nice -20 (benchProcess.ts)
  wasm.setThreadsCount(1)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
  if (!(await tf.setBackend(opts.backend))) throw new Error(`${opts.backend} did not start`)
  await tf.ready()
  servePublic()
  useImageDecoder(pngDecoder)
  const stamp = new Date().toISOString()
  const rounds = Number(opts.rounds)
  const steps = Number(opts.steps)
  const L: string[] = []
  const loads: number[] = []
  const summary: Record<string, unknown> = {}
  L.push(`# The optimizer's update per step, tf ops (old) against fused kernels (new), ${stamp}`, '')
  L.push(`\`npx tsx bench/node/optimizerStep.ts --backend ${opts.backend}\`: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, tfjs ${opts.backend} (one thread); priority ${priority}. AdamW, weight decay 0.01 on the weights that declare it, full fine-tuning's trainable weights; ${rounds} rounds alternating old and new, ${steps} timed steps each after 3 untimed; medians of the rounds' ms a step. Kernels: tf.profile of one step (the second: the first makes the moments).`, '')
  L.push('| model | weights (tensors, values) | what | old: ms a step | new: ms a step | old ÷ new | kernels old → new | rounds old / new (ms) |', '|---|---|---|---|---|---|---|---|')
  for (const id of opts.models.split(',') as WorkloadId[]) {
    const w = await workload(id, 64)
    const s = { ...benchSettings(w, 'full', 16, 64, 1), seed: 42 }
    const tuning = new Tuning(w.model, s, w.classes)
    const vars = trainableVariables(w.model, s, 0, tuning.parts)
    const mask = decayFlags(w.model, tuning.parts)
    const size = vars.reduce((a, v) => a + v.size, 0)
    const initial = vars.map((v) => v.clone())
    let seed = 7
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.02
    const grads = vars.map((v) => tf.tensor(Float32Array.from({ length: v.size }, rand), v.shape, 'float32'))
    const run = (fused: boolean, clip: boolean) => {
      benchSwitch.unfusedOptimizer = !fused
      vars.forEach((v, i) => v.assign(initial[i]!))
      const opt = createOptimizer('adamw', { weightDecay: 0.01, momentum: 0, decayMask: mask })
      const one = () =>
        tf.tidy(() => {
          const g = clip ? clipByGlobalNorm(grads, 1e-3).grads : grads
          opt.step(g, vars, 1e-3)
        })
      for (let k = 0; k < 3; k++) one()
      const t0 = now()
      for (let k = 0; k < steps; k++) one()
      const ms = (now() - t0) / steps
      opt.dispose()
      return ms
    }
    const kernelsOf = async (fused: boolean, clip: boolean) => {
      benchSwitch.unfusedOptimizer = !fused
      const opt = createOptimizer('adamw', { weightDecay: 0.01, momentum: 0, decayMask: mask })
      tf.tidy(() => opt.step(grads, vars, 1e-3)) // the moments are made here, not in the profiled step
      const p = await tf.profile(() => tf.tidy(() => opt.step(clip ? clipByGlobalNorm(grads, 1e-3).grads : grads, vars, 1e-3)))
      opt.dispose()
      vars.forEach((v, i) => v.assign(initial[i]!))
      return p.kernels.length
    }
    // Old and new from the same weights: the same numbers bit for bit?
    const after = async (fused: boolean) => {
      benchSwitch.unfusedOptimizer = !fused
      vars.forEach((v, i) => v.assign(initial[i]!))
      const opt = createOptimizer('adamw', { weightDecay: 0.01, momentum: 0, decayMask: mask })
      for (let k = 0; k < 3; k++) tf.tidy(() => opt.step(grads, vars, 1e-3 * (k + 1)))
      opt.dispose()
      return Promise.all(vars.map(async (v) => Float32Array.from(await v.data())))
    }
    const [a, b] = [await after(false), await after(true)]
    let differ = 0
    a.forEach((x, i) => x.forEach((y, j) => (differ += y === b[i]![j] ? 0 : 1)))
    for (const clip of [false, true]) {
      const times: Record<'old' | 'new', number[]> = { old: [], new: [] }
      const tensors0 = tf.memory().numTensors
      for (let r = 0; r < rounds; r++) {
        loads.push(os.loadavg()[0]!)
        for (const fused of r % 2 ? [true, false] : [false, true]) times[fused ? 'new' : 'old'].push(run(fused, clip))
      }
      const leaked = tf.memory().numTensors - tensors0
      const [ko, kn] = [await kernelsOf(false, clip), await kernelsOf(true, clip)]
      const [mo, mn] = [median(times.old), median(times.new)]
      const what = clip ? 'clip by global norm + AdamW' : 'AdamW'
      summary[`${id} ${what}`] = { oldMs: mo, newMs: mn, kernelsOld: ko, kernelsNew: kn, rounds: times, tensorsLeaked: leaked }
      L.push(`| ${id} | ${vars.length}, ${size.toLocaleString('en')} | ${what} | ${mo.toFixed(2)} | ${mn.toFixed(2)} | ${(mo / mn).toFixed(2)}× | ${ko} → ${kn} | ${times.old.map((x) => x.toFixed(1)).join(', ')} / ${times.new.map((x) => x.toFixed(1)).join(', ')} |`)
      console.log(L[L.length - 1])
    }
    summary[`${id} values that differ after 3 steps (old vs new)`] = differ
    // Two workers' halves combined (dataParallel.ts): the other half's gradients arrive as one
    // Float32Array; before, an upload, an Add and a Mul a weight; now one upload and one kernel.
    {
      const theirs = Float32Array.from({ length: size }, rand)
      const combine = (fused: boolean) =>
        fused
          ? tf.tidy(() => runCombineHalves(grads, tf.tensor1d(theirs, 'float32'), [8, 8]))
          : tf.tidy(() => {
              let o = 0
              return grads.map((g) => {
                const part = tf.tensor(theirs.subarray(o, o + g.size), g.shape, 'float32')
                o += g.size
                return tf.mul(tf.add(g, part), 0.5)
              })
            })
      const times: Record<'old' | 'new', number[]> = { old: [], new: [] }
      for (let r = 0; r < rounds; r++) {
        for (const fused of r % 2 ? [true, false] : [false, true]) {
          for (let k = 0; k < 3; k++) tf.dispose(combine(fused))
          const t0 = now()
          for (let k = 0; k < steps; k++) tf.dispose(combine(fused))
          times[fused ? 'new' : 'old'].push((now() - t0) / steps)
        }
      }
      const count = async (fused: boolean) => (await tf.profile(() => tf.dispose(combine(fused)))).kernels.length
      const [ko, kn] = [await count(false), await count(true)]
      const [mo, mn] = [median(times.old), median(times.new)]
      summary[`${id} combine two halves`] = { oldMs: mo, newMs: mn, kernelsOld: ko, kernelsNew: kn, rounds: times }
      L.push(`| ${id} | ${grads.length}, ${size.toLocaleString('en')} | two workers' halves combined (8 + 8 rows) | ${mo.toFixed(2)} | ${mn.toFixed(2)} | ${(mo / mn).toFixed(2)}× | ${ko} → ${kn} | ${times.old.map((x) => x.toFixed(1)).join(', ')} / ${times.new.map((x) => x.toFixed(1)).join(', ')} |`)
      console.log(L[L.length - 1])
    }
    L.push(`| ${id} | | weights that differ between old and new after 3 AdamW steps (lr changing) | ${differ} of ${size.toLocaleString('en')} | | | | |`)
    tf.dispose([...grads, ...initial])
    tuning.dispose()
  }
  benchSwitch.unfusedOptimizer = false
  L.push('', `Load average (1 min) over the rounds: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}.`, '')
  const dir = opts.out
  mkdirSync(dir, { recursive: true })
  const base = path.join(dir, `${stamp.replace(/[:.]/g, '-')}-optimizer-step-${opts.backend}`)
  writeFileSync(`${base}.md`, L.join('\n'))
  writeFileSync(`${base}.json`, JSON.stringify({ startedAt: stamp, backend: opts.backend, priority, loads, summary }, null, 1))
  console.log(L.join('\n'))
  console.log(`wrote ${base}.md`)
  process.exit(0)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
