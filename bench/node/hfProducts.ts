/**
 * A LoRA step of the Hugging Face bodies on wasm with the products of hf/hfModel.ts as they
 * were (tf.matMul with its transpose flags: tfjs-wasm's scalar loop for attention's batches and
 * every transposed operand; oldKernels.hfProducts) against explicit transposes and matMulFast
 * (one XNNPACK product per slice), and GPT-2's gelu_new with tfjs-wasm's Pow and Tanh
 * (oldKernels.tanhGelu) against x·σ(2u). Old and new alternate inside one run, on the same model and
 * the same tokens; the median of the rounds, the load average before and after, the losses
 * of both (they must agree). Tiny GPT-2, Llama (grouped-query) and BERT shapes and the GPT-2
 * 124M shape, random weights, LoRA rank 8 on every projection, frozen base and head, the
 * studio's AdamW (as bench/node/hfBench.ts).
 *
 *   npx tsx bench/node/hfProducts.ts [--seq 32] [--batch 1] [--rounds 3] [--tiny-rounds 21] [--sizes gpt2-tiny,llama-tiny,bert-tiny,gpt2-124m] [--lora]
 *
 * --lora: old and new differ only in LoRA's own products (tf.matMul against matMulFast on wasm).
 *
 * Writes bench/results/<stamp>-hf-products.json and .md.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { expectedWeights, parseHfConfig } from '../../src/engine/hf/config'
import { buildHfModel } from '../../src/engine/hf/hfModel'
import type { LoadedTensor } from '../../src/engine/hf/safetensors'
import { oldKernels } from '../../src/engine/benchSwitches'
import { createOptimizer } from '../../src/engine/train/optimizers'
import { Lora } from '../../src/engine/tuning/lora'

const { values: args } = parseArgs({
  options: {
    seq: { type: 'string', default: '32' },
    batch: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    /** rounds for the tiny shapes (a few ms a step: noisier) */
    'tiny-rounds': { type: 'string', default: '21' },
    sizes: { type: 'string', default: 'gpt2-tiny,llama-tiny,bert-tiny,gpt2-124m' },
    /** old and new differ only in LoRA's own products (oldKernels.loraProducts) */
    lora: { type: 'boolean', default: false },
  },
})
const SEQ = Number(args.seq)
const BATCH = Number(args.batch)
const ROUNDS = Number(args.rounds)

