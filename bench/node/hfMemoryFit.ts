/**
 * The measurements behind src/engine/hf/memoryPlan.ts's coefficients: for each of 41 small
 * GPT-2 / Llama / BERT shapes (and two held out at GPT-2 124M's width and vocabulary), one LoRA or full fine-tuning step (the studio's AdamW; next-token
 * loss from logSoftmax and a one-hot product, or a mean-pooled 2-class head for BERT), the
 * tf.profile() peak tensor bytes over the step, and the plan beside it with their ratio.
 *
 *   npx tsx bench/node/hfMemoryFit.ts [--backend wasm|cpu] [--only 0,5,12] [--recompute]   (about 6 minutes on wasm)
 *
 * --recompute runs every shape with the blocks recomputed in the backward pass (the
 * `recompute` setting: bodies/hfBody.ts, hf/recompute.ts) and plans it so.
 *
 * Each shape is "type layers tokens+1 batch method vocabulary hidden mlp". Prints one JSON line
 * per shape and the worst |plan / measured − 1|; writes nothing.
 */
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { expectedWeights, parseHfConfig, type HfConfig } from '../../src/engine/hf/config'
import { buildHfModel, type HfModel } from '../../src/engine/hf/hfModel'
import { memoryPlan, type PlanMethod } from '../../src/engine/hf/memoryPlan'
import type { LoadedTensor } from '../../src/engine/hf/safetensors'
import { createOptimizer } from '../../src/engine/train/optimizers'
import { Lora } from '../../src/engine/tuning/lora'
import { HfBody } from '../../src/engine/bodies/hfBody'

const { values: args } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, only: { type: 'string' }, recompute: { type: 'boolean', default: false } } })

const GPT2_SHAPES = ['1 33 1 8192 256', '2 33 1 8192 256', '3 33 1 8192 256', '1 65 1 8192 256', '1 33 2 8192 256', '1 129 1 8192 256', '1 33 4 8192 256', '1 33 1 16384 256', '1 33 1 4096 256', '1 33 1 8192 128', '2 65 2 4096 128', '2 33 1 8192 512', '3 65 1 16384 128']
const SHAPES: string[] = [
  ...GPT2_SHAPES.flatMap((s) => {
    const [l, t, b, v, d] = s.split(' ')
    return ['lora', 'full'].map((m) => `gpt2 ${l} ${t} ${b} ${m} ${v} ${d} ${4 * Number(d)}`)
  }),
  'gpt2 1 33 1 lora 8192 256 512',
  'gpt2 1 33 1 lora 8192 256 2048',
  'gpt2 2 33 1 lora 8192 256 512',
  'llama 1 33 1 lora 8192 256 512',
  'llama 1 33 1 lora 8192 256 1024',
  'llama 2 33 1 lora 8192 256 512',
  'llama 1 65 1 lora 8192 256 512',
  'llama 1 33 1 lora 16384 256 512',
  'llama 1 33 1 full 8192 256 512',
  'llama 1 129 2 full 4096 128 256',
  'bert 1 32 1 lora 8192 256 512',
  'bert 1 32 1 lora 8192 256 1024',
  'bert 2 32 1 lora 8192 256 512',
  'bert 1 64 1 lora 8192 256 512',
  'bert 1 32 2 lora 8192 256 512',
  // held out of the fit: GPT-2 124M's width and vocabulary with 2 and 6 of its 12 blocks
  'gpt2 2 32 1 full 50257 768 3072',
  'gpt2 6 32 1 full 50257 768 3072',
]

function config(type: string, layers: number, vocab: number, d: number, ff: number): HfConfig {
  if (type === 'gpt2') return parseHfConfig({ model_type: 'gpt2', vocab_size: vocab, n_positions: 1024, n_embd: d, n_layer: layers, n_head: d / 64, n_inner: ff })
  if (type === 'llama') return parseHfConfig({ model_type: 'llama', vocab_size: vocab, hidden_size: d, intermediate_size: ff, num_hidden_layers: layers, num_attention_heads: d / 64, num_key_value_heads: d / 128, tie_word_embeddings: true, max_position_embeddings: 2048 })
  return parseHfConfig({ model_type: 'bert', vocab_size: vocab, hidden_size: d, intermediate_size: ff, num_hidden_layers: layers, num_attention_heads: d / 64, max_position_embeddings: 512, type_vocab_size: 2 })
}

