/**
 * The training benchmarks on WebGPU without a browser: Dawn for Node (the `webgpu` package),
 * so a GPU machine without Chromium can run them, and CI runs them on mesa's lavapipe.
 *
 *   npm run bench:webgpu                          # wasm on the machine's CPU, then webgpu
 *   npm run bench:webgpu -- --backends webgpu --models tiny-lm --methods full --budget 1
 *   npm run bench:webgpu -- --gpt2                # also a 124 M GPT-2-shaped LoRA step (a real GPU)
 *   node dist-webgpu-bench/webgpuBench.cjs …      # the packed copy (npm run bench:webgpu:pack)
 *
 * Per backend: square matmul GFLOP/s; per built-in model a one-step check against the cpu
 * backend (loss and every gradient, as bench/page/gradientCheck.ts does in the browser),
 * then per method the lean loop's and the studio loop's samples/s and achieved GFLOP/s
 * (bench/page/flops.ts), and where the time goes: kernels per step × the cost of one
 * dispatch (an empty-kernel loop), and step time against batch size (the intercept is the
 * part that does not grow with the work). Writes bench/results/<stamp>-node.json and .md.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { Tuning } from '../../src/engine/train/fineTune'
import { trainableBlocks } from '../../src/engine/tuning/freeze'
import { LORA_LAYER_OF, parseLoraTargets } from '../../src/engine/tuning/lora'
import { TinyGpt, type TinyGptConfig } from '../../src/engine/models/tinyGpt'
import type { TinyCnn } from '../../src/engine/models/tinyCnn'
import type { Settings } from '../../src/settings/types'
import { countCnnFlops, countFlops, matmulFlops } from '../page/flops'
import { gradientCheck } from '../page/gradientCheck'
import { benchSettings, planOf, referenceLoop, studioLoop } from '../page/loops'
import { forgetWorkloads, isText, useImageDecoder, workload, type BenchMethod, type Rows, type Workload, type WorkloadId } from '../page/workloads'
import { deviceErrorsDuring, startDawn, type AdapterInfo } from './dawn'
import { bindingBytes, webgpuDeviceLimits } from '../../src/engine/hf/bindingLimits'
import { pngDecoder, publicRoot, servePublic } from './nodeHost'

const now = () => performance.now()
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d

export interface NodeBenchOptions {
  backends: string[]
  models: WorkloadId[]
  methods: BenchMethod[]
  budgetSec: number // timed seconds per loop
  minSteps: number
  maxRows: number
  batchSize: number
  seqLen: number
  matmulSizes: number[]
  gpt2: boolean
  gpt2Layers: number // 12 for the real GPT-2 small shape; fewer for a smoke run
  scaling: boolean // step time at batch 1, 4 and 16 for full fine-tuning
}

async function useBackend(name: string): Promise<{ adapter?: AdapterInfo; threads?: number }> {
  if (name === 'webgpu') return { adapter: await startDawn() }
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm')
    // The packed bench ships the .wasm files next to itself (bench/node/pack.mjs).
    if (process.env.BENCH_WASM_DIR) wasm.setWasmPaths(process.env.BENCH_WASM_DIR + path.sep)
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start')
    await tf.ready()
    return { threads: wasm.getThreadsCount() }
  }
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not start`)
  return {}
}

async function matmulGflops(n: number): Promise<number> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1)
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2)
  const run = async () => {
    const c = tf.matMul(a, b)
    await c.data() // await: synchronous WebGPU reads gave zeros (field notes)
    c.dispose()
  }
  await run()
  let reps = 0
  const t0 = now()
  while (reps < 3 || (now() - t0 < 1000 && reps < 200)) {
    await run()
    reps++
  }
  const sec = (now() - t0) / 1000
  tf.dispose([a, b])
  return (matmulFlops(n) * reps) / sec / 1e9
}

/** The cost of one kernel dispatch: a chain of adds on a 1,024-element tensor (next to no
 *  arithmetic), read once at the end, as a training step reads its loss. 1,024, not fewer:
 *  tfjs' webgpu backend computes tensors under 1,000 elements whose data is still on the CPU
 *  with its cpu kernels (WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD), which would time no dispatch. */
async function dispatchMs(count = 400): Promise<number> {
  const chain = async (n: number) => {
    let y = tf.ones([1024])
    for (let i = 0; i < n; i++) {
      const next = tf.add(y, 1)
      y.dispose()
      y = next
    }
    await y.data()
    y.dispose()
  }
  await chain(20) // compile the shader
  const t0 = now()
  await chain(count)
  return (now() - t0) / count
}

