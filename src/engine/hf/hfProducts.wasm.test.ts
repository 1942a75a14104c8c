// The Hugging Face bodies' products on wasm (hfModel.ts: product, timesTransposed): attention's
// batched products take the sliced XNNPACK kernel (models/slicedMatMul.ts), and no product of
// the body or the head asks tfjs-wasm's BatchMatMul for a batch or a transposed operand (its
// scalar loop), GPT-2's gelu_new takes no Tanh or Pow there; a LoRA step's loss and gradients
// equal the cpu backend's, tensors flat.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { oldKernels } from '../benchSwitches'
import { SLICED_MATMUL } from '../models/slicedMatMul'
import { Lora } from '../tuning/lora'
import { HfBody } from '../bodies/hfBody'
import { buildHfModel } from './hfModel'
import { parseSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
const RANK = 3 // no fixture dimension is 3, so LoRA's own products are told apart by it
const B = 2
const T = 7

/** Every call of the wasm backend's own BatchMatMul: operand shapes and transposes. */
const calls: { a: number[]; b: number[]; transposed: boolean }[] = []
let real: tf.KernelConfig
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  real = tf.getKernel('BatchMatMul', 'wasm')!
  tf.unregisterKernel('BatchMatMul', 'wasm')
  tf.registerKernel({
    ...real,
    setupFunc: undefined,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }
      calls.push({ a: a.shape, b: b.shape, transposed: !!args.attrs?.transposeA || !!args.attrs?.transposeB })
      return real.kernelFunc(args)
    },
  })
})
afterAll(() => {
  tf.unregisterKernel('BatchMatMul', 'wasm')
  tf.registerKernel({ ...real, setupFunc: undefined })
})

async function loraStep(name: string) {
  const model = buildHfModel(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'), parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))).tensors)
  const lora = new Lora(model, { rank: RANK, alpha: 6, layers: model.linearLayers, seed: 9 })
  for (const p of lora.params) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 13))
  const vocab = model.hf.vocabSize
  const ids = tf.tensor2d(Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => (b * 31 + t * 7 + 1) % vocab)), [B, T], 'int32')
  const vars = lora.params.map((p) => p.variable)
  const encoder = model.hf.modelType === 'bert' || model.hf.modelType === 'distilbert'
  const opts = { hooks: lora.hooks, training: true, frozenBase: true }
  const step = () =>
    tf.tidy(() => {
      const r = tf.variableGrads(() => {
        const h = model.forward(ids, opts)
        if (encoder) return tf.mean(tf.square(model.pool(h, 'mean'))) as tf.Scalar
        const logits = model.logits(h, { headFrozen: true }).reshape([B * T, vocab])
        return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(ids.reshape([B * T]) as tf.Tensor1D, vocab)), 1))) as tf.Scalar
      }, vars)
      return [r.value, ...vars.map((v) => r.grads[v.name]!)]
    })
  const before = tf.memory().numTensors
  calls.length = 0
  const profile = await tf.profile(() => tf.dispose(step()))
  const sliced = profile.kernels.filter((k) => k.name === SLICED_MATMUL).length
  const scalarLoops = profile.kernels.filter((k) => k.name === 'Tanh' || k.name === 'Pow').length // GPT-2's gelu_new
  const seen = [...calls]
  const [value, ...grads] = step() as [tf.Scalar, ...tf.Tensor[]]
  const out = { loss: (await value.data())[0]!, grads: await Promise.all(grads.map(async (g) => Float32Array.from(await g.data()))), sliced, scalarLoops, calls: seen, layers: model.config.nLayers }
  tf.dispose([value, ...grads])
  const leftover = tf.memory().numTensors - before
  tf.dispose(ids)
  lora.dispose()
  model.dispose()
  return { ...out, leftover }
}

const lorasOwn = (c: { a: number[]; b: number[] }) => [...c.a, ...c.b].includes(RANK)

