/**
 * Data parallelism on the CPU, measured (issue 19 point 1): two Node worker_threads, each a
 * single-threaded tfjs WebAssembly backend holding the same built-in model, each computing
 * the gradient of half the batch; the halves are exchanged through a SharedArrayBuffer and
 * weighted by their sizes, so the update is the full batch's mean gradient. Against one
 * worker taking the whole batch, alternating runs, medians.
 *
 *   npm run bench:data-parallel                       # both models, < 5 minutes
 *   npm run bench:data-parallel -- --models tiny-lm --repeats 2 --steps 6
 *   npm run bench:data-parallel -- --models tiny-lm --modes single,dp-one --kernels --priority
 *
 * `--kernels --switch tfjsTranspose,widePacking`: `-old` is those benchSwitch keys on, the rest as now.
 * `--kernels --lm`: `-old` is instead tiny-lm's op path between the products (layer norms, GELU,
 * softmax, heads, bias gradients as tf ops: benchSwitch.lmOpPath) against models/lmFused.ts.
 * `--kernels`: every mode also with tfjs-wasm's own BatchMatMul for attention's batched
 * products (`-old`, its scalar loop) against the sliced XNNPACK kernel the studio uses
 * (src/engine/models/slicedMatMul.ts), new and old back to back, the order flipping each round.
 *
 * Modes:
 * - `1 worker`: one worker, the whole batch, Adam update.
 * - `2 workers, both update`: each worker reads its half's gradients out, writes them to
 *   the shared buffer, waits for the other, sums the two halves (same order in both, so both
 *   get the same numbers) and applies the same Adam update: the weights stay identical.
 * - `2 workers, one updates`: the second worker only computes gradients; the first sums,
 *   updates, and copies the new weights back through the shared buffer (what a studio
 *   helper that holds no optimizer would do).
 * - `2 workers at once, each on its own half, no exchange` (`--modes half-pair`): both workers
 *   train their own half-batch at the same time and never exchange anything. Against `half`
 *   (one worker alone on a half), it shows what sharing the machine costs by itself, with no
 *   exchange, waiting or update code of ours: the bound for two workers on this machine.
 * Full fine-tuning with dropout off and no clipping (the bench's usual settings,
 * bench/page/loops.ts), at the studio's default batch (16) and sequence length (64 tokens),
 * and at the earlier benches' batch 8 × 32 tokens. Each figure has the 1-minute load average
 * next to it: the machine may be shared, and a second worker only helps on a free core.
 * Also checks the data-parallel step against the one-worker step: loss of 4 steps from the
 * same weights, largest difference.
 * Also the all-core matmul rate, in the same rounds: both workers multiplying at once (rates
 * summed) and one alone, at 512² and at the model's own product shape; each configuration's
 * achieved GFLOP/s (bench/page/flops.ts) as a share of it (issue 19's CPU target: ≥ 50 %).
 * Writes bench/results/<timestamp>-data-parallel.md and .json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { median, raisePriority } from './benchProcess'

const here = fileURLToPath(import.meta.url)
const now = () => performance.now()

type BaseMode = 'single' | 'half' | 'dp-both' | 'dp-one' | 'half-pair'
/** `-old`: the same with tfjs-wasm's own BatchMatMul for batched products (its scalar loop),
 *  not the sliced XNNPACK kernel (src/engine/models/slicedMatMul.ts): `--kernels` times both. */
type Mode = BaseMode | `${BaseMode}-old`
const baseOf = (m: Mode): BaseMode => m.replace(/-old$/, '') as BaseMode
const isOld = (m: Mode) => m.endsWith('-old')
interface Shape {
  batch: number
  seqLen: number
}
type Msg =
  | { type: 'load'; model: 'tiny-lm' | 'emoji-cnn'; shape: Shape }
  | { type: 'share'; sab: SharedArrayBuffer }
  | { type: 'run'; mode: Mode; steps: number; warmup: number }
  | { type: 'matmul'; m: number; k: number; n: number; ms: number }
  | { type: 'quit' }