function flopsOf(w: Workload, s: Settings, tuning: Tuning) {
  const plan = planOf(w.model, tuning, s)
  const base = { trainableBlocks: trainableBlocks(w.model.config.nLayers, s, 0), cachedBlocks: plan.blocks, pooled: plan.pooled }
  if (isText(w)) {
    const lora = tuning.lora ? { lora: { rank: s.loraRank, targets: parseLoraTargets(s.loraTargets).map((t) => LORA_LAYER_OF[t]), blocks: tuning.lora.blocks } } : {}
    return countFlops(w.model.config, s.seqLen, w.classes, { ...base, ...lora })
  }
  const lora = tuning.lora ? { lora: { rank: s.loraRank, targets: ['pw'], blocks: tuning.lora.blocks } } : {}
  return countCnnFlops((w.model as TinyCnn).config, w.classes, { ...base, ...lora })
}

async function benchMethod(w: Workload, m: BenchMethod, o: NodeBenchOptions, perDispatchMs: number) {
  const s = benchSettings(w, m, o.batchSize, o.seqLen, 1)
  const probe = new Tuning(w.model, s, w.classes)
  const plan = planOf(w.model, probe, s)
  const flops = flopsOf(w, s, probe)
  probe.dispose()
  const lean = await referenceLoop(w, s, o.budgetSec, 2000, o.minSteps, o.maxRows)
  const studio = await studioLoop(w, s, lean.steps, plan.blocks > 0 || plan.pooled, o.maxRows)
  const samplesPerSec = (1000 * o.batchSize) / studio.stepMs
  const dispatchShare = (lean.largeKernelsPerStep * perDispatchMs) / lean.stepMs
  return {
    method: m,
    steps: lean.steps,
    trainableParams: lean.trainableParams,
    flopsPerSample: flops.perSampleStep,
    leanStepMs: round(lean.stepMs),
    studioStepMs: round(studio.stepMs),
    studioOverLean: round(studio.stepMs / lean.stepMs),
    samplesPerSec: round(samplesPerSec, 1),
    leanSamplesPerSec: round((1000 * o.batchSize) / lean.stepMs, 1),
    gflops: round((flops.perSampleStep * samplesPerSec) / 1e9),
    kernelsPerStep: lean.kernelsPerStep,
    dispatchedKernelsPerStep: lean.largeKernelsPerStep,
    // Dispatched kernels × the cost of an empty dispatch, as a share of the step: the per-op overhead.
    dispatchMsPerStep: round(lean.largeKernelsPerStep * perDispatchMs),
    dispatchShare: round(Math.min(1, dispatchShare)),
  }
}

/** Full fine-tuning at batch 1, 4 and 16: time = fixed + per-sample × batch. The fixed part
 *  (least squares intercept) is what a step costs however little arithmetic it does. */
async function batchScaling(w: Workload, o: NodeBenchOptions) {
  const points: { batch: number; stepMs: number }[] = []
  for (const batch of [1, 4, 16]) {
    const s = benchSettings(w, 'full', batch, o.seqLen, 1)
    const r = await referenceLoop(w, s, o.budgetSec, 2000, Math.max(3, o.minSteps), Math.max(o.maxRows, 16 * 4))
    points.push({ batch, stepMs: round(r.stepMs) })
  }
  const n = points.length
  const mx = points.reduce((a, p) => a + p.batch, 0) / n
  const my = points.reduce((a, p) => a + p.stepMs, 0) / n
  const slope = points.reduce((a, p) => a + (p.batch - mx) * (p.stepMs - my), 0) / points.reduce((a, p) => a + (p.batch - mx) ** 2, 0)
  const fixedMs = my - slope * mx
  const at = (b: number) => fixedMs + slope * b
  return { points, fixedMs: round(fixedMs), perSampleMs: round(slope), fixedShareAtBatch8: round(Math.max(0, fixedMs) / at(8)) }
}

/** A GPT-2-small-shaped model (124 M weights, random: the shape is what costs) with LoRA on
 *  qkv and proj, batch 4 × 128 tokens, classification head: the LoRA target of the issue. */