describe.each(['gpt2', 'llama-gqa-tied', 'llama-untied', 'bert', 'distilbert'])('%s: products on wasm', (name) => {
  it('attention takes the sliced kernel, no body or head product hits the scalar loop, and a LoRA step equals the cpu backend’s', async () => {
    await tf.setBackend('cpu')
    const cpu = await loraStep(name)
    expect(await tf.setBackend('wasm')).toBe(true)
    const wasm = await loraStep(name)
    // 2 products a layer forward (scores, weighted values), 2 for each one's gradient
    expect(wasm.sliced).toBe(6 * wasm.layers)
    const slow = wasm.calls.filter((c) => (c.transposed || c.a.length > 2) && !lorasOwn(c))
    expect(slow).toEqual([])
    // LoRA's own products too (tuning/lora.ts through matMulFast): none transposed, and they ran
    expect(wasm.calls.filter((c) => c.transposed || c.a.length > 2)).toEqual([])
    expect(wasm.calls.filter(lorasOwn).length).toBeGreaterThan(0)
    expect(wasm.calls.filter((c) => !lorasOwn(c)).length).toBeGreaterThan(0)
    expect(wasm.leftover).toBe(0)
    if (name === 'gpt2') expect(wasm.scalarLoops, 'gelu_new as x·σ(2u) on wasm, no Tanh or Pow').toBe(0) // (Llama's rotary tables take a Pow of [hd/2])
    expect(wasm.loss).toBeGreaterThan(0)
    expect(Math.abs(wasm.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-5)
    expect(wasm.grads.length).toBe(cpu.grads.length)
    cpu.grads.forEach((g, k) => {
      const w = wasm.grads[k]!
      const scale = Math.max(...Array.from(g, Math.abs))
      expect(scale, `gradient ${k}`).toBeGreaterThan(0)
      expect(Math.max(...Array.from(g, (v, i) => Math.abs(v - w[i]!))) / scale, `gradient ${k}`).toBeLessThan(1e-4)
    })
    // the old products (tf.matMul with its flags) are what this test would catch
    oldKernels.hfProducts = true
    oldKernels.tanhGelu = true
    oldKernels.loraProducts = true
    try {
      const old = await loraStep(name)
      expect(old.sliced).toBe(0)
      expect(old.calls.filter((c) => c.transposed && lorasOwn(c)).length, 'LoRA’s own transposed products').toBeGreaterThan(0)
      if (name === 'gpt2') expect(old.scalarLoops).toBeGreaterThan(0)
      expect(old.calls.filter((c) => (c.transposed || c.a.length > 2) && !lorasOwn(c)).length).toBeGreaterThan(0)
      expect(Math.abs(old.loss - wasm.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-5)
    } finally {
      oldKernels.hfProducts = false
      oldKernels.tanhGelu = false
      oldKernels.loraProducts = false
    }
    await tf.setBackend('cpu')
  })
})

describe('recomputed blocks on wasm (recompute.ts: a nested gradient inside tf.customGrad)', () => {
  it('GPT-2 with LoRA: the same loss and LoRA gradients with and without recomputation, tensors flat', async () => {
    expect(await tf.setBackend('wasm')).toBe(true)
    const model = buildHfModel(readFileSync(path.join(DIR, 'gpt2', 'config.json'), 'utf8'), parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, 'gpt2', 'model.safetensors')))).tensors)
    const body = new HfBody(model)
    const lora = new Lora(model, { rank: RANK, alpha: 6, layers: model.linearLayers, seed: 9 })
    for (const p of lora.params) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 13))
    const ids = tf.tensor2d([[5, 17, 3, 42, 8, 1, 29, 11], [60, 2, 2, 33, 14, 7, 50, 9]], undefined, 'int32')
    const vars = lora.params.map((p) => p.variable)
    const trainable = new Map(lora.params.map((p) => [p.variable, p.name] as const))
    const before = tf.memory().numTensors
    const run = async (recompute: boolean) => {
      body.recompute = recompute
      calls.length = 0
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(body.forward(ids, { training: true, trainable, hooks: lora.hooks }))) as tf.Scalar, vars)
      const out = { loss: (await value.data())[0]!, grads: await Promise.all(vars.map(async (v) => Float32Array.from(await grads[v.name]!.data()))), slow: calls.filter((c) => (c.transposed || c.a.length > 2) && !lorasOwn(c)).length, products: calls.length }
      tf.dispose([value, ...Object.values(grads)])
      return out
    }
    const plain = await run(false)
    const again = await run(true)
    expect(plain.slow).toBe(0)
    expect(again.slow).toBe(0)
    expect(again.products, 'the blocks ran again in the backward pass').toBeGreaterThan(plain.products)
    expect(Math.abs(again.loss - plain.loss) / plain.loss).toBeLessThan(1e-6)
    plain.grads.forEach((g, k) => {
      const scale = Math.max(...Array.from(g, Math.abs))
      expect(scale).toBeGreaterThan(0)
      expect(Math.max(...Array.from(g, (v, i) => Math.abs(v - again.grads[k]![i]!))) / scale).toBeLessThan(1e-5)
    })
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose(ids)
    lora.dispose()
    body.dispose()
    await tf.setBackend('cpu')
  })
})