const SHAPES: Record<string, object> = {
  'gpt2-tiny': { model_type: 'gpt2', vocab_size: 96, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4 },
  'llama-tiny': { model_type: 'llama', vocab_size: 96, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, max_position_embeddings: 64 },
  'bert-tiny': { model_type: 'bert', vocab_size: 96, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 64, type_vocab_size: 2 },
  'gpt2-124m': { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 },
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
/** old: the products and gelu_new as before (hfProducts, tanhGelu), and LoRA's own products as
 *  tf.matMul (loraProducts); with --lora only LoRA's own products differ between old and new. */
const setOld = (old: boolean) => {
  oldKernels.loraProducts = old
  if (!args.lora) oldKernels.hfProducts = oldKernels.tanhGelu = old
}

async function main() {
  await tf.setBackend('wasm')
  await tf.ready()
  const loadBefore = os.loadavg()
  const rows: { size: string; oldMs: number; newMs: number; speedup: number; oldSteps: number[]; newSteps: number[]; oldLoss: number; newLoss: number }[] = []
  for (const size of args.sizes!.split(',')) {
    const cfg = parseHfConfig(SHAPES[size])
    const tensors = new Map<string, LoadedTensor>()
    let s = 1
    for (const [name, shape] of expectedWeights(cfg)) {
      const n = shape.reduce((a, b) => a * b, 1)
      const data = new Float32Array(n)
      const norm = /norm|ln_|LayerNorm/.test(name) && shape.length === 1 && name.endsWith('weight')
      for (let i = 0; i < n; i++) data[i] = norm ? 1 : 0.02 * Math.sin(s * 12.9898 + i * 78.233)
      s++
      tensors.set(name, { shape, data, storedAs: 'F32' })
    }
    const model = buildHfModel(cfg, tensors)
    tensors.clear()
    const encoder = cfg.modelType === 'bert'
    const vocab = cfg.vocabSize
    const ids = tf.tensor2d(Array.from({ length: BATCH }, (_, b) => Array.from({ length: SEQ }, (_, t) => (b * 131 + t * 17) % vocab)), [BATCH, SEQ], 'int32')
    const lora = new Lora(model, { rank: 8, alpha: 16, layers: model.linearLayers })
    const width = cfg.modelType === 'bert' ? cfg.hiddenSize : 1 // the classifier head, for BERT only
    const head = tf.variable(tf.tensor2d(Float32Array.from({ length: width * 2 }, (_, i) => Math.cos(i) * 0.02), [width, 2]))
    const labels = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 2), 'int32'), 2)
    const vars = [...lora.params.map((p) => p.variable), ...(encoder ? [head] : [])]
    const opt = createOptimizer('adamw', { weightDecay: 0.01, momentum: 0, decayMask: new Map(vars.map((v) => [v, true])) })
    const opts = { hooks: lora.hooks, training: true, frozenBase: true }
    const loss = () => {
      if (encoder) return tf.losses.softmaxCrossEntropy(labels, tf.matMul(model.pool(model.forward(ids, opts), 'mean'), head)) as tf.Scalar
      const x = ids.slice([0, 0], [BATCH, SEQ - 1]) as tf.Tensor2D
      const logits = model.logits(model.forward(x, opts), { headFrozen: true }).reshape([-1, vocab])
      const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(ids.slice([0, 1], [BATCH, SEQ - 1]).reshape([-1]) as tf.Tensor1D, vocab)), 1)
      return tf.neg(tf.mean(picked)) as tf.Scalar
    }
    // the loss and gradients alone (no update), so old and new see the same weights every round
    const lossOnly = async (old: boolean) => {
      setOld(old)
      const t0 = performance.now()
      const { value, grads } = tf.tidy(() => {
        const r = tf.variableGrads(loss, vars)
        return { value: r.value, grads: vars.map((v) => r.grads[v.name]!) }
      })
      await Promise.all(grads.map((g) => g.data()))
      const l = (await value.data())[0]!
      const ms = performance.now() - t0
      tf.dispose([value, ...grads])
      setOld(false)
      return { ms, l }
    }
    // a whole step (gradients and the AdamW update), as hfBench times it
    const step = async (old: boolean) => {
      setOld(old)
      const t0 = performance.now()
      const { value, grads } = tf.tidy(() => {
        const r = tf.variableGrads(loss, vars)
        return { value: r.value, grads: vars.map((v) => r.grads[v.name]!) }
      })
      opt.step(grads, vars, 1e-4)
      tf.dispose(grads)
      await value.data()
      value.dispose()
      const ms = performance.now() - t0
      setOld(false)
      return ms
    }
    const o = await lossOnly(true), n = await lossOnly(false) // warm-up, and the same loss both ways
    await step(false)
    const olds: number[] = [], news: number[] = []
    const rounds = size === 'gpt2-124m' ? ROUNDS : Number(args['tiny-rounds'])
    for (let r = 0; r < rounds; r++) {
      if (r % 2) { news.push(await step(false)); olds.push(await step(true)) } else { olds.push(await step(true)); news.push(await step(false)) }
      if (size === 'gpt2-124m') console.error(size, 'round', r, 'old', olds.at(-1)!.toFixed(0), 'new', news.at(-1)!.toFixed(0), 'load', os.loadavg()[0]!.toFixed(1))
    }
    const row = { size, oldMs: median(olds), newMs: median(news), speedup: median(olds) / median(news), oldSteps: olds, newSteps: news, oldLoss: o.l, newLoss: n.l }
    rows.push(row)
    console.log(JSON.stringify(row))
    opt.dispose()
    lora.dispose()
    tf.dispose([ids, head, labels])
    model.dispose()
  }
  const loadAfter = os.loadavg()
  const meta = { when: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadBefore, loadAfter, seq: SEQ, batch: BATCH, rounds: ROUNDS, node: process.version }
  const stamp = meta.when.replace(/[:.]/g, '-')
  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, `${stamp}-hf-products${args.lora ? '-lora' : ''}.json`), JSON.stringify({ meta, rows }, null, 2))
  const md = [
    args.lora
      ? `# Hugging Face LoRA step on wasm: LoRA's own products as tf.matMul (old: its gradient's transposed products run tfjs-wasm's scalar loop) vs matMulFast (new), everything else as now, ${meta.when}`
      : `# Hugging Face LoRA step on wasm: products as tf.matMul with flags and gelu_new with Pow/Tanh (old) vs explicit transposes + matMulFast and x·σ(2u) (new), ${meta.when}`,
    '',
    `${meta.cpus} × ${meta.cpu}, load average ${loadBefore.map((v) => v.toFixed(1)).join(' / ')} before, ${loadAfter.map((v) => v.toFixed(1)).join(' / ')} after (shared machine); batch ${BATCH} × ${SEQ} tokens; random weights; LoRA rank 8 on every projection, frozen base and head; the studio's AdamW; old and new alternating, median of ${ROUNDS} rounds for the 124M shape, ${args['tiny-rounds']} for the tiny ones.`,
    '',
    '| shape | old step ms | new step ms | old/new | each old | each new | loss old / new |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.size} | ${r.oldMs.toFixed(1)} | ${r.newMs.toFixed(1)} | ${r.speedup.toFixed(2)}× | ${r.oldSteps.map((v) => v.toFixed(0)).join(', ')} | ${r.newSteps.map((v) => v.toFixed(0)).join(', ')} | ${r.oldLoss.toFixed(6)} / ${r.newLoss.toFixed(6)} |`),
    '',
  ].join('\n')
  writeFileSync(path.join(dir, `${stamp}-hf-products${args.lora ? '-lora' : ''}.md`), md)
  console.log(md)
}
main().catch((e) => { console.error(e); process.exit(1) })
