/**
 * The studio's own data-parallel step (src/engine/train/dataParallel.ts through fineTune), in
 * Node, with its per-step timeline: the training loop here and the replica (GradientReplica)
 * in a worker_threads worker, each a single-threaded wasm backend, requests and answers as
 * worker messages (structured clone, the gradients transferred), as in the app
 * (worker/gradientPeer.ts, worker/gradientWorker.ts). bench/node/dataParallel.ts measures
 * an idealised exchange through a SharedArrayBuffer; this measures the code that runs.
 *
 *   npx tsx bench/node/dataParallelSteps.ts [--models tiny-lm,emoji-cnn] [--rounds 3] [--steps 12] [--priority]
 *
 * Modes, in rotating order each round: `one` (fineTune without a second worker), `half` (the
 * same on half the batch: each worker's share alone, the bound for two), `before` (two
 * workers with the transport as it was before this timeline: dataParallel.ts legacyTransport)
 * and `two` (two workers as the studio runs now); with `--modes`, also `one-unfused` and
 * `two-whole` (two workers building the whole batch as tensors, slicing it and reading the second
 * half back to post it, as before the halves were built apart from the host rows:
 * benchSwitch.wholeBatchSplit; with the halves apart, "build and split" is the replica's half
 * copied from the host rows, and the first worker's own half is built after posting, inside
 * "its half"), `two-unfused` (the optimizer's update and, with two workers, the halves' combine as tf ops, as
 * before the fused kernels of engine/train/fusedUpdate.ts: benchSwitch.unfusedOptimizer), and `one-opcnn`, `two-opcnn`,
 * `half-opcnn` (the emoji CNN as tf ops on both workers, as before engine/models/cnnFused.ts:
 * benchSwitch.cnnOpPath, sent to the replica too). Step time: from the loop's per-step
 * checkpoint stamps, the first 2 steps of a run left out; medians over runs. The timeline:
 * medians over the timed steps of every two-worker run of each phase (dataParallel.ts,
 * StepTiming and HalfTiming). A first, untimed two-worker run warms both workers up.
 * Writes bench/results/<stamp>-data-parallel-steps.md and .json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { median, raisePriority } from './benchProcess'
import { benchSwitch } from '../../src/engine/benchSwitches'
import { halfResultTransfer, halfTransfer, type GradientPeer, type HalfRequest, type HalfResult, type ReplicaSetup, type StepTiming } from '../../src/engine/train/dataParallel'

const here = fileURLToPath(import.meta.url)
const now = () => performance.now()

// Any of the replica's request methods (half, and infer where the engine has it), forwarded as is.
type ToReplica = { id: number; type: 'setup'; setup: ReplicaSetup } | { id: number; type: 'call'; method: string; request: unknown } | { id: number; type: 'cnn'; off: boolean } | { id: number; type: 'copies'; on: boolean }
type FromReplica = { id: number; ok: true; result?: unknown } | { id: number; ok: false; message: string }

async function startWasm(): Promise<typeof import('@tensorflow/tfjs')> {
  const tf = await import('@tensorflow/tfjs')
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  wasm.setThreadsCount(1)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false) // the single-threaded SIMD build, as the app's workers
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm did not start')
  await tf.ready()
  return tf
}

// ───────────────────────────── the replica (worker) ─────────────────────────────
async function replicaMain(): Promise<void> {
  await startWasm()
  const { GradientReplica, clock } = await import('../../src/engine/train/dataParallel')
  const replica = new GradientReplica()
  parentPort!.on('message', async (msg: ToReplica) => {
    try {
      if (msg.type === 'cnn') {
        benchSwitch.cnnOpPath = msg.off // `…-opcnn` modes: the emoji CNN as tf ops on this worker too
        parentPort!.postMessage({ id: msg.id, ok: true } satisfies FromReplica)
      } else if (msg.type === 'copies') {
        benchSwitch.tensorCopies = msg.on // `two-copies`: the gradients read out as before on this worker too
        parentPort!.postMessage({ id: msg.id, ok: true } satisfies FromReplica)
      } else if (msg.type === 'setup') {
        await replica.setup(msg.setup)
        parentPort!.postMessage({ id: msg.id, ok: true } satisfies FromReplica)
      } else {
        const arrived = clock()
        const result = (await (replica as unknown as Record<string, (r: unknown) => Promise<unknown>>)[msg.method]!.call(replica, msg.request)) as Partial<HalfResult> & { data?: Float32Array }
        if (result.timing) result.timing.received = arrived
        const out = result.grads ?? result.data
        // As worker/gradientWorker.ts: the gradients' buffer and the weights' array given back.
        const transfer = result.grads ? halfResultTransfer(result as HalfResult) : out ? [out.buffer as ArrayBuffer] : []
        parentPort!.postMessage({ id: msg.id, ok: true, result } satisfies FromReplica, transfer)
      }
    } catch (e) {
      parentPort!.postMessage({ id: msg.id, ok: false, message: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies FromReplica)
    }
  })
  parentPort!.postMessage({ id: 0, ok: true } satisfies FromReplica)
}

/** The loop's side: worker/gradientPeer.ts over worker_threads (the setup and batches copied,
 *  a half's changed weights transferred, as there). */
