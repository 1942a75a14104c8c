/**
 * Hugging Face bodies in Node (no browser): forward tokens/s, a LoRA and a full fine-tuning step
 * (the studio's AdamW, src/engine/train/optimizers.ts; next-token loss from logSoftmax and a
 * one-hot product for the decoders, a mean-pooled 2-class head for BERT), the peak tensor bytes
 * tf.profile measures over one step, and the memory plan (src/engine/hf/memoryPlan.ts) beside it.
 * Tiny shapes of GPT-2, Llama (grouped-query attention) and BERT, and the GPT-2 124M shape with
 * random weights; on the wasm and cpu backends and, with --webgpu, WebGPU through Dawn
 * (bench/node/dawn.ts: lavapipe, the CPU, on a machine without a GPU).
 *
 *   npx tsx bench/node/hfBench.ts [--seq 32] [--batch 1] [--backends wasm,cpu] [--webgpu]
 *                                 [--sizes gpt2-tiny,llama-tiny,bert-tiny,gpt2-124m] [--skip-full-124m]
 *
 * The 124M shape runs on wasm only, one warm-up and one timed step per method (and one more
 * under tf.profile), each method in a child process of its own, so that running out of the
 * WebAssembly heap (an abort that ends the wasm module) is recorded and ends nothing else; its
 * full fine-tuning only when the plan fits WebAssembly's 4 GB heap.
 * Writes bench/results/<stamp>-hf.json and .md.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { expectedWeights, parseHfConfig, type HfConfig } from '../../src/engine/hf/config'
import { generate } from '../../src/engine/hf/generate'
import { buildHfModel, type HfModel } from '../../src/engine/hf/hfModel'
import { memoryPlan, type PlanMethod } from '../../src/engine/hf/memoryPlan'
import type { LoadedTensor } from '../../src/engine/hf/safetensors'
import { createOptimizer } from '../../src/engine/train/optimizers'
import { Lora } from '../../src/engine/tuning/lora'

const { values: args } = parseArgs({
  options: {
    seq: { type: 'string', default: '32' },
    batch: { type: 'string', default: '1' },
    backends: { type: 'string', default: 'wasm,cpu' },
    webgpu: { type: 'boolean', default: false },
    sizes: { type: 'string', default: 'gpt2-tiny,llama-tiny,bert-tiny,gpt2-124m' },
    'skip-full-124m': { type: 'boolean', default: false },
    /** internal: one "size:method" case in a child process (a WebAssembly abort ends only the child) */
    child: { type: 'string' },
  },
})
const SEQ = Number(args.seq)
const BATCH = Number(args.batch)
const WASM_HEAP = 4 * 1024 ** 3

const SHAPES: Record<string, object> = {
  'gpt2-tiny': { model_type: 'gpt2', vocab_size: 96, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4 },
  'llama-tiny': { model_type: 'llama', vocab_size: 96, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, max_position_embeddings: 64 },
  'bert-tiny': { model_type: 'bert', vocab_size: 96, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 64, type_vocab_size: 2 },
  'gpt2-124m': { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 },
}

function randomModel(cfg: HfConfig): HfModel {
  const tensors = new Map<string, LoadedTensor>()
  let s = 1
  for (const [name, shape] of expectedWeights(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1)
    const data = new Float32Array(n)
    const norm = /norm|ln_|LayerNorm/.test(name) && shape.length === 1 && name.endsWith('weight')
    for (let i = 0; i < n; i++) data[i] = norm ? 1 : 0.02 * Math.sin(s * 12.9898 + i * 78.233) // cheap deterministic noise
    s++
    tensors.set(name, { shape, data, storedAs: 'F32' })
  }
  return buildHfModel(cfg, tensors)
}

async function timeIt(f: () => Promise<void>, reps: number): Promise<number> {
  await f() // warm-up (kernel compilation, allocation, the optimizer's moments)
  const t0 = performance.now()
  for (let i = 0; i < reps; i++) await f()
  return (performance.now() - t0) / reps
}

interface GenRow {
  size: string
  backend: string
  promptTokens: number
  newTokens: number
  cache: boolean
  promptMs: number
  perTokenMs: number
}

interface Row {
  size: string
  backend: string
  params: number
  forwardTokensPerS: number
  method: PlanMethod
  stepMs: number | null
  residentMB: number | null
  measuredPeakMB: number | null
  planMB: number
  planPhase: string
  planOverMeasured: number | null
  note?: string
}

