/**
 * Weight decay on the real built-in models: each model declares which weights decay
 * (kernels of dense, attention and conv layers) and which do not (embedding tables, biases,
 * norm gains and shifts), and AdamW follows that declaration. tfjs names the built-in
 * models' variables with bare numbers, so a rule on variable names (the old /embedding/i)
 * decayed TinyGpt's token table: a row no batch uses shrank by (1 − lr·wd) every step.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import type { Body } from '../models/body'
import { checkCnnModelJson, tinyCnnFromParts } from '../models/cnnFile'
import { LayersBody } from '../models/layersBody'
import { loadTinyGpt, type LoadedTinyGpt } from '../models/modelFile'
import { TabularMlp } from '../models/tabularMlp'
import { fineTune, Tuning, type Encoded } from './fineTune'
import { decayFlags } from './loopState'
import { createOptimizer } from './optimizers'
import { RunControl } from './runControl'

const root = resolve(__dirname, '../../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))
let gpt: LoadedTinyGpt

beforeAll(async () => {
  await tf.setBackend('wasm') // several times faster than cpu in Node for the real-model run
  gpt = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
}, 60_000)

const LR = 0.1
const WD = 0.5

/** One AdamW step with zero gradients and the mask the loop builds: a decaying weight
 *  becomes exactly w·(1 − lr·wd) (the Adam part is 0/ε = 0), any other stays bit-identical. */
async function zeroGradStep(model: Body, tuning: Tuning): Promise<{ decayed: string[]; kept: string[] }> {
  const parts = tuning.parts
  const named = [...model.params.map((p) => ({ name: p.name, variable: p.variable })), ...[parts.head, ...parts.tuning].flatMap((o) => (o?.params ?? []).map((p) => ({ name: `tuning/${p.name}`, variable: p.variable })))]
  const before = await Promise.all(named.map(async (p) => (await p.variable.data()).slice() as Float32Array))
  const opt = createOptimizer('adamw', { weightDecay: WD, momentum: 0, decayMask: decayFlags(model, parts) })
  const grads = named.map((p) => tf.zerosLike(p.variable))
  opt.step(grads, named.map((p) => p.variable), LR)
  const decayed: string[] = []
  const kept: string[] = []
  for (const [i, p] of named.entries()) {
    const now = (await p.variable.data()) as Float32Array
    const was = before[i]!
    const same = now.every((x, k) => x === was[k])
    const scaled = now.every((x, k) => Math.abs(x - was[k]! * (1 - LR * WD)) <= 1e-6 * Math.abs(was[k]!) + 1e-12)
    if (same) kept.push(p.name)
    else if (scaled) decayed.push(p.name)
    else throw new Error(`${p.name} changed by something other than decay`)
    p.variable.assign(tf.tensor(was, p.variable.shape))
  }
  tf.dispose(grads)
  opt.dispose()
  return { decayed: decayed.sort(), kept: kept.sort() }
}