class ThreadPeer {
  private next = 1
  private readonly pending = new Map<number, (m: FromReplica) => void>()
  readonly ready: Promise<void>
  constructor(private readonly w: Worker) {
    let started: () => void
    this.ready = new Promise((r) => (started = r))
    w.on('message', (m: FromReplica) => {
      if (m.id === 0) return started()
      const p = this.pending.get(m.id)
      this.pending.delete(m.id)
      p?.(m)
    })
    w.on('error', (e) => {
      console.error('replica:', e)
      process.exit(1)
    })
  }
  private call(msg: ToReplica, transfer: ArrayBuffer[] = []): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, (m) => (m.ok ? resolve(m.result) : reject(new Error(m.message))))
      this.w.postMessage(msg, transfer)
    })
  }
  async cnnOff(off: boolean): Promise<void> {
    await this.call({ id: this.next++, type: 'cnn', off })
  }
  async tensorCopies(on: boolean): Promise<void> {
    await this.call({ id: this.next++, type: 'copies', on })
  }
  async setup(setup: ReplicaSetup): Promise<void> {
    await this.call({ id: this.next++, type: 'setup', setup })
  }
  async half(request: HalfRequest): Promise<HalfResult> {
    return (await this.call({ id: this.next++, type: 'call', method: 'half', request }, halfTransfer(request))) as HalfResult
  }
  async infer(request: unknown): Promise<never> {
    return (await this.call({ id: this.next++, type: 'call', method: 'infer', request })) as never
  }
}

// ───────────────────────────── the loop (main thread) ─────────────────────────────
/** A step's phases in ms (the loop's, then the replica's), and what bounds it. */
export function phases(t: StepTiming): Record<string, number> {
  const r = t.replica
  const out: Record<string, number> = {
    'loop: optimizer (the previous step\'s update)': t.prevEnd === null || t.updated === null ? NaN : t.updated - t.prevEnd,
    'loop: between steps (loss reads, events, loop)': t.prevEnd === null || t.updated === null ? NaN : t.start - t.updated,
    'loop: build and split the batch': t.split - t.start,
    'loop: copy out batch and changed weights': t.serialized - t.split,
    'loop: post the request (structured clone)': t.posted - t.serialized,
    'loop: yield a task so the request leaves': t.yielded === undefined ? NaN : t.yielded - t.posted,
    'loop: build its own half (halves apart: after posting)': t.ownBuilt === undefined ? NaN : t.ownBuilt - (t.yielded ?? t.posted),
    'loop: its half, forward and backward': t.mine - (t.ownBuilt ?? t.yielded ?? t.posted),
    'loop: waiting for the replica': t.answered - t.mine,
    'loop: combine the halves': t.combined - t.answered,
    'step (start to start)': t.prevEnd === null ? NaN : t.combined - t.prevEnd,
  }
  if (r) {
    Object.assign(out, {
      'replica: request in flight (posted → received)': r.received - t.posted,
      'replica: assign the changed weights': r.assigned - r.received,
      'replica: upload the half batch': r.uploaded - r.assigned,
      'replica: its half, forward and backward': r.computed - r.uploaded,
      'replica: read out the gradients': r.readOut - r.computed,
      'replica: answer in flight (read out → answered here)': t.answered - r.readOut,
      'replica: idle (answered → next request received)': NaN,
    })
  }
  return out
}