async function main() {
  const rows: Row[] = []
  const gens: GenRow[] = []
  let adapter = ''
  const [childSize, childMethod] = args.child?.split(':') ?? []
  const backends = args.child ? ['wasm'] : args.backends!.split(',').filter(Boolean)
  if (args.webgpu && !args.child) backends.push('webgpu')
  for (const backend of backends) {
    if (backend === 'webgpu') {
      try {
        const { startDawn } = await import('./dawn')
        adapter = (await startDawn()).description
      } catch (e) {
        console.error(`webgpu: ${(e as Error).message}`)
        continue
      }
    } else {
      await tf.setBackend(backend)
      await tf.ready()
    }
    for (const size of childSize ? [childSize] : args.sizes!.split(',')) {
      const big = size === 'gpt2-124m'
      if (big && backend !== 'wasm') continue // plain JS and lavapipe: too slow at real size for this machine's time
      const cfg = parseHfConfig(SHAPES[size])
      if (big && !args.child) {
        for (const method of ['lora', 'full'] as PlanMethod[]) {
          const plan = memoryPlan(cfg, { method, task: 'lm', batch: BATCH, seq: SEQ - 1, loraRank: 8 })
          const base = { size, backend, params: plan.params, forwardTokensPerS: NaN, method, planMB: plan.totalBytes / 1e6, planPhase: plan.peakPhase, stepMs: null, residentMB: null, measuredPeakMB: null, planOverMeasured: null }
          if (method === 'full' && (args['skip-full-124m'] || plan.totalBytes > WASM_HEAP)) {
            rows.push({ ...base, note: plan.totalBytes > WASM_HEAP ? `not run: the plan (${(plan.totalBytes / 1e9).toFixed(2)} GB) is over WebAssembly's 4 GB heap` : 'not run (--skip-full-124m)' })
            continue
          }
          const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--child', `${size}:${method}`, '--seq', String(SEQ), '--batch', String(BATCH)], { encoding: 'utf8', maxBuffer: 1 << 26 })
          const line = child.stdout.split('\n').find((l) => l.startsWith('ROW '))
          for (const g of child.stdout.split('\n').filter((l) => l.startsWith('GEN '))) gens.push(JSON.parse(g.slice(4)) as GenRow)
          if (line) rows.push(JSON.parse(line.slice(4)) as Row)
          else {
            const why = /Aborted\(|out of memory|RangeError: (?:WebAssembly|Array buffer)/i.test(child.stderr + child.stdout) ? 'aborted: out of WebAssembly memory' : `failed (exit ${child.status})`
            rows.push({ ...base, note: why })
            console.error(child.stderr.split('\n').filter((l) => !l.startsWith('    at ')).slice(-5).join('\n'))
          }
          console.log(JSON.stringify(rows.at(-1)))
        }
        continue
      }
      const encoder = cfg.modelType === 'bert'
      const model = randomModel(cfg)
      const vocab = cfg.vocabSize
      const ids = tf.tensor2d(Array.from({ length: BATCH }, (_, b) => Array.from({ length: SEQ }, (_, t) => (b * 131 + t * 17) % vocab)), [BATCH, SEQ], 'int32')
      const reps = big ? 1 : 10
      const fwd = await timeIt(async () => {
        const out = tf.tidy(() => (encoder ? model.pool(model.forward(ids), 'mean') : model.logits(model.forward(ids))))
        await out.data()
        out.dispose()
      }, reps)
      // generation (the playground): greedy after a prompt of SEQ tokens, with the key/value
      // cache (one position a token) and without it (the whole prefix again for every token)
      if (!encoder && (!args.child || childMethod === 'lora')) {
        const prompt = Array.from({ length: SEQ }, (_, t) => (t * 17) % vocab)
        for (const cache of [true, false]) {
          const n = big ? (cache ? 8 : 3) : 16
          await generate(model, prompt, { maxNewTokens: 2, useCache: cache }) // warm-up
          const g = await generate(model, prompt, { maxNewTokens: n, useCache: cache, eosTokenIds: [] })
          gens.push({ size, backend: backend === 'webgpu' ? `webgpu (${adapter})` : backend, promptTokens: SEQ, newTokens: g.ids.length, cache, promptMs: g.promptMs, perTokenMs: g.perTokenMs })
          console.log((args.child ? 'GEN ' : '') + JSON.stringify(gens.at(-1)))
        }
      }
      const head = tf.variable(tf.tensor2d(Float32Array.from({ length: cfg.modelType === 'bert' ? cfg.hiddenSize * 2 : 2 }, (_, i) => Math.cos(i) * 0.02), [encoder ? (cfg.modelType === 'bert' ? cfg.hiddenSize : 1) : 1, 2]))
      const labels = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 2), 'int32'), 2)
      const loss = (lora: Lora | null) => {
        const opts = lora ? { hooks: lora.hooks, training: true, frozenBase: true } : { training: true }
        if (encoder) return tf.losses.softmaxCrossEntropy(labels, tf.matMul(model.pool(model.forward(ids, opts), 'mean'), head)) as tf.Scalar
        const x = ids.slice([0, 0], [BATCH, SEQ - 1]) as tf.Tensor2D
        const logits = model.logits(model.forward(x, opts), { headFrozen: !!lora }).reshape([-1, vocab])
        const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(ids.slice([0, 1], [BATCH, SEQ - 1]).reshape([-1]) as tf.Tensor1D, vocab)), 1)
        return tf.neg(tf.mean(picked)) as tf.Scalar
      }
      for (const method of (childMethod ? [childMethod] : ['lora', 'full']) as PlanMethod[]) {
        const plan = memoryPlan(cfg, { method, task: encoder ? 'classify' : 'lm', labels: 2, batch: BATCH, seq: encoder ? SEQ : SEQ - 1, loraRank: 8 })
        const base = { size, backend: backend === 'webgpu' ? `webgpu (${adapter})` : backend, params: plan.params, forwardTokensPerS: (BATCH * SEQ) / (fwd / 1000), method, planMB: plan.totalBytes / 1e6, planPhase: plan.peakPhase }
        if (big && method === 'full' && (args['skip-full-124m'] || plan.totalBytes > WASM_HEAP)) {
          rows.push({ ...base, stepMs: null, residentMB: null, measuredPeakMB: null, planOverMeasured: null, note: plan.totalBytes > WASM_HEAP ? `not run: the plan (${(plan.totalBytes / 1e9).toFixed(2)} GB) is over WebAssembly's 4 GB heap` : 'not run (--skip-full-124m)' })
          console.log(JSON.stringify(rows.at(-1)))
          continue
        }
        const lora = method === 'lora' ? new Lora(model, { rank: 8, alpha: 16, layers: model.linearLayers }) : null
        const vars = lora ? lora.params.map((p) => p.variable) : [...model.entries().map(([, v]) => v), ...(encoder ? [head] : [])]
        if (lora && encoder) vars.push(head)
        const opt = createOptimizer('adamw', { weightDecay: 0.01, momentum: 0, decayMask: new Map(vars.map((v) => [v, true])) })
        const step = async () => {
          const { value, grads } = tf.tidy(() => {
            const r = tf.variableGrads(() => loss(lora), vars)
            return { value: r.value, grads: vars.map((v) => r.grads[v.name]!) }
          })
          opt.step(grads, vars, 1e-4)
          tf.dispose(grads)
          await value.data()
          value.dispose()
        }
        const stepMs = await timeIt(step, reps)
        const resident = tf.memory().numBytes
        const prof = await tf.profile(step)
        rows.push({ ...base, stepMs, residentMB: resident / 1e6, measuredPeakMB: prof.peakBytes / 1e6, planOverMeasured: plan.totalBytes / prof.peakBytes })
        console.log((args.child ? 'ROW ' : '') + JSON.stringify(rows.at(-1)))
        opt.dispose()
        lora?.dispose()
      }
      tf.dispose([ids, head, labels])
      model.dispose()
    }
  }
  if (args.child) return
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'results')
  mkdirSync(dir, { recursive: true })
  const meta = { when: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, load: os.loadavg(), seq: SEQ, batch: BATCH, node: process.version, gpu: 'none: no real GPU this session (the device tool lent no machine); webgpu rows, if any, are Dawn on lavapipe, the CPU' }
  writeFileSync(path.join(dir, `${stamp}-hf.json`), JSON.stringify({ meta, rows, generation: gens }, null, 2))
  const f = (x: number | null, d = 1) => (x == null || Number.isNaN(x) ? '—' : x.toFixed(d))
  const md = [
    `# Hugging Face bodies in Node, ${meta.when}`,
    '',
    `${meta.cpus} × ${meta.cpu}, load average ${meta.load.map((x) => x.toFixed(1)).join(' / ')} (the machine is shared); batch ${BATCH} × ${SEQ} tokens; random weights; the studio's AdamW; LoRA rank 8 on every projection. ${meta.gpu}.`,
    '',
    'Peak = tf.profile() peak tensor bytes over one step (resident weights and moments included); plan = memoryPlan() for the same method, batch and sequence.',
    '',
    '| shape | backend | params | forward tokens/s | method | step ms | resident MB | measured peak MB | plan MB (phase) | plan / measured |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.size} | ${r.backend} | ${r.params >= 1e6 ? (r.params / 1e6).toFixed(2) + ' M' : r.params.toLocaleString('en')} | ${f(r.forwardTokensPerS)} | ${r.method} | ${r.note ?? f(r.stepMs, 0)} | ${f(r.residentMB)} | ${f(r.measuredPeakMB)} | ${f(r.planMB)} (${r.planPhase}) | ${f(r.planOverMeasured, 2)} |`),
    '',
    'Generation (src/engine/hf/generate.ts, greedy): the prompt pass, then ms per new token with the key/value cache and without it (the whole prefix recomputed for every token).',
    '',
    '| shape | backend | prompt tokens | new tokens | key/value cache | prompt ms | ms per new token |',
    '|---|---|---|---|---|---|---|',
    ...gens.map((g) => `| ${g.size} | ${g.backend} | ${g.promptTokens} | ${g.newTokens} | ${g.cache ? 'yes' : 'no'} | ${f(g.promptMs, 0)} | ${f(g.perTokenMs, 1)} |`),
    '',
  ].join('\n')
  writeFileSync(path.join(dir, `${stamp}-hf.md`), md)
  console.log(md)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
