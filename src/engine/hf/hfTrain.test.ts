// The Hugging Face forward passes are trainable: every weight gets the gradient of the loss
// (checked against a finite difference along the gradient, so a wrong or missing gradient of
// any op — rotary, GQA tiling, RMSNorm, erf GELU — shows), and a few LoRA steps lower the loss
// with flat tensor counts.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { Lora } from '../tuning/lora'
import { buildHfModel, type HfModel } from './hfModel'
import { parseSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
function load(name: string): HfModel {
  return buildHfModel(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'), parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))).tensors)
}

const IDS = [
  [5, 17, 3, 42, 8, 1, 29, 11],
  [60, 2, 2, 33, 14, 7, 50, 9],
]
const MASK = [
  [1, 1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 0, 0],
]

/** Next-token cross-entropy for decoders; for encoders, a fixed linear probe on mean-pooled
 *  features against fixed targets (a stand-in head, so the encoder's gradient is exercised). */
function lossOf(model: HfModel, opts: Parameters<HfModel['forward']>[1] = {}): tf.Scalar {
  const ids = tf.tensor2d(IDS, undefined, 'int32')
  if (model.hf.modelType === 'gpt2' || model.hf.modelType === 'llama') {
    const logits = model.logits(model.forward(ids.slice([0, 0], [2, 7]) as tf.Tensor2D, opts))
    const v = logits.shape[2]
    const targets = tf.oneHot(ids.slice([0, 1], [2, 7]).reshape([-1]) as tf.Tensor1D, v)
    return tf.losses.softmaxCrossEntropy(targets, logits.reshape([-1, v])) as tf.Scalar
  }
  const mask = tf.tensor2d(MASK, undefined, 'int32')
  const pooled = model.pool(model.forward(ids, { ...opts, attentionMask: mask }), 'mean', mask)
  const probe = tf.tensor2d(new Float32Array(pooled.shape[1] * 2).map((_, i) => Math.sin(i)), [pooled.shape[1], 2])
  return tf.losses.softmaxCrossEntropy(tf.tensor2d([[1, 0], [0, 1]]), tf.matMul(pooled, probe)) as tf.Scalar
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe.each(['gpt2', 'llama-untied'])('a frozen language-modelling head on %s', (name) => {
  it('gives the same logits and the same gradient for the hidden states, and none for the head', async () => {
    const model = load(name)
    const ids = tf.tensor2d(IDS, undefined, 'int32')
    const hidden = tf.variable(model.forward(ids))
    const head = model.has('lm_head.kernel') ? model.get('lm_head.kernel') : model.get('wte.weight')
    const f = (frozen: boolean) => () => tf.sum(tf.square(model.logits(hidden as unknown as tf.Tensor3D, { headFrozen: frozen }))) as tf.Scalar
    const normal = tf.variableGrads(f(false), [hidden, head])
    const frozen = tf.variableGrads(f(true), [hidden])
    expect(Math.abs((await frozen.value.data())[0]! - (await normal.value.data())[0]!)).toBeLessThan(1e-3)
    const a = await frozen.grads[hidden.name]!.data()
    const b = await normal.grads[hidden.name]!.data()
    let worst = 0
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)))
    expect(worst).toBeLessThan(1e-5)
    expect(Object.keys(frozen.grads)).toEqual([hidden.name])
    tf.dispose([ids, hidden, normal.value, frozen.value, ...Object.values(normal.grads), ...Object.values(frozen.grads)])
    model.dispose()
  })
})

describe.each(['gpt2', 'llama-gqa-tied', 'llama-untied', 'bert', 'distilbert'])('training through %s', (name) => {
  it('every weight gets a gradient, and the loss changes along it as the gradient says (finite difference)', async () => {
    const model = load(name)
    const vars = model.entries().map(([, v]) => v)
    const { grads } = tf.variableGrads(() => lossOf(model), vars)
    const names = model.entries().map(([n]) => n)
    for (const n of names) {
      const g = grads[model.get(n).name]!
      // a weight with an all-zero gradient is either unused or cut off from the loss
      expect(((await tf.abs(g).max().data())[0]), n).toBeGreaterThan(0)
    }
    const g2 = (await tf.addN(vars.map((v) => tf.sum(tf.square(grads[v.name]!)))).data())[0]!
    // loss(w ± ε·g): the central difference divided by 2ε should equal |g|²
    const eps = 2e-3 / Math.sqrt(g2)
    const saved = vars.map((v) => v.clone())
    const at = async (s: number) => {
      vars.forEach((v, i) => v.assign(tf.add(saved[i]!, tf.mul(grads[v.name]!, s * eps))))
      const l = lossOf(model)
      const x = (await l.data())[0]!
      l.dispose()
      return x
    }
    const slope = ((await at(1)) - (await at(-1))) / (2 * eps)
    expect(Math.abs(slope - g2) / g2).toBeLessThan(0.05)
    tf.dispose([...saved, ...Object.values(grads)])
    model.dispose()
  })

  it('frozen base projections: the same loss and LoRA gradients as the trainable ones', async () => {
    const model = load(name)
    const lora = new Lora(model, { rank: 2, alpha: 4, layers: model.linearLayers, seed: 4 })
    for (const p of lora.params) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 21))
    const vars = lora.params.map((p) => p.variable)
    const a = tf.variableGrads(() => lossOf(model, { hooks: lora.hooks }), vars)
    const b = tf.variableGrads(() => lossOf(model, { hooks: lora.hooks, frozenBase: true }), vars)
    expect(Math.abs((await a.value.data())[0]! - (await b.value.data())[0]!)).toBeLessThan(1e-5)
    for (const v of vars) {
      const ga = await a.grads[v.name]!.data()
      const gb = await b.grads[v.name]!.data()
      const scale = Math.max(1e-6, ...Array.from(ga, Math.abs))
      expect(Math.max(...Array.from(ga, (x, i) => Math.abs(x - gb[i]!))) / scale).toBeLessThan(1e-4)
    }
    tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)])
    lora.dispose()
    model.dispose()
  })

  it('a few LoRA steps with Adam lower the loss, with no tensors left behind', async () => {
    const model = load(name)
    const lora = new Lora(model, { rank: 4, alpha: 8, layers: model.linearLayers, seed: 3 })
    const opt = tf.train.adam(0.02)
    const vars = lora.params.map((p) => p.variable)
    const first = tf.tidy(() => lossOf(model, { hooks: lora.hooks }))
    const start = (await first.data())[0]!
    first.dispose()
    let before = -1
    for (let step = 0; step < 8; step++) {
      const cost = opt.minimize(() => lossOf(model, { hooks: lora.hooks, training: true, frozenBase: true }), true, vars)!
      cost.dispose()
      if (step === 1) before = tf.memory().numTensors // after Adam has made its moment variables
      if (step > 1) expect(tf.memory().numTensors).toBe(before)
    }
    const last = tf.tidy(() => lossOf(model, { hooks: lora.hooks }))
    const end = (await last.data())[0]!
    last.dispose()
    expect(end).toBeLessThan(start * 0.9)
    opt.dispose()
    lora.dispose()
    model.dispose()
  })
})