function randomModel(cfg: HfConfig): HfModel {
  const tensors = new Map<string, LoadedTensor>()
  for (const [name, shape] of expectedWeights(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1)
    const data = new Float32Array(n)
    for (let i = 0; i < n; i++) data[i] = 0.02 * Math.sin(i * 78.233)
    tensors.set(name, { shape, data, storedAs: 'F32' })
  }
  return buildHfModel(cfg, tensors)
}

async function measure(spec: string) {
  const [type, l, t, b, method, v, d, ff] = spec.split(' ') as [string, string, string, string, PlanMethod, string, string, string]
  const cfg = config(type, Number(l), Number(v), Number(d), Number(ff))
  const model = randomModel(cfg)
  const [T, B, V, D] = [Number(t), Number(b), Number(v), Number(d)]
  const encoder = type === 'bert'
  const ids = tf.tensor2d(Array.from({ length: B }, (_, r) => Array.from({ length: T }, (_, i) => (r * 131 + i * 17) % V)), [B, T], 'int32')
  const lora = method === 'lora' ? new Lora(model, { rank: 8, alpha: 16, layers: model.linearLayers }) : null
  const head = tf.variable(tf.randomNormal([D, 2], 0, 0.02, 'float32', 1), true)
  const vars = lora ? lora.params.map((p) => p.variable) : model.entries().map(([, x]) => x)
  if (encoder && !lora) vars.push(head)
  const opt = createOptimizer('adamw', { weightDecay: 0.01, momentum: 0, decayMask: new Map(vars.map((x) => [x, true])) })
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: B }, (_, i) => i % 2), 'int32'), 2)
  const opts = lora ? { hooks: lora.hooks, training: true, frozenBase: true } : { training: true }
  const recompute = args.recompute!
  const body = new HfBody(model)
  body.frozenBase = !!lora
  body.recompute = true
  const names = new Map<tf.Variable, string>([...model.entries().map(([n, x]) => [x, n] as const), ...(lora?.params ?? []).map((p) => [p.variable, p.name] as const)])
  const trainable = new Map(vars.filter((x) => names.has(x)).map((x) => [x, names.get(x)!] as const))
  const forward = (x: tf.Tensor2D) => (recompute ? body.forward(x, { training: true, trainable, ...(lora ? { hooks: lora.hooks } : {}) }) : model.forward(x, opts))
  const loss = () => {
    if (encoder) return tf.losses.softmaxCrossEntropy(labels, tf.matMul(model.pool(forward(ids), 'mean'), head)) as tf.Scalar
    const logits = model.logits(forward(ids.slice([0, 0], [B, T - 1]) as tf.Tensor2D), { headFrozen: !!lora }).reshape([-1, V])
    return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(ids.slice([0, 1], [B, T - 1]).reshape([-1]) as tf.Tensor1D, V)), 1))) as tf.Scalar
  }
  const step = async () => {
    const { value, grads } = tf.tidy(() => {
      const r = tf.variableGrads(loss, vars)
      return { value: r.value, grads: vars.map((x) => r.grads[x.name]!) }
    })
    opt.step(grads, vars, 1e-4)
    tf.dispose(grads)
    await value.data()
    value.dispose()
  }
  await step() // the moments exist from here on
  const prof = await tf.profile(step)
  const plan = memoryPlan(cfg, { method, task: encoder ? 'classify' : 'lm', labels: 2, batch: B, seq: encoder ? T : T - 1, loraRank: 8, recompute })
  tf.dispose([ids, head, labels])
  opt.dispose()
  lora?.dispose()
  model.dispose()
  return { spec, measuredMB: prof.peakBytes / 1e6, planMB: plan.totalBytes / 1e6, phase: plan.peakPhase, ratio: plan.totalBytes / prof.peakBytes }
}

async function main() {
  await tf.setBackend(args.backend!)
  await tf.ready()
  const pick = args.only ? args.only.split(',').map(Number) : SHAPES.map((_, i) => i)
  let worst = 0
  for (const i of pick) {
    const r = await measure(SHAPES[i]!)
    worst = Math.max(worst, Math.abs(r.ratio - 1))
    console.log(JSON.stringify(r))
  }
  console.log(`worst |plan / measured − 1| over ${pick.length} shapes on ${args.backend}: ${(worst * 100).toFixed(1)} %`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