async function gpt2Workload(layers: number): Promise<Workload> {
  const config: TinyGptConfig = { vocabSize: 50257, seqLen: 1024, dModel: 768, nLayers: layers, nHeads: 12, dFF: 3072 }
  const model = new TinyGpt(config, undefined, 7)
  const n = 64
  const T = 128
  let seed = 11
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
  const all: Rows = {
    kind: 'classification',
    n,
    seqLen: T,
    tokens: Int32Array.from({ length: n * T }, () => Math.floor(rand() * 50257)),
    mask: new Float32Array(n * T).fill(1),
    labels: Int32Array.from({ length: n }, (_, i) => i % 2),
    classes: ['a', 'b'],
  }
  return {
    id: 'tiny-lm', // a TinyGpt: the text paths of the loops
    describe: `GPT-2-small-shaped TinyGpt (${layers} blocks, d=768, vocab 50257, ${(model.parameterCount() / 1e6).toFixed(0)} M weights, random), ${T} tokens`,
    model,
    all,
    classes: 2,
    method: (m) => (m === 'last-block' ? { method: 'freeze', freezeFirst: layers - 1 } : { method: m }),
  }
}

/** The WebGPU errors a measurement ran into, when it ran into any: then it measured nothing. */
export interface DeviceErrors {
  count: number
  first: string
}

/** Runs one measurement; on webgpu, with the device errors it caused attached. A kernel that
 *  fails validation computes nothing and costs next to nothing, so its figures would look
 *  fast and mean nothing: the tables say "not valid" instead of printing them. */
export async function guarded<T extends object>(backend: string, fn: () => Promise<T>): Promise<T & { deviceErrors?: DeviceErrors }> {
  if (backend !== 'webgpu') return fn()
  const { value, errors } = await deviceErrorsDuring(fn)
  return errors.length > 0 ? { ...value, deviceErrors: { count: errors.length, first: errors[0]! } } : value
}

const GPT2_VOCAB = 50257
const GPT2_WIDTH = 768

/** Why the GPT-2-shaped TinyGpt cannot run on this device (null: it can). Its 50,257 × 768
 *  embedding, also its tied head, is one tensor of 154 MB; an adapter that allows less in one
 *  binding (lavapipe and some mobile GPUs: 128 MiB) cannot bind it. The studio's Hugging Face
 *  path splits such tables (src/engine/hf/bindingLimits.ts); the bench's TinyGpt does not. */
export function gpt2DoesNotFit(limitBytes: number | null): string | null {
  const bytes = GPT2_VOCAB * GPT2_WIDTH * 4
  if (limitBytes === null || bytes <= limitBytes) return null
  return `its ${GPT2_VOCAB.toLocaleString('en')} × ${GPT2_WIDTH} embedding (${(bytes / 1e6).toFixed(1)} MB) is over this device's ${(limitBytes / 2 ** 20).toFixed(0)} MiB binding limit`
}

const notValid = (e: DeviceErrors) => `not valid: ${e.count} WebGPU error${e.count > 1 ? 's' : ''} (first: ${e.first})`