describe('weight decay follows what each model declares', () => {
  it('the built-in text transformer (public/models/tiny-lm): kernels decay; embeddings, biases and norms do not', async () => {
    const model = gpt.model
    const n = model.config.nLayers
    const tuning = new Tuning(model, { ...DEFAULTS, method: 'full' }, 2)
    const { decayed, kept } = await zeroGradStep(model, tuning)
    const kernels = Array.from({ length: n }, (_, i) => ['attn.proj', 'attn.qkv', 'mlp.fc', 'mlp.out'].map((l) => `h${i}.${l}.kernel`)).flat()
    expect(decayed).toEqual([...kernels, 'tuning/head.task.kernel'].sort())
    expect(kept).toContain('wte.embeddings')
    expect(kept).toContain('wpe.embeddings')
    expect(kept).toContain('lnf.gamma')
    expect(kept).toContain('h0.attn.qkv.bias')
    expect(kept).toContain('tuning/head.task.bias')
    tuning.dispose()
  })

  it('LoRA factors and adapter kernels decay, their biases do not', async () => {
    const model = gpt.model
    // B and the adapters' up-projections start at zero, where decay shows nothing: start every tuning weight at 1.
    const ones = (t: Tuning) => t.parts.tuning.forEach((o) => o.params.forEach((p) => p.variable.assign(tf.onesLike(p.variable))))
    const lora = new Tuning(model, { ...DEFAULTS, method: 'lora', loraRank: 2, loraTargets: 'qkv' }, 2)
    ones(lora)
    const l = await zeroGradStep(model, lora)
    expect(l.decayed.filter((d) => d.includes('lora'))).toHaveLength(2 * model.config.nLayers) // A and B of each block's qkv
    lora.dispose()
    const adapters = new Tuning(model, { ...DEFAULTS, method: 'adapter', adapterSize: 4 }, 2)
    ones(adapters)
    const a = await zeroGradStep(model, adapters)
    expect(a.decayed.filter((d) => /\.(down|up)\.kernel$/.test(d))).toHaveLength(2 * model.config.nLayers)
    expect(a.decayed.filter((d) => d.startsWith('tuning/') && !/\.(down|up)\.kernel$/.test(d))).toEqual(['tuning/head.task.kernel'])
    expect(a.kept.filter((d) => /\.(down|up)\.bias$/.test(d))).toHaveLength(2 * model.config.nLayers)
    adapters.dispose()
  })

  it('the built-in emoji CNN (public/models/emoji-cnn): conv kernels decay, norm gains and shifts do not', async () => {
    const dir = resolve(root, 'public/models/emoji-cnn')
    const json = checkCnnModelJson(JSON.parse(readFileSync(resolve(dir, 'model.json'), 'utf8')), 'model.json')
    const model = tinyCnnFromParts(json, new Uint8Array(readFileSync(resolve(dir, 'weights.bin'))))
    const tuning = new Tuning(model, { ...DEFAULTS, method: 'full' }, 3)
    const { decayed, kept } = await zeroGradStep(model, tuning)
    expect(decayed.length).toBeGreaterThan(3)
    expect(decayed.every((d) => d.endsWith('.kernel'))).toBe(true)
    expect(kept.length).toBeGreaterThan(3)
    expect(kept.every((k) => /\.(gamma|beta|bias)$/.test(k))).toBe(true)
    expect(kept).toContain('stem.norm.gamma')
    tuning.dispose()
    model.dispose()
  })

  it('the tabular MLP and a loaded layers model with an Embedding layer', async () => {
    const mlp = new TabularMlp({ inputDim: 5, hidden: 8, nLayers: 2 }, 3)
    const t1 = new Tuning(mlp, { ...DEFAULTS, method: 'full' }, 2)
    expect(await zeroGradStep(mlp, t1)).toEqual({
      decayed: ['h0.kernel', 'h1.kernel', 'stem.kernel', 'tuning/head.task.kernel'],
      kept: ['h0.bias', 'h1.bias', 'stem.bias', 'tuning/head.task.bias'],
    })
    t1.dispose()
    mlp.dispose()

    const m = tf.sequential({ name: 'emb_text' })
    m.add(tf.layers.embedding({ inputDim: 30, outputDim: 8, inputLength: 6, name: 'tok' }))
    m.add(tf.layers.layerNormalization({ name: 'norm' }))
    m.add(tf.layers.dense({ units: 8, activation: 'relu', name: 'mix' }))
    m.add(tf.layers.globalAveragePooling1d({ name: 'pool' }))
    m.add(tf.layers.dense({ units: 2, activation: 'softmax', name: 'out' }))
    const body = new LayersBody(m)
    const decay = new Map(body.params.map((p) => [p.name, p.decay] as const))
    expect(Object.fromEntries(decay)).toEqual({ 'tok.embeddings': false, 'norm.gamma': false, 'norm.beta': false, 'mix.kernel': true, 'mix.bias': false })
    body.dispose()
  })

  it('a token no batch contains keeps its embedding row bit-identical through a real AdamW run of the built-in LM', async () => {
    const model = gpt.model
    const T = 16
    const n = 16
    // Classification rows built from a handful of frequent ids; every other row of the table is never used.
    const used = [5, 6, 7, 8, 9, 10, 11, 12]
    const tokens = new Int32Array(n * T)
    const mask = new Float32Array(n * T).fill(1)
    const labels = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2
      tokens[i * T] = gpt.tokenizer.bosId
      for (let t = 1; t < T; t++) tokens[i * T + t] = used[(i * 3 + t * (1 + (i % 2))) % used.length]!
    }
    const set: Encoded = { kind: 'classification', n, seqLen: T, tokens, mask, labels, classes: ['a', 'b'] }
    const unused = 1000
    expect(tokens.includes(unused)).toBe(false)
    const s: Settings = { ...DEFAULTS, method: 'full', optimizer: 'adamw', weightDecay: 0.5, learningRate: 1e-2, warmupSteps: 0, epochs: 1, batchSize: 8, seqLen: T, dropout: 0, restoreBest: false, earlyStopPatience: 0 }
    const D = model.config.dModel
    const wte = model.get('wte.embeddings')
    const fc = model.get('h0.mlp.fc.kernel')
    const snapshot = model.params.map((p) => tf.keep(p.variable.clone()))
    const row = async () => (await wte.slice([unused, 0], [1, D]).data()) as Float32Array
    const rowBefore = (await row()).slice()
    const fcBefore = ((await fc.data()) as Float32Array).slice()
    const tuning = new Tuning(model, s, 2)
    const r = await fineTune(model, tuning, { train: set, val: set }, s, new RunControl())
    expect(r.reason).toBe('finished')
    const rowAfter = await row()
    // Old behaviour: the row shrank by exactly (1 − 0.01·0.5) per step, 2 steps here.
    expect(Array.from(rowAfter)).toEqual(Array.from(rowBefore))
    expect(((await fc.data()) as Float32Array).some((x, k) => x !== fcBefore[k])).toBe(true)
    tuning.dispose()
    model.params.forEach((p, i) => p.variable.assign(snapshot[i]!))
    tf.dispose(snapshot)
  }, 120_000)
})