async function main(): Promise<void> {
  const { values: opts } = parseArgs({
    options: {
      models: { type: 'string', default: 'tiny-lm,emoji-cnn' },
      rounds: { type: 'string', default: '3' },
      steps: { type: 'string', default: '12' },
      batch: { type: 'string', default: '16' },
      'seq-len': { type: 'string', default: '64' },
      priority: { type: 'boolean', default: false },
      modes: { type: 'string', default: 'one,before,two,half' },
      label: { type: 'string', default: '' },
      out: { type: 'string', default: path.join(path.dirname(here), '../results') },
    },
  })
  const priority = raisePriority(opts.priority) // --priority: autogroup nice -20 (benchProcess.ts)
  const tf = await startWasm()
  const { servePublic, pngDecoder } = await import('./nodeHost')
  const { workload, slice } = await import('../page/workloads')
  const { benchSettings } = await import('../page/loops')
  const { fineTune, Tuning } = await import('../../src/engine/train/fineTune')
  const { RunControl } = await import('../../src/engine/train/runControl')
  const { recentSteps } = await import('../../src/engine/train/dataParallel')
  servePublic()
  const { useImageDecoder } = await import('../page/workloads')
  useImageDecoder(pngDecoder)
  const started = Date.now()
  const log = (...a: unknown[]) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`, ...a)
  const boot = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(here)}, ${JSON.stringify(import.meta.url)}))`
  const worker = new Worker(boot, { eval: true, workerData: { role: 'replica' } })
  const peer = new ThreadPeer(worker)
  await peer.ready
  const B = Number(opts.batch)
  const T = Number(opts['seq-len'])
  const steps = Number(opts.steps)
  type Mode = 'one' | 'half' | 'before' | 'two' | 'two-whole' | 'two-copies' | 'one-unfused' | 'two-unfused' | 'one-opcnn' | 'two-opcnn' | 'half-opcnn'
  const runs: { model: string; mode: Mode; round: number; msPerStep: number; cores: number; load1: number; timeline: StepTiming[] }[] = []
  const describes: Record<string, string> = {}

  class Stamps extends RunControl {
    stamps: number[] = []
    override async checkpoint(onPause?: () => void, onResume?: () => void): Promise<void> {
      this.stamps.push(now())
      return super.checkpoint(onPause, onResume)
    }
  }
  const oneRun = async (model: 'tiny-lm' | 'emoji-cnn', mode: Mode) => {
    // `before`: two workers with the transport as it was (dataParallel.ts, legacyTransport).
    benchSwitch.legacyTransport = mode === 'before'
    // `…-unfused`: the optimizer's update as tf ops, as before fusedUpdate.ts.
    benchSwitch.unfusedOptimizer = mode.endsWith('-unfused')
    // `two-whole`: the whole batch built as tensors, sliced, the second half read back to be
    // posted (as before the halves were built apart from the host rows: dataParallel.ts HalvesApart).
    benchSwitch.wholeBatchSplit = mode === 'two-whole'
    // `two-copies`: gradients and changed weights read tensor by tensor into fresh arrays, as
    // before dataParallel.ts's readFloatsInto and given-back arrays, on both workers.
    benchSwitch.tensorCopies = mode === 'two-copies'
    await peer.tensorCopies(benchSwitch.tensorCopies)
    // `…-opcnn`: the emoji CNN as tf ops, as before its fused kernels (models/cnnFused.ts), on both workers.
    benchSwitch.cnnOpPath = mode.endsWith('-opcnn')
    await peer.cnnOff(benchSwitch.cnnOpPath)
    const w = await workload(model, T)
    describes[model] = w.describe
    // `half`: one worker on half the batch, the bound for two (each worker's share, alone).
    const b = mode.startsWith('half') ? Math.ceil(B / 2) : B
    const s = { ...benchSettings(w, 'full', b, T, 1), seed: 42 }
    const rows = (steps + 2) * b
    const initial = w.model.params.map((p) => p.variable.clone())
    const tuning = new Tuning(w.model, s, w.classes)
    const control = new Stamps()
    const from = recentSteps.length
    const load1 = os.loadavg()[0]!
    const cpu0 = process.cpuUsage()
    const t0 = now()
    try {
      await fineTune(w.model, tuning, { train: slice(w.all, 0, rows), val: slice(w.all, Math.floor(w.all.n * 0.8), 8) }, s, control, {}, undefined, mode === 'one' || mode === 'half' || mode === 'one-unfused' || mode === 'one-opcnn' || mode === 'half-opcnn' ? undefined : { peer: peer as unknown as GradientPeer })
    } finally {
      tuning.dispose()
      w.model.params.forEach((p, i) => p.variable.assign(initial[i]!))
      tf.dispose(initial)
    }
    const st = control.stamps // st[k]: the start of step k + 1; the last stamp is the last step's start
    const timed = st.slice(2)
    const msPerStep = (timed[timed.length - 1]! - timed[0]!) / (timed.length - 1)
    // The process's CPU over the whole run (baseline evaluation included) ÷ its wall time.
    const cpu = process.cpuUsage(cpu0)
    const cores = (cpu.user + cpu.system) / 1000 / Math.max(now() - t0, 1)
    const timeline = recentSteps.slice(from).slice(2, -1)
    runs.push({ model, mode, round: 0, msPerStep, cores, load1, timeline })
    log(model, mode, `${msPerStep.toFixed(1)} ms a step`, `load ${load1.toFixed(2)}`, `cores ${cores.toFixed(2)}`)
  }
  const models = opts.models.split(',') as ('tiny-lm' | 'emoji-cnn')[]
  for (const model of models) {
    await oneRun(model, 'two') // warm-up: both workers' kernels and the model's first steps
    const modes = opts.modes.split(',') as Mode[]
    for (let r = 0; r < Number(opts.rounds); r++) for (const mode of modes.map((_, i) => modes[(i + r) % modes.length]!)) {
      await oneRun(model, mode)
      runs[runs.length - 1]!.round = r + 1
    }
    runs.splice(runs.findIndex((x) => x.model === model && x.round === 0), 1)
  }
  await worker.terminate()
  benchSwitch.unfusedOptimizer = false
  benchSwitch.legacyTransport = false
  benchSwitch.wholeBatchSplit = false
  benchSwitch.tensorCopies = false
  const modeList = opts.modes.split(',') as Mode[]

  const LABEL: Record<Mode, string> = { one: '1 worker', half: '1 worker, half the batch (the bound for 2)', before: '2 workers, as before 2026-12-06 15:00', two: '2 workers', 'two-whole': '2 workers, whole batch uploaded, sliced, second half read back (before the halves were built apart)', 'two-copies': '2 workers, gradients and weights read tensor by tensor into fresh arrays (before 2026-12-06 22:00)', 'one-unfused': '1 worker, optimizer as tf ops (before the fused update)', 'two-unfused': '2 workers, optimizer and combine as tf ops (before the fused kernels)', 'one-opcnn': '1 worker, emoji CNN as tf ops (before its fused kernels)', 'two-opcnn': '2 workers, emoji CNN as tf ops (before its fused kernels)', 'half-opcnn': '1 worker, half the batch, emoji CNN as tf ops (before its fused kernels)' }
  const L: string[] = []
  const stamp = new Date(started).toISOString()
  L.push(`# The studio's data-parallel step, timed phase by phase (Node), ${stamp}${opts.label ? ` — ${opts.label}` : ''}`, '')
  L.push(`\`npx tsx bench/node/dataParallelSteps.ts\`: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}; priority ${priority}. fineTune on 1 worker, on 1 worker with half the batch (each worker's share alone: the bound for 2), on 2 workers as the studio ran before 2026-12-06 15:00 (\`before\`: the request copied, no task boundary after posting it, the combine rows-weighted; dataParallel.ts legacyTransport) and on 2 workers as now (a worker_threads replica, messages as in the app), full fine-tuning, batch ${B}${models.includes('tiny-lm') ? `, tiny-lm ${T} tokens` : ''}, Adam, dropout off, ${steps} steps a run of which the first 2 are left out; ${opts.rounds} rounds alternating the modes; medians. "cores": the process's CPU time ÷ wall time over the run.`, '')
  for (const [m, d] of Object.entries(describes)) L.push(`- ${m}: ${d}`)
  L.push('', '| model | mode | ms a step (median) | speed-up (vs 1 worker, same optimizer path) | runs (ms @ load, cores) |', '|---|---|---|---|---|')
  const summary: Record<string, unknown> = {}
  for (const model of models) {
    const one = median(runs.filter((r) => r.model === model && r.mode === 'one').map((r) => r.msPerStep))
    for (const mode of modeList) {
      const rs = runs.filter((r) => r.model === model && r.mode === mode)
      const m = median(rs.map((r) => r.msPerStep))
      // Against one worker with the same optimizer path.
      const baseMode = mode.endsWith('-unfused') ? 'one-unfused' : mode.endsWith('-opcnn') ? 'one-opcnn' : 'one'
      const base = median(runs.filter((r) => r.model === model && r.mode === baseMode).map((r) => r.msPerStep))
      summary[`${model} ${mode}`] = { msPerStep: m, speedup: base / m }
      L.push(`| ${model} | ${LABEL[mode]} | ${m.toFixed(1)} | ${(base / m).toFixed(2)}× | ${rs.map((r) => `${r.msPerStep.toFixed(0)} @ ${r.load1.toFixed(1)}, ${r.cores.toFixed(2)}`).join('; ')} |`)
    }
  }
  for (const [model, mode] of models.flatMap((m) => modeList.filter((x) => x === 'before' || x.startsWith('two')).map((x) => [m, x] as const))) {
    const steps2 = runs.filter((r) => r.model === model && r.mode === mode).flatMap((r) => r.timeline)
    if (!steps2.length) continue
    const rows = steps2.map(phases)
    // The replica's idle time: from its answer's read-out to the next request's arrival.
    steps2.forEach((t, i) => {
      const next = steps2[i + 1]
      if (t.replica && next?.replica && next.prevEnd === t.combined) rows[i]!['replica: idle (answered → next request received)'] = next.replica.received - t.replica.readOut
    })
    const keys = Object.keys(rows[0]!)
    L.push('', `## ${model}, ${LABEL[mode]}: where a step goes (${steps2.length} steps; ms, medians)`, '')
    L.push(`Rows ${steps2[0]!.rows.join(' + ')}; a request carries ${(median(steps2.map((t) => t.weightBytes)) / 1e6).toFixed(2)} MB of weights and ${(median(steps2.map((t) => t.batchBytes)) / 1e3).toFixed(1)} kB of batch, an answer ${(median(steps2.map((t) => t.gradBytes)) / 1e6).toFixed(2)} MB of gradients.`, '')
    L.push('| phase | ms (median) | p10–p90 |', '|---|---|---|')
    const q = (xs: number[], p: number) => {
      const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
      return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN
    }
    const tl: Record<string, number> = {}
    for (const k of keys) {
      const xs = rows.map((r) => r[k]!)
      tl[k] = median(xs)
      L.push(`| ${k} | ${median(xs).toFixed(1)} | ${q(xs, 0.1).toFixed(1)}–${q(xs, 0.9).toFixed(1)} |`)
    }
    const spans = steps2.filter((t) => t.prevEnd !== null).map((t) => t.combined - t.prevEnd!)
    tl['mean step (start to start)'] = spans.reduce((a, b) => a + b, 0) / Math.max(spans.length, 1)
    L.push(`| mean step (start to start) | ${tl['mean step (start to start)']!.toFixed(1)} | |`)
    summary[`${model} ${mode} timeline`] = tl
  }
  L.push('')
  const dir = opts.out
  mkdirSync(dir, { recursive: true })
  const base = path.join(dir, `${stamp.replace(/[:.]/g, '-')}-data-parallel-steps`)
  writeFileSync(`${base}.md`, L.join('\n'))
  writeFileSync(`${base}.json`, JSON.stringify({ startedAt: stamp, label: opts.label, priority, summary, runs }, null, 1))
  console.log(L.join('\n'))
  log(`wrote ${base}.md`)
  process.exit(0)
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
} else if ((workerData as { role?: string })?.role === 'replica') {
  replicaMain().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
