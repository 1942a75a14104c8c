/**
 * The two-worker tests' shared set-up (dataParallel.test.ts, dataParallelTransport.test.ts): the
 * built-in tiny LM on the wasm backend, a copy of its weights to reset to, its causal mask made
 * once (cached per length for every model, so before any tensor count), and spam-ham rows
 * encoded at 32 tokens: training rows 0…train-1, validation rows 100…100+val-1. The tests pass in
 * how to read files (the engine imports no Node module). splitStepFixture: what a test of single
 * split steps (dataParallel.test.ts, dataParallelHalves.test.ts) sets up around it.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { parseDataset } from '../data/dataset'
import { encodeClassification } from '../data/textBatches'
import { loadTinyGpt, type FetchFn, type LoadedTinyGpt } from '../models/modelFile'
import type { Settings } from '../../settings/types'
import { trainableVariables } from '../tuning/freeze'
import { BatchSource } from './batchSource'
import { FeatureCache } from './featureCache'
import { fineTune, Tuning, type Encoded } from './fineTune'
import type { GradientPeer } from './dataParallel'
import { RunControl } from './runControl'

export interface TinyLmSpamHam {
  loaded: LoadedTinyGpt
  base: tf.Tensor[]
  data: { train: Encoded; val: Encoded }
}

export async function tinyLmOnSpamHam(fetchFile: FetchFn, spamHamCsv: Uint8Array, rows: { train: number; val: number }): Promise<TinyLmSpamHam> {
  await tf.setBackend('wasm')
  const loaded = await loadTinyGpt('/models/tiny-lm/model.json', fetchFile)
  const base = loaded.model.params.map((p) => tf.keep(p.variable.clone()))
  tf.tidy(() => loaded.model.forwardFrom(loaded.model.embed(tf.zeros([1, 32], 'int32')), 0))
  const parsed = await parseDataset('spam-ham.csv', spamHamCsv)
  if (!parsed.ok) throw new Error(parsed.error.message)
  const d = parsed.dataset
  const classes = (d.classes[d.roles.labels[0]!] ?? []).map((c) => c.label)
  const enc = (idx: number[]): Encoded => {
    const a = encodeClassification(d, loaded.tokenizer, { seqLen: 32, indices: idx })
    return { kind: 'classification', n: a.n, seqLen: 32, tokens: a.ids, mask: a.mask, labels: a.labels, classes }
  }
  const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i)
  return { loaded, base, data: { train: enc(range(rows.train)), val: enc(range(rows.val, 100)) } }
}

/** One split step's set-up: the tiny LM reset to its base weights, a two-class Tuning for `s`, its
 *  trainable variables, the training rows as host rows and an empty feature cache (no frozen
 *  blocks). The caller disposes `tuning` and `cache`. */
export function splitStepFixture(lm: TinyLmSpamHam, s: Settings) {
  const model = lm.loaded.model
  model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
  const tuning = new Tuning(model, s, 2)
  const vars = trainableVariables(model, s, 0, tuning.parts)
  const source = BatchSource.host(lm.data.train)
  const cache = new FeatureCache(0, false, { train: lm.data.train.n, val: 0 })
  return { model, tuning, vars, source, cache }
}

/** `fineTune` on the fixture's rows from its base weights with `peer` as the second worker:
 *  each epoch's training and validation loss, the lost-worker messages, and the weights after
 *  (the body's, then the head's). */
export async function runWithPeer(lm: TinyLmSpamHam, s: Settings, peer: GradientPeer): Promise<{ epochs: { train: number; val: number }[]; lost: string[]; weights: Float32Array[] }> {
  const model = lm.loaded.model
  model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
  const tuning = new Tuning(model, s, 2)
  const epochs: { train: number; val: number }[] = []
  const lost: string[] = []
  await fineTune(model, tuning, lm.data, s, new RunControl(), { onEpoch: (e) => void epochs.push({ train: e.train.loss, val: e.val.loss }) }, undefined, { peer, onPeerLost: (m) => lost.push(m) })
  const weights = await Promise.all([...model.params.map((p) => p.variable), ...(tuning.head?.params ?? []).map((p) => p.variable)].map(async (v) => ((await v.data()) as Float32Array).slice()))
  tuning.dispose()
  return { epochs, lost, weights }
}

/** How many values differ in any bit between two lists of arrays (Object.is: NaN equals NaN). */
export function differingBits(a: Float32Array[], b: Float32Array[]): number {
  let differ = 0
  a.forEach((x, i) => x.forEach((v, k) => void (Object.is(v, b[i]![k]) || differ++)))
  return differ
}