// ───────────────────────────── worker ─────────────────────────────
async function workerMain(rank: number): Promise<void> {
  const tf = await import('@tensorflow/tfjs')
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  const { servePublic, pngDecoder } = await import('./nodeHost')
  const { forgetWorkloads, inputTensors, isText, slice, useImageDecoder, workload } = await import('../page/workloads')
  const { benchSettings } = await import('../page/loops')
  const { oldKernels, benchSwitch } = await import('../../src/engine/benchSwitches')
  const { flopsOf } = await import('../page/steps')
  const { Tuning } = await import('../../src/engine/train/fineTune')
  const { trainableVariables } = await import('../../src/engine/tuning/freeze')
  servePublic()
  useImageDecoder(pngDecoder)
  wasm.setThreadsCount(1)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false) // the single-threaded SIMD build
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm did not start')
  await tf.ready()

  let state: {
    vars: import('@tensorflow/tfjs').Variable[]
    initial: import('@tensorflow/tfjs').Tensor[]
    x: import('@tensorflow/tfjs').Tensor
    mask: import('@tensorflow/tfjs').Tensor2D | null
    labels: import('@tensorflow/tfjs').Tensor1D
    rows: number
    batch: number
    size: number
    lossOf: (from: number, n: number) => import('@tensorflow/tfjs').Scalar
    dispose: () => void
  } | null = null
  let sab: SharedArrayBuffer | null = null

  const post = (m: unknown) => parentPort!.postMessage(m)
  parentPort!.on('message', async (m: Msg) => {
    try {
      if (m.type === 'quit') {
        state?.dispose()
        await forgetWorkloads()
        process.exit(0)
      }
      if (m.type === 'load') {
        state?.dispose()
        await forgetWorkloads()
        const w = await workload(m.model, m.shape.seqLen)
        const s = benchSettings(w, 'full', m.shape.batch, m.shape.seqLen, 1)
        const tuning = new Tuning(w.model, s, w.classes) // same seed in both workers: same head
        // Analytic FLOPs of one full fine-tuning step (bench/page/flops.ts: products only).
        const flopsPerStep = flopsOf(w, s, tuning).perSampleStep * m.shape.batch
        // The model's most common large product at this batch, for the matmul rate at its shape:
        // tiny-lm's MLP [B·T, d]·[d, dFF]; emoji-cnn's costliest pointwise [B·H·W, Cin]·[Cin, Cout].
        let mmShape: [number, number, number]
        if (isText(w)) mmShape = [m.shape.batch * m.shape.seqLen, w.model.config.dModel, w.model.config.dFF]
        else {
          const c = (w.model as import('../../src/engine/models/tinyCnn').TinyCnn).config
          let side = c.imageSize / 2
          let cin = c.stemChannels
          let best: [number, number, number] = [1, 1, 1]
          for (const b of c.blocks) {
            if (b.stride === 2) side /= 2
            const cand: [number, number, number] = [m.shape.batch * side * side, cin, b.channels]
            if (cand[0] * cand[1] * cand[2] > best[0] * best[1] * best[2]) best = cand
            cin = b.channels
          }
          mmShape = best
        }
        const vars = trainableVariables(w.model, s, 0, tuning.parts)
        const rows = Math.min(w.all.n, 256)
        const { x, mask, labels } = inputTensors(slice(w.all, 0, rows))
        const lossOf = (from: number, n: number) => {
          const idx = tf.tensor1d(Array.from({ length: n }, (_, i) => (from + i) % rows), 'int32')
          const msk = mask ? (tf.gather(mask, idx) as import('@tensorflow/tfjs').Tensor2D) : null
          const feats = w.model.pool(w.model.forwardFrom(w.model.embed(tf.gather(x, idx), { training: true }), 0, { training: true }), msk)
          const logits = tuning.head!.apply(feats, true)
          return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.gather(labels, idx), w.classes), logits) as import('@tensorflow/tfjs').Scalar
        }
        state = {
          vars,
          initial: vars.map((v) => tf.keep(v.clone())),
          x,
          mask,
          labels,
          rows,
          batch: m.shape.batch,
          size: vars.reduce((a, v) => a + v.size, 0),
          lossOf,
          dispose: () => {
            tf.dispose([x, labels, ...(mask ? [mask] : [])])
            tf.dispose(state?.initial ?? [])
            tuning.dispose()
          },
        }
        post({ type: 'loaded', size: state.size, describe: w.describe, flopsPerStep, mmShape })
        return
      }
      if (m.type === 'share') {
        sab = m.sab
        post({ type: 'shared' })
        return
      }
      if (m.type === 'run') post({ type: 'ran', ...run(m.mode, m.steps, m.warmup) })
      if (m.type === 'matmul') post({ type: 'matmuled', ...matmul(m.m, m.k, m.n, m.ms) })
    } catch (e) {
      post({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) })
    }
  })
  post({ type: 'ready' })

  /** fp32 [m, k]·[k, n] products on this worker's single-threaded wasm, each read back, for
   *  about `ms` after one warm-up product: GFLOP/s. */
  function matmul(M: number, K: number, N: number, ms: number): { gflops: number; reps: number } {
    const a = tf.randomNormal([M, K], 0, 1, 'float32', 1)
    const b = tf.randomNormal([K, N], 0, 1, 'float32', 2)
    const once = () => {
      const c = tf.matMul(a, b)
      c.dataSync()
      c.dispose()
    }
    once()
    let reps = 0
    const t0 = now()
    let t = t0
    while (t - t0 < ms) {
      once()
      reps++
      t = now()
    }
    tf.dispose([a, b])
    return { gflops: (2 * M * K * N * reps) / ((t - t0) / 1000) / 1e9, reps }
  }

  function run(asked: Mode, steps: number, warmup: number): { ms: number; losses: number[]; tensors: number; phase: Record<string, number> } {
    // --lm: `-old` is tiny-lm's op path between the products (benchSwitch.lmOpPath), all else as now
    if (process.env.BENCH_OLD_SWITCHES) for (const k of process.env.BENCH_OLD_SWITCHES.split(',')) benchSwitch[k as keyof typeof benchSwitch] = isOld(asked)
    else if (process.env.BENCH_OLD_IS_LM_OP_PATH === '1') benchSwitch.lmOpPath = isOld(asked)
    else for (const k of Object.keys(oldKernels) as (keyof typeof oldKernels)[]) oldKernels[k] = isOld(asked)
    const mode = baseOf(asked)
    const st = state!
    const P = st.size
    // Shared layout: [0..16) int32 control, then 4 gradient regions (2 ranks × 2 parities), the
    // weights, and per-step losses of each rank.
    const ctl = new Int32Array(sab!, 0, 16)
    const region = (r: number, parity: number) => new Float32Array(sab!, 64 + (parity * 2 + r) * P * 4, P)
    const weights = new Float32Array(sab!, 64 + 4 * P * 4, P)
    const lossSlot = new Float32Array(sab!, 64 + 5 * P * 4, 4)
    const barrier = () => {
      const gen = Atomics.load(ctl, 1)
      if (Atomics.add(ctl, 0, 1) === 1) {
        Atomics.store(ctl, 0, 0)
        Atomics.add(ctl, 1, 1)
        Atomics.notify(ctl, 1)
      } else while (Atomics.load(ctl, 1) === gen) Atomics.wait(ctl, 1, gen)
    }
    st.vars.forEach((v, i) => v.assign(st.initial[i]!))
    const opt = tf.train.adam(1e-3)
    const B = st.batch
    const half = [Math.ceil(B / 2), B - Math.ceil(B / 2)] as const
    const losses: number[] = []
    const names = st.vars.map((v) => v.name)
    const shapes = st.vars.map((v) => v.shape)
    const applyGrads = (m: Record<string, import('@tensorflow/tfjs').Tensor>) => opt.applyGradients(Object.entries(m).map(([name, tensor]) => ({ name, tensor })))
    const write = (grads: import('@tensorflow/tfjs').Tensor[], into: Float32Array) => {
      let o = 0
      for (const g of grads) {
        into.set(g.dataSync() as Float32Array, o)
        o += g.size
      }
    }
    const phase: Record<string, number> = {}
    let mark = now()
    const lap = (name: string) => {
      const t = now()
      phase[name] = (phase[name] ?? 0) + t - mark
      mark = t
    }
    const oneStep = (i: number) => {
      mark = now()
      const from = i * B
      if (mode === 'single' || mode === 'half' || mode === 'half-pair') {
        // half-pair: both workers at once, each on its own half, each updating its own weights
        // and never exchanging anything: what two halves cost when they share the machine.
        const { value, grads } = tf.variableGrads(() => st.lossOf(mode === 'half-pair' ? from + rank * half[0] : from, mode === 'single' ? B : half[rank === 1 && mode === 'half-pair' ? 1 : 0]), st.vars)
        losses.push(value.dataSync()[0]!)
        lap('gradient')
        applyGrads(grads)
        lap('update')
        tf.dispose([value, ...Object.values(grads)])
        return
      }
      const mine = half[rank]!
      const start = from + (rank === 0 ? 0 : half[0])
      const { value, grads } = tf.variableGrads(() => st.lossOf(start, mine), st.vars)
      const list = names.map((n) => grads[n]!)
      const parity = i & 1
      if (mode === 'dp-both') {
        lossSlot[parity * 2 + rank] = value.dataSync()[0]!
        lap('gradient')
        write(list, region(rank, parity))
        tf.dispose(value)
        lap('read out')
        barrier()
        lap('wait')
        // Mean over the whole batch: each half's mean weighted by its size, the halves in rank
        // order in both workers (the other's half uploaded from the buffer), so both get the
        // same numbers.
        const other = region(1 - rank, parity)
        const g: Record<string, import('@tensorflow/tfjs').Tensor> = {}
        let o = 0
        st.vars.forEach((v, k) => {
          g[names[k]!] = tf.tidy(() => {
            const theirs = tf.tensor(other.subarray(o, o + v.size), v.shape)
            const [g0, g1] = rank === 0 ? [list[k]!, theirs] : [theirs, list[k]!]
            return tf.div(tf.add(tf.mul(g0, half[0]), tf.mul(g1, half[1])), B)
          })
          o += v.size
        })
        tf.dispose(list)
        losses.push((lossSlot[parity * 2]! * half[0] + lossSlot[parity * 2 + 1]! * half[1]) / B)
        lap('sum')
        applyGrads(g)
        tf.dispose(Object.values(g))
        lap('update')
        return
      }
      // dp-one: rank 1 computes, rank 0 updates and hands the weights back.
      if (rank === 1) {
        write(list, region(1, parity))
        lossSlot[parity * 2 + 1] = value.dataSync()[0]!
        tf.dispose([value, ...list])
        barrier()
        barrier() // the weights are ready
        let o = 0
        st.vars.forEach((v) => {
          v.assign(tf.tidy(() => tf.tensor(weights.subarray(o, o + v.size), v.shape)))
          o += v.size
        })
        return
      }
      const own = value.dataSync()[0]!
      tf.dispose(value)
      barrier()
      const b = region(1, parity)
      const g: Record<string, import('@tensorflow/tfjs').Tensor> = {}
      let o = 0
      st.vars.forEach((v, k) => {
        g[names[k]!] = tf.tidy(() => tf.div(tf.add(tf.mul(list[k]!, half[0]), tf.mul(tf.tensor(b.subarray(o, o + v.size), v.shape), half[1])), B))
        o += v.size
      })
      tf.dispose(list)
      losses.push((own * half[0] + lossSlot[parity * 2 + 1]! * half[1]) / B)
      applyGrads(g)
      tf.dispose(Object.values(g))
      o = 0
      for (const v of st.vars) {
        weights.set(v.dataSync() as Float32Array, o)
        o += v.size
      }
      barrier()
    }
    for (let i = 0; i < warmup; i++) oneStep(i)
    const t = now()
    for (let i = 0; i < steps; i++) oneStep(warmup + i)
    const ms = (now() - t) / steps
    opt.dispose()
    for (const k of Object.keys(phase)) phase[k] = phase[k]! / (steps + warmup)
    return { ms, losses, tensors: tf.memory().numTensors, phase }
  }
}

