/**
 * What V8's garbage collector has to do per training step (issue 19: the page's
 * ThreadPoolForeground threads, V8's background marking, sweeping and compilation, took 0.19 of
 * a core beside one emoji-cnn worker and 0.35 beside two). fineTune on one wasm worker in Node
 * (single thread, as the app's workers), full fine-tuning, batch 16 (tiny-lm 64 tokens):
 * GCs per step by kind (PerformanceObserver 'gc': scavenges, mark-compacts, incremental
 * marking, weak callbacks) and their pause, the JS heap bytes allocated per step and where
 * (V8's sampling heap profiler through the inspector, collected objects kept), and the
 * process's CPU per step on its other threads (V8's helper threads: process CPU − main thread).
 *
 *   npx tsx bench/node/gcSteps.ts [--models emoji-cnn,tiny-lm] [--steps 40] [--rounds 1] [--modes rows,nests] [--sample [--top 25]]
 *
 * Modes: `rows` (as the studio runs), `nests` (emoji-cnn's JavaScript kernels as the loop nests they
 * were before 2026-12-06 22:00: benchSwitch.cnnLoopNests), alternating each round.
 */
import os from 'node:os'
import { parseArgs } from 'node:util'
import { PerformanceObserver, constants as perf } from 'node:perf_hooks'
import { Session } from 'node:inspector/promises'
import { readFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs'
import { startOneThreadWasm } from './wasmStepBench'
import { workload, slice } from '../page/workloads'
import { benchSettings } from '../page/loops'
import { fineTune, Tuning } from '../../src/engine/train/fineTune'
import { RunControl } from '../../src/engine/train/runControl'
import { benchSwitch } from '../../src/engine/benchSwitches'

const now = () => performance.now()

/** CPU seconds of this process's main thread (Linux /proc/self/task/<pid>/stat). */
function mainThreadCpu(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

type Frame = { functionName: string; url: string; lineNumber: number; columnNumber: number }
type Node = { callFrame: Frame; selfSize: number; id: number; children: Node[] }
type Sample = { size: number; nodeId: number; ordinal: number }

async function main(): Promise<void> {
  const { values: opts } = parseArgs({ options: { models: { type: 'string', default: 'emoji-cnn,tiny-lm' }, steps: { type: 'string', default: '40' }, top: { type: 'string', default: '25' }, modes: { type: 'string', default: 'rows' }, rounds: { type: 'string', default: '1' }, interval: { type: 'string', default: '2048' }, sample: { type: 'boolean', default: false } } })
  await startOneThreadWasm()
  const session = new Session()
  session.connect()
  const gcs: { kind: number; ms: number; t: number }[] = []
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) gcs.push({ kind: (e as unknown as { detail: { kind: number } }).detail.kind, ms: e.duration, t: e.startTime })
  }).observe({ entryTypes: ['gc'] })
  const steps = Number(opts.steps)
  const out: string[] = []
  for (const model of opts.models.split(',') as ('tiny-lm' | 'emoji-cnn')[]) {
    const T = 64
    const w = await workload(model, T)
    for (let round = 0; round < Number(opts.rounds); round++) for (const mode of opts.modes.split(',')) {
      // `nests`: emoji-cnn's JavaScript kernels as the loop nests they were (models/cnnLoopNests.ts).
      benchSwitch.cnnLoopNests = mode === 'nests'
      const B = 16
      const s = { ...benchSettings(w, 'full', B, T, 1), seed: 42 }
      const rows = (steps + 4) * B
      const initial = w.model.params.map((p) => p.variable.clone())
      const tuning = new Tuning(w.model, s, w.classes)
      const stamps: number[] = []
      const marks: { t: number; cpu: number; main: number }[] = []
      class Stamps extends RunControl {
        override async checkpoint(onPause?: () => void, onResume?: () => void): Promise<void> {
          stamps.push(now())
          if (stamps.length === 3 && opts.sample) {
            await session.post('HeapProfiler.startSampling', { samplingInterval: Number(opts.interval), includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never)
          }
          if (stamps.length >= 3) {
            const c = process.cpuUsage()
            marks.push({ t: now(), cpu: (c.user + c.system) / 1e6, main: mainThreadCpu() })
          }
          return super.checkpoint(onPause, onResume)
        }
      }
      const control = new Stamps()
      let profile: { head: Node; samples: Sample[] } | undefined
      const gc0 = gcs.length
      try {
        await fineTune(w.model, tuning, { train: slice(w.all, 0, rows), val: slice(w.all, Math.floor(w.all.n * 0.8), 8) }, s, control, {}, undefined, undefined)
        if (opts.sample) profile = ((await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: Node; samples: Sample[] } }).profile
      } finally {
        tuning.dispose()
        w.model.params.forEach((p, i) => p.variable.assign(initial[i]!))
        tf.dispose(initial)
      }
      // Timed window: from the 3rd step start to the last step start (the epoch's end left out).
      const t0 = marks[0]!.t
      const tEnd = marks[marks.length - 1]!.t
      const n = marks.length - 1
      const inWin = gcs.slice(gc0).filter((g) => g.t >= t0 && g.t <= tEnd)
      const count = (k: number) => inWin.filter((g) => g.kind === k).length / n
      const pause = inWin.reduce((a, g) => a + g.ms, 0) / n
      const cpuAll = (marks[n]!.cpu - marks[0]!.cpu) / n * 1000
      const cpuMain = (marks[n]!.main - marks[0]!.main) / n * 1000
      const ms = (tEnd - t0) / n
      // Allocation by function (self), summed from the samples in the window (whole run after step 3).
      const byId = new Map<number, Node>()
      const walk = (nd: Node, stack: Frame[]) => {
        byId.set(nd.id, nd)
        ;(nd as Node & { stack?: Frame[] }).stack = stack
        for (const c of nd.children) walk(c, [...stack, c.callFrame])
      }
      if (profile) walk(profile.head, [])
      const bySite = new Map<string, number>()
      let total = 0
      for (const smp of profile?.samples ?? []) {
        total += smp.size
        const nd = byId.get(smp.nodeId) as (Node & { stack: Frame[] }) | undefined
        if (!nd) {
          bySite.set('(a node the profile left out)', (bySite.get('(a node the profile left out)') ?? 0) + smp.size)
          continue
        }
        // The innermost frame in the studio's own code, and the innermost frame.
        const short = (f: Frame) => `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}`
        const own = [...nd.stack].reverse().find((f) => f.url.includes('/src/'))
        const key = `${short(nd.callFrame)}  ⟵ ${own ? short(own) : '–'}`
        bySite.set(key, (bySite.get(key) ?? 0) + smp.size)
      }
      const stepsSampled = stamps.length - 3 // steps after sampling started, the end's validation included
      const line = `${model} ${mode}: ${ms.toFixed(1)} ms/step; GC per step: scavenges ${count(perf.NODE_PERFORMANCE_GC_MINOR).toFixed(2)}, mark-compacts ${count(perf.NODE_PERFORMANCE_GC_MAJOR).toFixed(2)}, incremental ${count(perf.NODE_PERFORMANCE_GC_INCREMENTAL).toFixed(2)}, weak cb ${count(perf.NODE_PERFORMANCE_GC_WEAKCB).toFixed(2)}; GC pause ${pause.toFixed(2)} ms/step; JS heap allocated ≈ ${!profile ? '(--sample) ' : ''}${(total / stepsSampled / 1e3).toFixed(0)} kB/step (sampled); CPU ms/step: process ${cpuAll.toFixed(1)}, main thread ${cpuMain.toFixed(1)}, other threads ${(cpuAll - cpuMain).toFixed(1)} (${((cpuAll - cpuMain) / ms).toFixed(2)} core)`
      console.log(line)
      out.push(line)
      const top = [...bySite.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top))
      for (const [k, v] of top) console.log(`  ${(v / stepsSampled / 1e3).toFixed(1).padStart(7)} kB/step  ${k}`)
    }
  }
  console.log(`load ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}`)
  session.disconnect()
  process.exit(0)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
