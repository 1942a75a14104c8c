/**
 * Hugging Face bodies in Node (no browser, no GPU): forward tokens/s, a LoRA training step and a
 * full fine-tuning step, and the memory plan (src/engine/hf/memoryPlan.ts) against the peak
 * tensor bytes tf.profile measures during the step — for the GPT-2 124M and SmolLM2-135M shapes
 * with random weights, on the wasm backend (the studio's CPU choice) and, for the tiny fixture
 * shape, the cpu backend too.
 *
 *   npx tsx bench/node/hfBench.ts [--seq 32] [--batch 1] [--backends wasm,cpu] [--sizes tiny,gpt2-124m,smollm2-135m]
 *
 * Writes bench/results/<stamp>-hf.json and .md. A real GPU is measured by the WebGPU bench
 * (bench/node/webgpuBench.ts) where a session has one.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { expectedWeights, parseHfConfig, type HfConfig } from '../../src/engine/hf/config'
import { buildHfModel, type HfModel } from '../../src/engine/hf/hfModel'
import { memoryPlan, type PlanMethod } from '../../src/engine/hf/memoryPlan'
import type { LoadedTensor } from '../../src/engine/hf/safetensors'
import { Lora } from '../../src/engine/tuning/lora'

const { values: args } = parseArgs({ options: { seq: { type: 'string', default: '32' }, batch: { type: 'string', default: '1' }, backends: { type: 'string', default: 'wasm' }, sizes: { type: 'string', default: 'tiny,gpt2-124m,smollm2-135m' }, full: { type: 'boolean', default: false } } })
const SEQ = Number(args.seq)
const BATCH = Number(args.batch)

const SHAPES: Record<string, object> = {
  tiny: { model_type: 'gpt2', vocab_size: 96, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 4 },
  'gpt2-124m': { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 },
  'smollm2-135m': { model_type: 'llama', vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, max_position_embeddings: 8192 },
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

const ms = (t0: number) => performance.now() - t0

async function timeIt(f: () => Promise<void>, reps: number): Promise<number> {
  await f() // warm-up (kernel compilation, allocation)
  const t0 = performance.now()
  for (let i = 0; i < reps; i++) await f()
  return ms(t0) / reps
}

interface Row { size: string; backend: string; params: number; forwardTokensPerS: number; forwardMs: number; method: PlanMethod; stepMs: number; planMB: number; planActivationsMB: number; measuredPeakMB: number; weightsMB: number }

async function main() {
  const rows: Row[] = []
  for (const backend of args.backends!.split(',')) {
    await tf.setBackend(backend)
    await tf.ready()
    for (const size of args.sizes!.split(',')) {
      if (backend === 'cpu' && size !== 'tiny') continue // plain JS: too slow at real size to be worth the machine's time
      const cfg = parseHfConfig(SHAPES[size])
      const model = randomModel(cfg)
      const vocab = cfg.vocabSize
      const ids = tf.tensor2d(Array.from({ length: BATCH }, (_, b) => Array.from({ length: SEQ }, (_, t) => (b * 131 + t * 17) % vocab)), [BATCH, SEQ], 'int32')
      const reps = size === 'tiny' ? 20 : 2
      const fwd = await timeIt(async () => {
        const l = tf.tidy(() => model.logits(model.forward(ids)))
        await l.data()
        l.dispose()
      }, reps)
      const lm = (opts: Parameters<HfModel['forward']>[1], headFrozen: boolean) => {
        const x = ids.slice([0, 0], [BATCH, SEQ - 1]) as tf.Tensor2D
        const logits = model.logits(model.forward(x, opts), { headFrozen })
        const targets = tf.oneHot(ids.slice([0, 1], [BATCH, SEQ - 1]).reshape([-1]) as tf.Tensor1D, vocab)
        return tf.losses.softmaxCrossEntropy(targets, logits.reshape([-1, vocab])) as tf.Scalar
      }
      const methods: PlanMethod[] = args.full || size === 'tiny' ? ['lora', 'full'] : ['lora']
      for (const method of methods) {
        const lora = method === 'lora' ? new Lora(model, { rank: 8, alpha: 16, layers: model.linearLayers }) : null
        const vars = lora ? lora.params.map((p) => p.variable) : model.entries().map(([, v]) => v)
        const opt = tf.train.adam(1e-4)
        const step = async () => {
          const cost = opt.minimize(() => lm(lora ? { hooks: lora.hooks, training: true, frozenBase: true } : { training: true }, !!lora), true, vars)!
          await cost.data()
          cost.dispose()
        }
        const stepMs = await timeIt(step, reps)
        const before = tf.memory().numBytes
        const prof = await tf.profile(step)
        const plan = memoryPlan(cfg, { method, task: 'lm', batch: BATCH, seq: SEQ - 1, loraRank: 8 })
        rows.push({
          size,
          backend,
          params: plan.params,
          forwardTokensPerS: (BATCH * SEQ) / (fwd / 1000),
          forwardMs: fwd,
          method,
          stepMs,
          planMB: plan.totalBytes / 1e6,
          planActivationsMB: plan.activationBytes / 1e6,
          // everything alive at the step's peak: weights, Adam moments, gradients, activations
          measuredPeakMB: prof.peakBytes / 1e6,
          weightsMB: before / 1e6,
        })
        console.log(JSON.stringify(rows.at(-1)))
        opt.dispose()
        lora?.dispose()
      }
      ids.dispose()
      model.dispose()
    }
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'results')
  mkdirSync(dir, { recursive: true })
  const meta = { when: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, load: os.loadavg(), seq: SEQ, batch: BATCH, node: process.version }
  writeFileSync(path.join(dir, `${stamp}-hf.json`), JSON.stringify({ meta, rows }, null, 2))
  const md = [
    `# Hugging Face bodies in Node, ${meta.when}`,
    '',
    `${meta.cpus} × ${meta.cpu}, load average ${meta.load.map((x) => x.toFixed(1)).join(' / ')}; batch ${BATCH} × ${SEQ} tokens; random weights; Adam.`,
    '',
    '| shape | backend | params | forward tokens/s | method | step ms | plan MB (activations) | measured peak MB | tensors before step MB |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.size} | ${r.backend} | ${(r.params / 1e6).toFixed(2)} M | ${r.forwardTokensPerS.toFixed(1)} | ${r.method} | ${r.stepMs.toFixed(0)} | ${r.planMB.toFixed(1)} (${r.planActivationsMB.toFixed(1)}) | ${r.measuredPeakMB.toFixed(1)} | ${r.weightsMB.toFixed(1)} |`),
    '',
  ].join('\n')
  writeFileSync(path.join(dir, `${stamp}-hf.md`), md)
  console.log(md)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