// ───────────────────────────── main ─────────────────────────────
interface Figure {
  model: string
  shape: Shape
  mode: Mode
  msPerStep: number
  load1: number
  /** CPU time this process got per second of the run: how many cores the workers really had. */
  cores: number
  /** Achieved GFLOP/s: the step's analytic FLOPs (bench/page/flops.ts) ÷ its time. */
  gflops: number
}

/** One matmul rate measurement, taken between the training runs of the same round. */
interface MatmulFigure {
  model: string
  shape: Shape
  /** [m, k, n] of the product. */
  mm: [number, number, number]
  /** 1: the first worker alone; 2: both at once, rates summed (the all-core rate). */
  workers: 1 | 2
  gflops: number
  perWorker: number[]
  load1: number
  cores: number
}

function spawn(rank: number): { w: Worker; next: (type: string) => Promise<Record<string, unknown>> } {
  // tsx's loader serves the main thread only: a worker loads this file through tsx's API.
  const boot = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(here)}, ${JSON.stringify(import.meta.url)}))`
  const w = new Worker(boot, { eval: true, workerData: { rank } })
  const queue: Record<string, unknown>[] = []
  const waiting: ((m: Record<string, unknown>) => void)[] = []
  w.on('message', (m: Record<string, unknown>) => {
    const r = waiting.shift()
    if (r) r(m)
    else queue.push(m)
  })
  w.on('error', (e) => {
    console.error(`worker ${rank}:`, e)
    process.exit(1)
  })
  const next = async (type: string) => {
    const m = queue.shift() ?? (await new Promise<Record<string, unknown>>((r) => waiting.push(r)))
    if (m.type === 'error') throw new Error(`worker ${rank}: ${String(m.message)}`)
    if (m.type !== type) throw new Error(`worker ${rank}: expected ${type}, got ${String(m.type)}`)
    return m
  }
  return { w, next }
}

async function main(): Promise<void> {
  const { values: opts } = parseArgs({
    options: {
      models: { type: 'string', default: 'tiny-lm,emoji-cnn' },
      repeats: { type: 'string', default: '3' },
      steps: { type: 'string', default: '6' },
      shapes: { type: 'string', default: '16x64,8x32' },
      modes: { type: 'string', default: 'single,dp-both,dp-one,half' },
      // Each mode also with tfjs' own batched product (`-old`), new and old alternating.
      kernels: { type: 'boolean', default: false },
      // With --kernels: `-old` is only tiny-lm's op path between the products (models/lmFused.ts off).
      lm: { type: 'boolean', default: false },
      // With --kernels: `-old` is only these benchSwitch keys on (e.g. tfjsTranspose,widePacking).
      switch: { type: 'string', default: '' },
      priority: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join(path.dirname(here), '../results') },
    },
  })
  const priority = raisePriority(opts.priority) // --priority: autogroup nice -20 (benchProcess.ts)
  if (opts.lm) process.env.BENCH_OLD_IS_LM_OP_PATH = '1' // the workers inherit the environment
  if (opts.switch) process.env.BENCH_OLD_SWITCHES = opts.switch
  const started = Date.now()
  const log = (...a: unknown[]) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`, ...a)
  const models = opts.models.split(',') as ('tiny-lm' | 'emoji-cnn')[]
  const repeats = Number(opts.repeats)
  const steps = Number(opts.steps)
  const shapes = opts.shapes.split(',').map((x) => {
    const [b, t] = x.split('x').map(Number)
    return { batch: b!, seqLen: t! }
  })
  const runModes = opts.modes.split(',') as BaseMode[]
  const shownModes: Mode[] = runModes.flatMap((m) => (opts.kernels ? [m, `${m}-old` as Mode] : [m]))
  const loadAtStart = os.loadavg()
  const workers = [spawn(0), spawn(1)]
  await Promise.all(workers.map((w) => w.next('ready')))
  const figures: Figure[] = []
  const matmuls: MatmulFigure[] = []
  const flopsPer: Record<string, { flopsPerStep: number; mmShape: [number, number, number] }> = {}
  const checks: { model: string; shape: Shape; single: number[]; dpBoth: number[]; dpOne: number[]; maxDiff: number }[] = []
  const describes: Record<string, string> = {}
  for (const model of models) {
    // The image model has no sequence length: one shape per batch size.
    const modelShapes = model === 'emoji-cnn' ? [...new Map(shapes.map((s) => [s.batch, { batch: s.batch, seqLen: 32 }])).values()] : shapes
    for (const shape of modelShapes) {
      for (const w of workers) w.w.postMessage({ type: 'load', model, shape } satisfies Msg)
      const [loaded] = await Promise.all(workers.map((w) => w.next('loaded')))
      describes[model === 'emoji-cnn' ? `${model}, batch ${shape.batch}` : `${model}, batch ${shape.batch} × ${shape.seqLen} tokens`] = String(loaded!.describe)
      const key = `${model} ${shape.batch}x${shape.seqLen}`
      flopsPer[key] = { flopsPerStep: Number(loaded!.flopsPerStep), mmShape: loaded!.mmShape as [number, number, number] }
      // The all-core matmul rate: both workers' single-threaded wasm multiplying at once, rates
      // summed; and one worker alone. At 512² and at the model's own product shape.
      const measureMatmul = async () => {
        for (const mm of [[512, 512, 512], flopsPer[key]!.mmShape] as [number, number, number][]) {
          for (const n of [1, 2] as const) {
            const load1 = os.loadavg()[0]!
            const cpu0 = process.cpuUsage()
            const t0 = now()
            const ranks = workers.slice(0, n)
            for (const w of ranks) w.w.postMessage({ type: 'matmul', m: mm[0], k: mm[1], n: mm[2], ms: 500 } satisfies Msg)
            const out = await Promise.all(ranks.map((w) => w.next('matmuled')))
            const cpu = process.cpuUsage(cpu0)
            const cores = (cpu.user + cpu.system) / 1000 / (now() - t0)
            const perWorker = out.map((o) => Number(o.gflops))
            const gflops = perWorker.reduce((a, b) => a + b, 0)
            matmuls.push({ model, shape, mm, workers: n, gflops, perWorker, load1, cores })
            log(model, `b${shape.batch}×${shape.seqLen}`, `matmul ${mm.join('×')}`, `${n} worker${n > 1 ? 's' : ''}`, `${gflops.toFixed(1)} GFLOP/s`, `load ${load1.toFixed(2)}`, `cores used ${cores.toFixed(2)}`)
          }
        }
      }
      const P = Number(loaded!.size)
      const sab = new SharedArrayBuffer(64 + 5 * P * 4 + 16)
      for (const w of workers) w.w.postMessage({ type: 'share', sab } satisfies Msg)
      await Promise.all(workers.map((w) => w.next('shared')))
      const runOnce = async (mode: Mode, n: number, warmup: number) => {
        const ranks = baseOf(mode) === 'single' || baseOf(mode) === 'half' ? [workers[0]!] : workers
        for (const w of ranks) w.w.postMessage({ type: 'run', mode, steps: n, warmup } satisfies Msg)
        const out = await Promise.all(ranks.map((w) => w.next('ran')))
        if (process.env.DP_PHASES) console.log(mode, out.map((o) => JSON.stringify(o.phase)))
        return { ms: Number(out[0]!.ms), losses: out[0]!.losses as number[], other: out[1]?.losses as number[] | undefined }
      }
      // The same 4 steps from the same weights, three ways.
      const a = await runOnce('single', 4, 0)
      const b = await runOnce('dp-both', 4, 0)
      const c = await runOnce('dp-one', 4, 0)
      const maxDiff = Math.max(...a.losses.map((x, i) => Math.max(Math.abs(x - b.losses[i]!), Math.abs(x - c.losses[i]!), Math.abs(b.losses[i]! - (b.other?.[i] ?? NaN)))))
      checks.push({ model, shape, single: a.losses, dpBoth: b.losses, dpOne: c.losses, maxDiff })
      log(model, `b${shape.batch}×${shape.seqLen}`, 'losses 1 worker', a.losses.map((x) => x.toFixed(6)).join(' '), 'largest difference', maxDiff.toExponential(2))
      const order: (Mode | 'matmul')[] = []
      // With --kernels each mode runs with both products, the order flipping every round.
      for (let r = 0; r < repeats; r++) order.push('matmul', ...runModes.flatMap((m) => (opts.kernels ? (r % 2 ? [`${m}-old` as Mode, m] : [m, `${m}-old` as Mode]) : [m])))
      order.push('single', ...(opts.kernels ? ['single-old' as Mode] : []), 'matmul')
      for (const mode of order) {
        if (mode === 'matmul') {
          await measureMatmul()
          continue
        }
        const load1 = os.loadavg()[0]!
        const cpu0 = process.cpuUsage()
        const t0 = now()
        const r = await runOnce(mode, steps, 2)
        const cpu = process.cpuUsage(cpu0)
        const cores = (cpu.user + cpu.system) / 1000 / (now() - t0)
        const gflops = flopsPer[key]!.flopsPerStep / (r.ms / 1000) / 1e9
        figures.push({ model, shape, mode, msPerStep: r.ms, load1, cores, gflops })
        log(model, `b${shape.batch}×${shape.seqLen}`, mode.padEnd(7), `${r.ms.toFixed(1)} ms/step`, `${gflops.toFixed(2)} GFLOP/s`, `load ${load1.toFixed(2)}`, `cores used ${cores.toFixed(2)}`)
      }
    }
  }
  for (const w of workers) w.w.postMessage({ type: 'quit' } satisfies Msg)

  const baseLabel: Record<BaseMode, string> = { single: '1 worker', half: '1 worker, half the batch (the bound for 2)', 'dp-both': '2 workers, both update', 'dp-one': '2 workers, one updates', 'half-pair': '2 workers at once, each on its own half, no exchange (the bound with both cores busy)' }
  const label = (m: Mode) => baseLabel[baseOf(m)] + (opts.kernels ? (opts.switch ? (isOld(m) ? `, ${opts.switch} on (old)` : ', now (new)') : opts.lm ? (isOld(m) ? ', tiny-lm op path between products (old)' : ', lmFused kernels (new)') : isOld(m) ? ', tfjs BatchMatMul (old)' : ', sliced XNNPACK products (new)') : '')
  const lines: string[] = []
  const stamp = new Date(started).toISOString()
  lines.push(`# Data parallelism on the CPU (Node, wasm single-threaded per worker), ${stamp}`, '')
  lines.push(`\`npm run bench:data-parallel\` (bench/node/dataParallel.ts): ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.`)
  lines.push(`Load average at start ${loadAtStart.map((x) => x.toFixed(2)).join(' / ')}, at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')} (1 / 5 / 15 min). ${repeats} rounds of (${runModes.map((m) => baseLabel[m]).join(', ')})${opts.kernels ? (opts.switch ? `, each mode twice in a row, new and old (benchSwitch ${opts.switch} on), the order of the two flipping every round` : opts.lm ? ", each mode twice in a row, with tiny-lm's layer norms, GELU, softmax, heads and bias gradients as one fused kernel each (new, src/engine/models/lmFused.ts) and as tf ops (old, benchSwitch.lmOpPath), the order of the two flipping every round" : ", each mode twice in a row, with attention's batched products as sliced XNNPACK products (new, src/engine/models/slicedMatMul.ts) and with tfjs-wasm's own BatchMatMul (old, a scalar loop for batches), the order of the two flipping every round") : ''}, then 1 worker again; ${steps} timed steps a run after 2 warm-up steps; each round begins with the matmul rates (below), and the last 1-worker run is followed by them; full fine-tuning, Adam, dropout off. Speed-up = median 1-worker step time / median 2-worker step time; each run's 1-minute load average is listed beside it, and the cores the bench's process really got during the run (its CPU time / wall time: 2 workers can only help when that nears 2). Scheduling priority: ${priority}.`, '')
  for (const [m, d] of Object.entries(describes)) lines.push(`- ${m}: ${d}`)
  lines.push('', '| model | batch × tokens | mode | median ms/step | speed-up vs 1 worker | the same, runs that got their cores | runs (ms/step @ load, cores used) |', '|---|---|---|---|---|---|---|')
  const summary: Record<string, unknown>[] = []
  for (const model of models) {
    const forModel = figures.filter((f) => f.model === model)
    const keys = [...new Set(forModel.map((f) => `${f.shape.batch}x${f.shape.seqLen}`))]
    for (const key of keys) {
      const fs = forModel.filter((f) => `${f.shape.batch}x${f.shape.seqLen}` === key)
      for (const mode of shownModes) {
        const single: Mode = isOld(mode) ? 'single-old' : 'single'
        const base = median(fs.filter((f) => f.mode === single).map((f) => f.msPerStep))
        const mine = fs.filter((f) => f.mode === mode)
        const med = median(mine.map((f) => f.msPerStep))
        // Runs where the process had the cores it asked for (≥ 0.95 for one worker, ≥ 1.6 for two).
        const served = (f: Figure) => f.cores >= (baseOf(f.mode) === 'single' || baseOf(f.mode) === 'half' ? 0.95 : 1.6)
        const baseServed = fs.filter((f) => f.mode === single && served(f)).map((f) => f.msPerStep)
        const mineServed = mine.filter(served).map((f) => f.msPerStep)
        const servedText = mode === single ? `${baseServed.length} of ${mine.length} runs` : baseServed.length && mineServed.length ? `${(median(baseServed) / median(mineServed)).toFixed(2)}× (${mineServed.length} of ${mine.length} runs)` : 'none'
        const shapeText = model === 'emoji-cnn' ? `${fs[0]!.shape.batch} × 32×32 px` : `${fs[0]!.shape.batch} × ${fs[0]!.shape.seqLen}`
        const oldMed = isOld(mode) ? NaN : median(fs.filter((f) => f.mode === `${mode}-old`).map((f) => f.msPerStep))
        const vsOld = opts.kernels && !isOld(mode) ? ` (${(oldMed / med).toFixed(2)}× the old kernel's ${oldMed.toFixed(1)})` : ''
        lines.push(`| ${model} | ${shapeText} | ${label(mode)} | ${med.toFixed(1)}${vsOld} | ${mode === single ? '1' : (base / med).toFixed(2) + '×'} | ${servedText} | ${mine.map((f) => `${f.msPerStep.toFixed(0)} @ ${f.load1.toFixed(1)}, ${f.cores.toFixed(2)}`).join('; ')} |`)
        summary.push({ model, shape: key, mode, medianMs: med, speedup: base / med, runs: mine })
      }
    }
  }
  // Achieved GFLOP/s against the machine's all-core matmul rate (issue 19's CPU target: full
  // fine-tuning of the built-in LM at ≥ 50 % of it), both measured in the same rounds.
  lines.push('', `## Achieved GFLOP/s against the all-core matmul rate`, '')
  lines.push(`Each round began with the matmul rates (and the last run ended with them): fp32 \`tf.matMul\` on the workers' single-threaded wasm, each product read back, for 0.5 s after one warm-up product; "1 worker" is the first worker alone, "2 workers" both at once with their rates summed (the machine's all-core rate for this backend, ${os.cpus().length} cores). Shapes: 512² and the model's own largest common product at this batch (tiny-lm's MLP [B·T, d]·[d, dFF], emoji-cnn's costliest pointwise convolution [B·H·W, Cin]·[Cin, Cout]). Achieved GFLOP/s = the step's analytic FLOPs (\`bench/page/flops.ts\`: matrix products only, forward and backward) ÷ its time. Percentages are of the medians over the same model and batch's rounds.`, '')
  lines.push('| model | batch × tokens | product | 1 worker GFLOP/s (median) | 2 workers GFLOP/s, summed (median) | runs (GFLOP/s @ load, cores used) |', '|---|---|---|---|---|---|')
  const mmMedians: Record<string, number> = {}
  for (const key of Object.keys(flopsPer)) {
    const [model, bt] = key.split(' ') as [string, string]
    const mine = matmuls.filter((f) => `${f.model} ${f.shape.batch}x${f.shape.seqLen}` === key)
    for (const mm of [...new Set(mine.map((f) => f.mm.join('x')))]) {
      const runs = (n: number) => mine.filter((f) => f.mm.join('x') === mm && f.workers === n)
      for (const n of [1, 2]) mmMedians[`${key} ${mm} ${n}`] = median(runs(n).map((f) => f.gflops))
      const shapeText = model === 'emoji-cnn' ? `${bt.split('x')[0]} × 32×32 px` : bt.replace('x', ' × ')
      const runText = (n: number) => runs(n).map((f) => `${f.gflops.toFixed(1)} @ ${f.load1.toFixed(1)}, ${f.cores.toFixed(2)}`).join('; ')
      lines.push(`| ${model} | ${shapeText} | ${mm.replace(/x/g, '×')} | ${mmMedians[`${key} ${mm} 1`]!.toFixed(1)} | ${mmMedians[`${key} ${mm} 2`]!.toFixed(1)} | 1: ${runText(1)}; 2: ${runText(2)} |`)
    }
  }
  lines.push('', '| model | batch × tokens | FLOPs a step | mode | median GFLOP/s | of the all-core 512² rate | of the all-core rate at the model\'s shape | of one worker\'s 512² rate | runs (GFLOP/s @ load, cores used) |', '|---|---|---|---|---|---|---|---|---|')
  const ratios: Record<string, unknown>[] = []
  for (const key of Object.keys(flopsPer)) {
    const [model, bt] = key.split(' ') as [string, string]
    const { flopsPerStep, mmShape } = flopsPer[key]!
    const all512 = mmMedians[`${key} 512x512x512 2`]!
    const one512 = mmMedians[`${key} 512x512x512 1`]!
    const allModel = mmMedians[`${key} ${mmShape.join('x')} 2`]!
    for (const mode of shownModes) {
      const mine = figures.filter((f) => `${f.model} ${f.shape.batch}x${f.shape.seqLen}` === key && f.mode === mode)
      const g = median(mine.map((f) => f.gflops))
      const shapeText = model === 'emoji-cnn' ? `${bt.split('x')[0]} × 32×32 px` : bt.replace('x', ' × ')
      const pct = (x: number) => `${((100 * g) / x).toFixed(0)} %`
      lines.push(`| ${model} | ${shapeText} | ${(flopsPerStep / 1e9).toFixed(2)} G | ${label(mode)} | ${g.toFixed(2)} | ${pct(all512)} | ${pct(allModel)} | ${pct(one512)} | ${mine.map((f) => `${f.gflops.toFixed(1)} @ ${f.load1.toFixed(1)}, ${f.cores.toFixed(2)}`).join('; ')} |`)
      ratios.push({ model, shape: bt, mode, flopsPerStep, gflops: g, allCore512: all512, allCoreModelShape: allModel, oneWorker512: one512, ofAllCore512: g / all512, ofAllCoreModelShape: g / allModel })
    }
  }
  lines.push('', 'Same 4 steps from the same weights (loss of each step; the 2-worker loss is the size-weighted mean of the halves):', '')
  for (const c of checks) lines.push(`- ${c.model} b${c.shape.batch}×${c.shape.seqLen}: 1 worker ${c.single.map((x) => x.toFixed(6)).join(', ')}; largest difference to either 2-worker mode (and between the two workers) ${c.maxDiff.toExponential(2)}`)
  lines.push('')
  const dir = opts.out
  mkdirSync(dir, { recursive: true })
  const base = path.join(dir, `${stamp.replace(/[:.]/g, '-')}-data-parallel`) // one file a run: earlier runs stay cited
  writeFileSync(`${base}.md`, lines.join('\n'))
  writeFileSync(`${base}.json`, JSON.stringify({ startedAt: stamp, priority, loadAtStart, loadAtEnd: os.loadavg(), cpus: os.cpus().length, figures, summary, checks, matmuls, flopsPer, ratios }, null, 1))
  log(`wrote ${base}.md`)
  console.log(lines.join('\n'))
  process.exit(0)
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
} else {
  workerMain((workerData as { rank: number }).rank).catch((e) => {
    parentPort?.postMessage({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) })
  })
}