export async function runNodeBench(o: NodeBenchOptions, log: (s: string) => void = console.log) {
  servePublic()
  useImageDecoder(pngDecoder)
  const results: Record<string, unknown> & { backends: unknown[] } = {
    startedAt: new Date().toISOString(),
    where: 'Node, no browser (bench/node/webgpuBench.ts)',
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGB: round(os.totalmem() / 2 ** 30, 1), node: process.version, platform: `${process.platform}-${process.arch}`, loadAtStart: os.loadavg().map((x) => round(x, 1)) },
    options: o,
    backends: [],
  }
  // WebGPU last: a few tensors outlive a backend switch (TinyGpt's cached causal masks), and
  // tfjs can move them from the CPU backends to WebGPU but not back (no sync reads in Node).
  const order = [...o.backends.filter((b) => b !== 'webgpu'), ...o.backends.filter((b) => b === 'webgpu')]
  for (const backend of order) {
    log(`${backend}: starting`)
    let started
    try {
      started = await useBackend(backend)
    } catch (e) {
      results.backends.push({ backend, available: false, note: e instanceof Error ? e.message : String(e) })
      log(`  ${backend}: not available: ${String(e)}`)
      continue
    }
    const matmul: Record<string, number> = {}
    const basics = await guarded(backend, async () => {
      for (const n of o.matmulSizes) matmul[`n${n}`] = round(await matmulGflops(n), 2)
      return { perDispatchMs: await dispatchMs() }
    })
    const perDispatchMs = basics.perDispatchMs
    log(`  matmul GFLOP/s ${JSON.stringify(matmul)}, one dispatch ${perDispatchMs.toFixed(3)} ms${basics.deviceErrors ? `: ${notValid(basics.deviceErrors)}` : ''}`)
    const models = []
    for (const id of o.models) {
      const w = await workload(id, o.seqLen)
      const check = backend === 'cpu' ? null : await guarded(backend, () => gradientCheck(w, backend))
      if (check) log(`  ${id}: step vs cpu: loss ${check.loss} vs ${check.cpuLoss}, worst gradient rel. error ${check.worstGradRelError.toExponential(1)} (${check.worstGradient}), ${check.ok && !check.deviceErrors ? 'ok' : 'NOT OK'}${check.deviceErrors ? `, ${notValid(check.deviceErrors)}` : ''}`)
      const methods = []
      for (const m of o.methods) {
        const r = await guarded(backend, () => benchMethod(w, m, o, perDispatchMs))
        log(`  ${id} ${m}: ${r.deviceErrors ? notValid(r.deviceErrors) : `${r.samplesPerSec} samples/s (lean ${r.leanSamplesPerSec}), ${r.gflops} GFLOP/s, ${r.kernelsPerStep} kernels/step (${r.dispatchedKernelsPerStep} on ≥ 1,000 elements), dispatch ≈ ${(100 * r.dispatchShare).toFixed(0)} % of the step`}`)
        methods.push(r)
      }
      const scaling = o.scaling ? await guarded(backend, () => batchScaling(w, o)) : null
      if (scaling?.deviceErrors) log(`  ${id} full, step vs batch: ${notValid(scaling.deviceErrors)}`)
      else if (scaling) log(`  ${id} full, step ms = ${scaling.fixedMs} + ${scaling.perSampleMs} × batch (${JSON.stringify(scaling.points)})`)
      models.push({ id, describe: w.describe, batchSize: o.batchSize, check, methods, scaling })
    }
    let gpt2: Record<string, unknown> | null = null
    const limits = webgpuDeviceLimits()
    const skip = o.gpt2 ? gpt2DoesNotFit(limits && bindingBytes(limits)) : null
    if (skip) {
      gpt2 = { skipped: skip }
      log(`  gpt2-shaped LoRA: not run: ${skip}`)
    } else if (o.gpt2) {
      const w = await gpt2Workload(o.gpt2Layers)
      const oo = { ...o, batchSize: 4, seqLen: 128, maxRows: 64, minSteps: 3 }
      const r = await guarded(backend, () => benchMethod(w, 'lora', oo, perDispatchMs))
      const best = Math.max(...Object.values(matmul))
      gpt2 = { describe: w.describe, batchSize: 4, seqLen: 128, ...r, ofBestMatmul: round(r.gflops / best) }
      log(`  gpt2-shaped LoRA: ${r.deviceErrors ? notValid(r.deviceErrors) : `${r.samplesPerSec} samples/s, ${r.gflops} GFLOP/s = ${((100 * r.gflops) / best).toFixed(0)} % of the best matmul rate`}`)
      w.model.dispose()
    }
    await forgetWorkloads() // their weights live on this backend
    results.backends.push({ backend, available: true, ...started, limits, matmul, dispatchMs: round(perDispatchMs, 4), basicsErrors: basics.deviceErrors, models, gpt2, memory: tf.memory() })
  }
  return results
}

export function markdown(r: Awaited<ReturnType<typeof runNodeBench>>): string {
  const L: string[] = [`# Node bench (no browser), ${r.startedAt}`, '', `Machine: ${JSON.stringify(r.machine)}`, '']
  for (const b of r.backends as Record<string, any>[]) {
    if (!b.available) {
      L.push(`## ${b.backend}: not available (${b.note})`, '')
      continue
    }
    const where = b.adapter ? ` on ${b.adapter.description} (${b.adapter.software ? 'software: the CPU' : 'a GPU'})` : b.threads ? ` (${b.threads} thread${b.threads > 1 ? 's' : ''})` : ''
    const limit = b.limits ? ` Binding limit: ${(bindingBytes(b.limits) / 2 ** 20).toFixed(0)} MiB.` : ''
    L.push(`## ${b.backend}${where}`, '', `Matmul GFLOP/s: ${Object.entries(b.matmul).map(([k, v]) => `${k.slice(1)}: ${v}`).join(', ')}; one dispatch (empty-kernel loop): ${b.dispatchMs} ms${b.basicsErrors ? ` (${notValid(b.basicsErrors)})` : ''}.${limit}`, '')
    L.push('| model | method | samples/s | lean samples/s | achieved GFLOP/s | kernels/step (on ≥ 1,000 elements) | dispatch share of the step |', '|---|---|---|---|---|---|---|')
    for (const m of b.models) for (const x of m.methods) L.push(x.deviceErrors ? `| ${m.id} | ${x.method} | ${notValid(x.deviceErrors)} | | | | |` : `| ${m.id} | ${x.method} | ${x.samplesPerSec} | ${x.leanSamplesPerSec} | ${x.gflops} | ${x.kernelsPerStep} (${x.dispatchedKernelsPerStep}) | ${(100 * x.dispatchShare).toFixed(0)} % |`)
    L.push('', 'Dispatch share = kernels on tensors of ≥ 1,000 elements (the ones tfjs sends to the device) × one empty dispatch ÷ the lean step: the per-op overhead; the rest is arithmetic and memory traffic. The step-vs-batch fit below is a second estimate of the same split.')
    L.push('')
    for (const m of b.models) {
      if (m.check) L.push(`- ${m.id}: one step against the cpu backend: loss ${m.check.loss} vs ${m.check.cpuLoss} (rel. error ${m.check.lossRelError.toExponential(1)}), worst gradient rel. error ${m.check.worstGradRelError.toExponential(1)} (${m.check.worstGradient}), non-finite ${m.check.nonFinite}: **${m.check.ok && !m.check.deviceErrors ? 'equal' : 'NOT equal'}**${m.check.deviceErrors ? ` (${notValid(m.check.deviceErrors)})` : ''}.`)
      if (m.scaling?.deviceErrors) L.push(`- ${m.id}, full fine-tuning, step against batch: ${notValid(m.scaling.deviceErrors)}.`)
      else if (m.scaling) L.push(`- ${m.id}, full fine-tuning: step ms ≈ ${m.scaling.fixedMs} + ${m.scaling.perSampleMs} × batch (batch ${m.scaling.points.map((p: any) => `${p.batch}: ${p.stepMs} ms`).join(', ')}): at batch 8 the fixed part is ${(100 * m.scaling.fixedShareAtBatch8).toFixed(0)} % of the step.`)
    }
    if (b.gpt2?.skipped) L.push(`- GPT-2-small-shaped TinyGpt, LoRA: not run: ${b.gpt2.skipped}.`)
    else if (b.gpt2?.deviceErrors) L.push(`- ${b.gpt2.describe}, LoRA, batch 4: ${notValid(b.gpt2.deviceErrors)}.`)
    else if (b.gpt2) L.push(`- ${b.gpt2.describe}, LoRA, batch 4: ${b.gpt2.samplesPerSec} samples/s, ${b.gpt2.gflops} GFLOP/s = ${(100 * b.gpt2.ofBestMatmul).toFixed(0)} % of the best matmul rate (target ≥ 30 % on a real GPU).`)
    L.push('')
  }
  return L.join('\n')
}

async function main() {
  const { values: a } = parseArgs({
    options: {
      backends: { type: 'string', default: 'webgpu,wasm' },
      models: { type: 'string', default: 'tiny-lm,emoji-cnn' },
      methods: { type: 'string', default: 'full,last-block,lora,head' },
      budget: { type: 'string', default: '2' },
      'min-steps': { type: 'string', default: '4' },
      'max-rows': { type: 'string', default: '64' },
      'matmul-sizes': { type: 'string', default: '256,512,1024' },
      gpt2: { type: 'boolean', default: false },
      'gpt2-layers': { type: 'string', default: '12' },
      'no-scaling': { type: 'boolean', default: false },
      out: { type: 'string' }, // results folder (default bench/results in the repo, results/ in the pack)
    },
  })
  const o: NodeBenchOptions = {
    backends: a.backends!.split(','),
    models: a.models!.split(',') as WorkloadId[],
    methods: a.methods!.split(',') as BenchMethod[],
    budgetSec: Number(a.budget),
    minSteps: Number(a['min-steps']),
    maxRows: Number(a['max-rows']),
    batchSize: 8,
    seqLen: 32,
    matmulSizes: a['matmul-sizes']!.split(',').map(Number),
    gpt2: a.gpt2!,
    gpt2Layers: Number(a['gpt2-layers']),
    scaling: !a['no-scaling'],
  }
  const r = await runNodeBench(o)
  const dir = a.out ?? path.join(publicRoot(), '..', 'bench/results')
  mkdirSync(dir, { recursive: true })
  const stamp = `${String(r.startedAt).replace(/[:.]/g, '-')}-node`
  writeFileSync(path.join(dir, `${stamp}.json`), JSON.stringify(r, null, 2) + '\n')
  const md = markdown(r)
  writeFileSync(path.join(dir, `${stamp}.md`), md)
  console.log('\n' + md)
  console.log(`wrote ${path.join(dir, stamp)}.json and .md`)
  process.exit(0) // Dawn keeps the event loop alive
}

if (process.argv[1] && /webgpuBench\.(ts|cjs|mjs|js)$/.test(process.argv[1])) {
  main().catch((e) => {
    console.error(e)
    process.exit(1)
  })
}
