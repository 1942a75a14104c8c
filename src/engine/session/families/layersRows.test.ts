/**
 * A person's own Keras-style MLP (a real tf.layers model, saved as model.json + .bin and read
 * back through the studio's own loader for chosen files) fine-tuned on a table by the
 * session: its variables train, its output layer is kept as the head and measured before
 * training, and the export loads in TensorFlow.js with the tuned model's predictions.
 */
import * as tf from '@tensorflow/tfjs'
import { unzipSync, strFromU8 } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseDatasetText } from '../../data/dataset'
import { mulberry32 } from '../../data/rng'
import type { Dataset } from '../../data/types'
import { modelFiles } from '../../models/testModels'
import { range } from '../../train/forward'
import type { TabularEncoded } from '../../train/encoded'
import { Tuning } from '../../train/fineTune'
import { DEFAULTS } from '../../../settings/schema'
import type { Settings } from '../../../settings/types'
import type { Metrics } from '../../types/metrics'
import type { PlaygroundAnswer } from '../../types/playground'
import type { DataFacts, SessionData } from '../family'
import { Session, type RunHooks, type RunRefused, type RunResult } from '../session'
import { holdLayers, loadFromSource } from './layers'
import { keepsOwnHead, rowsFamily, type HeldRows } from './layersRows'
import { TABULAR_MODEL_ID } from './tabular'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

/** 160 rows: three numeric columns on very different scales and a colour column (text). The
 *  class is a linear rule of the standardised columns, so an MLP can learn it. */
function tableCsv(classes: 2 | 3, n = 160): string {
  const rnd = mulberry32(7)
  const lines = ['age,score,income,colour,kind']
  for (let i = 0; i < n; i++) {
    const a = rnd() * 2 - 1
    const b = rnd() * 2 - 1
    const c = rnd() * 2 - 1
    const kind = classes === 2 ? (a + b > 0 ? 'yes' : 'no') : a + b > 0.4 ? 'high' : a - c > 0 ? 'mid' : 'low'
    lines.push(`${(40 + 20 * a).toFixed(3)},${(0.5 * b).toFixed(4)},${(50000 + 30000 * c).toFixed(1)},${['red', 'green'][i % 2]},${kind}`)
  }
  return lines.join('\n')
}

async function tableData(csv: string, features = ['age', 'score', 'income'], name = 'people.csv'): Promise<SessionData & { facts: DataFacts; dataset: Dataset }> {
  const r = await parseDatasetText(name, csv, { roles: { labels: ['kind'], features } })
  if (!r.ok) throw new Error(r.error.message)
  const d = r.dataset
  const n = d.rows.length
  const cut = Math.round(n * 0.75)
  return {
    dataset: d,
    facts: { id: name, name, task: 'tabular-classification', rows: n, source: 'test', classes: [] },
    images: null,
    decoder: null,
    split: () => ({ train: d, trainIdx: range(0, cut), validation: d, validationIdx: range(cut, n) }),
  }
}

/** The person's model: input [null, width] → two hidden ReLU layers → their output layer. */
function personModel(width: number, out: { units: number; activation: 'softmax' | 'sigmoid' | 'linear' }): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 100 + k })
  const m = tf.sequential({ name: 'my_mlp' })
  m.add(tf.layers.dense({ inputShape: [width], units: 12, activation: 'relu', kernelInitializer: init(1), name: 'hidden1' }))
  m.add(tf.layers.dense({ units: 12, activation: 'relu', kernelInitializer: init(2), name: 'hidden2' }))
  m.add(tf.layers.dense({ units: out.units, activation: out.activation, kernelInitializer: init(3), name: 'out' }))
  return m
}

/** Their model trained a little by them, with their own preprocessing (each column scaled to
 *  [-1, 1], not standardised), on a few rows of the same rule: better than chance before the
 *  studio fine-tunes it, not as good as it gets. */
async function pretrained(classes: 2 | 3, out: { units: number; activation: 'softmax' | 'sigmoid' }): Promise<tf.LayersModel> {
  const m = personModel(3, out)
  const rnd = mulberry32(99)
  const xs: number[][] = []
  const ys: number[] = []
  for (let i = 0; i < 40; i++) {
    const [a, b, c] = [rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1] as [number, number, number]
    xs.push([a, b, c])
    ys.push(classes === 2 ? (a + b > 0 ? 1 : 0) : a + b > 0.4 ? 0 : a - c > 0 ? 2 : 1) // high, low, mid in sorted order
  }
  const x = tf.tensor2d(xs)
  const y = out.activation === 'sigmoid' ? tf.tensor2d(ys, [ys.length, 1]) : tf.oneHot(tf.tensor1d(ys, 'int32'), classes)
  m.compile({ optimizer: tf.train.adam(0.01), loss: out.activation === 'sigmoid' ? 'binaryCrossentropy' : 'categoricalCrossentropy' })
  await m.fit(x, y, { epochs: 15, batchSize: 8, shuffle: false, verbose: 0 })
  tf.dispose([x, y])
  return m
}

type Saved = { files: File[]; specs: { name: string; shape: number[] }[]; values: Map<string, Float32Array>; artifacts: tf.io.ModelArtifacts }

/** Saves the model as model.json + one .bin, as a person's files, and what the file holds. */
async function save(model: tf.LayersModel): Promise<Saved> {
  const files = await modelFiles(model, 1)
  const json = JSON.parse(new TextDecoder().decode(files.get('model.json'))) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] }
  const specs = json.weightsManifest[0]!.weights
  const bin = files.get('group1-shard1of1.bin')!
  const values = new Map<string, Float32Array>()
  let at = 0
  for (const s of specs) {
    const size = s.shape.reduce((a, b) => a * b, 1)
    values.set(s.name, new Float32Array(bin.slice(at, at + size * 4).buffer))
    at += size * 4
  }
  const artifacts: tf.io.ModelArtifacts = { modelTopology: json.modelTopology, weightSpecs: specs, weightData: bin.slice().buffer }
  model.dispose()
  return { files: [...files].map(([name, bytes]) => new File([bytes.slice()], name)), specs: specs.map((s) => ({ name: s.name, shape: s.shape })), values, artifacts }
}

/** The studio's loading path for chosen files (the worker's loadOther: loadFromSource, holdLayers). */
async function load(session: Session, saved: Saved): Promise<HeldRows> {
  const got = await loadFromSource({ kind: 'files', files: saved.files }, () => Promise.reject(new Error('no network')), null, () => undefined)
  if (got.kind !== 'layers') throw new Error(`loaded as ${got.kind}`)
  const held = holdLayers(got.body, got.url) as unknown as HeldRows
  session.hold(held)
  return held
}

function hooks() {
  const seen = { baseline: null as { metrics: Metrics; note: string; name: string } | null, epochs: [] as { train: Metrics; val: Metrics }[] }
  const h: RunHooks = {
    events: { onBaseline: (metrics, note, name) => void (seen.baseline = { metrics, note, name }), onEpoch: (e) => void seen.epochs.push({ train: e.train, val: e.val }) },
    started: () => undefined,
    record: async (_s, _c, cb) => ({ callbacks: () => cb, finish: async () => undefined, fail: async () => undefined }),
  }
  return { h, seen }
}

const settings = (over: Partial<Settings> = {}): Settings => ({ ...DEFAULTS, method: 'full', epochs: 40, learningRate: 0.01, batchSize: 16, warmupSteps: 0, dropout: 0, seed: 3, ...over })

async function run(session: Session, s: Settings): Promise<{ result: RunResult; seen: ReturnType<typeof hooks>['seen'] }> {
  const { h, seen } = hooks()
  const out = await session.train('run', s, h)
  if ('refused' in out) throw new Error((out as RunRefused).refused.map((p) => p.message).join(' | '))
  return { result: out.result, seen }
}

/** The exported zip, read back with tf.loadLayersModel. */
async function exported(session: Session): Promise<{ model: tf.LayersModel; json: { userDefinedMetadata: Record<string, unknown>; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] }; readme: string; fileName: string }> {
  const { fileName, bytes } = await session.export('merged', 1, { base: null, tuned: null }, () => undefined)
  const files = unzipSync(bytes)
  const json = JSON.parse(strFromU8(files['model.json']!))
  const bin = files['weights.bin']!
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.slice().buffer }))
  return { model, json, readme: strFromU8(files['README.md']!), fileName }
}

/** The studio's tuned model on the validation rows, as the loop computes it: probabilities
 *  for classes, the target in its units for a number. */
function studioOutputs(held: HeldRows): Float32Array {
  const val = held.validationSplit as TabularEncoded
  return tf.tidy(() => {
    const { body } = held
    const out = held.tuning!.head!.apply(body.pool(body.forwardFrom(body.prefix(tf.tensor2d(val.features, [val.n, val.dim]), 0), 0), null), false)
    return (val.scale ? out.mul(val.scale.std).add(val.scale.mean) : tf.softmax(out)).dataSync() as Float32Array
  })
}

const accuracyOf = (probs: Float32Array, labels: Int32Array, c: number) => {
  let right = 0
  labels.forEach((y, i) => {
    const row = Array.from(probs.slice(i * c, (i + 1) * c))
    if (row.indexOf(Math.max(...row)) === y) right++
  })
  return right / labels.length
}

/** prices.csv: the people table with a number to predict, price = 3·age − income / 10000;
 *  rows 0–119 train, 120–159 validate. `prices` as written in the file. */
async function priceData(): Promise<{ data: SessionData; prices: number[] }> {
  const prices: number[] = []
  const csv = tableCsv(3).replace(/,kind$/m, ',kind,price').split('\n').map((l, i) => {
    if (i === 0) return l
    const p = (Number(l.split(',')[0]) * 3 - Number(l.split(',')[2]) / 10000).toFixed(3)
    prices.push(Number(p))
    return `${l},${p}`
  }).join('\n')
  const r = await parseDatasetText('prices.csv', csv, { roles: { labels: [], features: ['age', 'score', 'income'], target: 'price' } })
  if (!r.ok) throw new Error(r.error.message)
  const d = r.dataset
  const data: SessionData = { dataset: d, facts: { id: 'p', name: 'prices.csv', task: 'tabular-regression', rows: d.rows.length, source: 'test', classes: [] }, images: null, decoder: null, split: () => ({ train: d, trainIdx: range(0, 120), validation: d, validationIdx: range(120, 160) }) }
  return { data, prices }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const rmse = (xs: ArrayLike<number>, at: number | ArrayLike<number>) => Math.sqrt(Array.from(xs).reduce((a, x, i) => a + (x - (typeof at === 'number' ? at : at[i]!)) ** 2, 0) / xs.length)

/** The RMSE of their saved model's outputs on `features` (rows of 3), read back from its file with TensorFlow.js. */
async function rmseOf(saved: Saved, features: Float32Array, truth: number[]): Promise<number> {
  const model = await tf.loadLayersModel(tf.io.fromMemory(saved.artifacts))
  const preds = tf.tidy(() => (model.predict(tf.tensor2d(features, [truth.length, 3])) as tf.Tensor).dataSync() as Float32Array)
  model.dispose()
  return rmse(truth, preds)
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)

describe("a person's own layers MLP fine-tuned on a table", () => {
  it('trains their variables with their output layer kept, beats their model before training, and exports what the studio holds', async () => {
    const data = await tableData(tableCsv(3))
    const session = new Session(data)
    const saved = await save(await pretrained(3, { units: 3, activation: 'softmax' }))
    const held = await load(session, saved)
    expect(held.family).toBe(rowsFamily)
    // the table trains their model, not the MLP the studio builds for the columns
    const planned = session.plan(settings())!
    expect(planned.summary.id).not.toBe(TABULAR_MODEL_ID)
    expect(planned.summary.title).toBe('my_mlp')
    expect(planned.plan.problems).toEqual([])
    expect(planned.summary.input?.description).toMatch(/age, score, income.*standardised/)
    expect(planned.summary.description).toMatch(/output layer out .* kept as the head/)

    // Their model before training, computed here with TensorFlow.js on the rows the studio feeds it.
    const { val: valSet } = rowsFamily.encode(held, settings(), data) as { val: TabularEncoded }
    const original = await tf.loadLayersModel(tf.io.fromMemory(saved.artifacts))
    const zeroShot = tf.tidy(() => (original.predict(tf.tensor2d(valSet.features, [valSet.n, 3])) as tf.Tensor).dataSync() as Float32Array)
    const zeroShotAcc = accuracyOf(zeroShot, valSet.labels!, 3)
    original.dispose()

    const { result, seen } = await run(session, settings())
    // (b) the line to beat names their output layer and is its score before training; the loss falls and the score beats it
    expect(seen.baseline!.name).toBe('my_mlp as loaded')
    expect(seen.baseline!.metrics.accuracy).toBeCloseTo(zeroShotAcc, 6)
    expect(seen.baseline!.note).toMatch(/my_mlp's own output layer out, before fine-tuning/)
    expect(seen.baseline!.note).toContain(`my_mlp as loaded ${(100 * zeroShotAcc).toFixed(1)}%`)
    expect(seen.baseline!.note).not.toMatch(/checkpoint head|untrained head/)
    expect(result.message).toContain(`line to beat: my_mlp as loaded ${(100 * zeroShotAcc).toFixed(1)}%`)
    expect(seen.epochs.at(-1)!.train.loss).toBeLessThan(0.6 * seen.epochs[0]!.train.loss)
    expect(zeroShotAcc).toBeGreaterThan(0.5) // their model reads the standardised columns, if not perfectly
    expect(result.summary.best.accuracy!).toBeGreaterThan(zeroShotAcc + 0.1)
    expect(result.summary.best.accuracy!).toBeGreaterThanOrEqual(0.85)

    // (a) the variables that trained are theirs: every weight of the file, by name and shape, changed
    const { model: back, json, readme, fileName } = await exported(session)
    expect(json.weightsManifest[0]!.weights.map((w) => ({ name: w.name, shape: w.shape }))).toEqual(saved.specs)
    for (const p of held.body.params) {
      const spec = saved.specs.find((s) => s.name === p.name.replace(/\./g, '/'))
      expect(spec, p.name).toBeDefined()
      expect(p.variable.shape).toEqual(spec!.shape)
      expect(maxDiff(p.variable.dataSync(), saved.values.get(spec!.name)!)).toBeGreaterThan(1e-3)
    }
    expect(held.body.params.map((p) => p.name).sort()).toEqual(['hidden1.bias', 'hidden1.kernel', 'hidden2.bias', 'hidden2.kernel'])
    const outKernel = back.getLayer('out').getWeights()[0]!.dataSync()
    expect(maxDiff(outKernel, saved.values.get('out/kernel')!)).toBeGreaterThan(1e-3)

    // (c) the export, loaded with tf.loadLayersModel, answers as the studio's tuned model
    const val = held.validationSplit as TabularEncoded
    const theirs = tf.tidy(() => (back.predict(tf.tensor2d(val.features, [val.n, val.dim])) as tf.Tensor).dataSync() as Float32Array)
    expect(maxDiff(theirs, studioOutputs(held))).toBeLessThan(1e-5)
    expect(fileName).toBe('my_mlp-finetuned-tfjs.zip')
    expect((json.userDefinedMetadata.studioInput as { columns: string[] }).columns).toEqual(['age', 'score', 'income'])
    expect(readme).toMatch(/\| income \| 5\d{4}/)
    back.dispose()
    // the session's own copy of their output layer is as loaded again ("before" in the playground)
    expect(maxDiff(held.body.full.getLayer('out').getWeights()[0]!.dataSync(), saved.values.get('out/kernel')!)).toBe(0)

    // the playground answers a row before (their model as loaded) and after; that and another
    // export leave no tensor behind
    const tensors = tf.memory().numTensors
    const answers: PlaygroundAnswer[] = []
    await session.predict('r1', { kind: 'row', values: { age: '55', score: '0.3', income: '20000' } }, (a) => void answers.push(a))
    await session.export('merged', 1, { base: null, tuned: null }, () => undefined)
    expect(tf.memory().numTensors).toBe(tensors)
    // a head restored from a checkpoint (not marked by a run) is still written back into their layer
    const restored = new Tuning(held.body, settings(), 3)
    expect(keepsOwnHead(held, restored)).toBe(true)
    restored.dispose()
    const said = answers.flatMap((a) => (a.type === 'prediction' ? [`${a.which}: ${a.note}`] : []))
    expect(said).toEqual(["before: my_mlp as loaded (its own output layer out)", 'after: after fine-tuning (full)'])
  })

  it('"Head only" trains their output layer alone; a sigmoid unit for two classes is kept and written back as one', async () => {
    const data = await tableData(tableCsv(2))
    const session = new Session(data)
    const saved = await save(await pretrained(2, { units: 1, activation: 'sigmoid' }))
    const held = await load(session, saved)
    const { result, seen } = await run(session, settings({ method: 'head', learningRate: 0.05 }))
    expect(seen.baseline!.name).toBe('my_mlp as loaded')
    expect(seen.baseline!.note).toMatch(/own output layer out/)
    expect(result.summary.best.accuracy!).toBeGreaterThan(result.summary.baseline.accuracy!)
    for (const p of held.body.params) expect(maxDiff(p.variable.dataSync(), saved.values.get(p.name.replace(/\./g, '/'))!)).toBe(0)
    const { model: back } = await exported(session)
    const val = held.validationSplit as TabularEncoded
    const theirs = tf.tidy(() => (back.predict(tf.tensor2d(val.features, [val.n, val.dim])) as tf.Tensor).dataSync() as Float32Array)
    expect(theirs.length).toBe(val.n) // one sigmoid output, as their tools expect
    const probs = studioOutputs(held) // [p(no), p(yes)] per row
    expect(maxDiff(theirs, Float32Array.from({ length: val.n }, (_, i) => probs[i * 2 + 1]!))).toBeLessThan(1e-5)
    back.dispose()
  })

  it('trains a new head from scratch when the class count differs, and exports it on their hidden layers', async () => {
    const data = await tableData(tableCsv(3))
    const session = new Session(data)
    const held = await load(session, await save(personModel(3, { units: 5, activation: 'softmax' })))
    const planned = session.plan(settings())!
    expect(planned.summary.description).toMatch(/output layer out gives 5 class probabilities .* 3 classes .*new head of 3 outputs is trained from scratch/)
    expect(planned.summary.layers.find((l) => l.name === 'out')!.type).toMatch(/replaced by a new head/)
    const { result, seen } = await run(session, settings())
    expect(seen.baseline!.name).not.toMatch(/checkpoint head|as loaded/)
    expect(result.summary.best.accuracy!).toBeGreaterThan(result.summary.baseline.accuracy!)
    const { model: back } = await exported(session)
    expect(back.outputs[0]!.shape).toEqual([null, 3])
    const val = held.validationSplit as TabularEncoded
    const theirs = tf.tidy(() => (back.predict(tf.tensor2d(val.features, [val.n, val.dim])) as tf.Tensor).dataSync() as Float32Array)
    expect(maxDiff(theirs, studioOutputs(held))).toBeLessThan(1e-5)
    back.dispose()
  })

  it('a linear output unit predicting a number is kept in the target units and written back in them', async () => {
    const { data, prices } = await priceData()
    const session = new Session(data)
    const saved = await save(personModel(3, { units: 1, activation: 'linear' }))
    const held = await load(session, saved)
    // their untrained model, as loaded, on the rows the studio feeds it: far worse than the mean
    const { val: valSet } = rowsFamily.encode(held, settings(), data) as { val: TabularEncoded }
    const loadedRmse = await rmseOf(saved, valSet.features, prices.slice(120))
    const meanRmse = rmse(prices.slice(120), mean(prices.slice(0, 120)))
    expect(loadedRmse).toBeGreaterThan(meanRmse)
    const { result, seen } = await run(session, settings({ epochs: 30 }))
    // the line to beat stays the training mean; their model's RMSE is named beside it
    expect(seen.baseline!.name).toBe('training mean')
    expect(seen.baseline!.metrics.rmse).toBeCloseTo(meanRmse, 3)
    expect(seen.baseline!.note).toContain(`my_mlp as loaded RMSE ${loadedRmse.toPrecision(4)}`)
    expect(result.summary.best.rmse!).toBeLessThan(result.summary.baseline.rmse!)
    const { model: back } = await exported(session)
    const val = held.validationSplit as TabularEncoded
    const theirs = tf.tidy(() => (back.predict(tf.tensor2d(val.features, [val.n, val.dim])) as tf.Tensor).dataSync() as Float32Array)
    const ours = studioOutputs(held)
    // in the target's units (about 120 ± 60): 1e-5 of the value
    theirs.forEach((v, i) => expect(Math.abs(v - ours[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ours[i]!))))
    back.dispose()
  })

  it('their model trained to predict the number, as loaded, is the line to beat when its RMSE is below the training mean\'s, named as theirs', async () => {
    const { data, prices } = await priceData()
    const session = new Session(data)
    // Their model, trained by them a little on the same rows (their preprocessing: the
    // standardised columns, a standardised target mapped back to the units in the output layer).
    const first = await load(new Session(data), await save(personModel(3, { units: 1, activation: 'linear' })))
    const { train: trainSet, val: valSet } = rowsFamily.encode(first, settings(), data) as { train: TabularEncoded; val: TabularEncoded }
    const m = personModel(3, { units: 1, activation: 'linear' })
    const mu = mean(prices.slice(0, 120))
    const sd = rmse(prices.slice(0, 120), mu)
    const x = tf.tensor2d(trainSet.features, [trainSet.n, 3])
    const y = tf.tensor2d(prices.slice(0, 120).map((p) => (p - mu) / sd), [120, 1])
    m.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' })
    await m.fit(x, y, { epochs: 8, batchSize: 16, shuffle: false, verbose: 0 })
    tf.dispose([x, y])
    const out = m.getLayer('out')
    const [k, b] = out.getWeights() as [tf.Tensor, tf.Tensor]
    out.setWeights(tf.tidy(() => [k.mul(sd), b.mul(sd).add(mu)]))
    const saved = await save(m)
    await load(session, saved)

    // their model's RMSE before fine-tuning and the mean's, computed here with TensorFlow.js
    const loadedRmse = await rmseOf(saved, valSet.features, prices.slice(120))
    const meanRmse = rmse(prices.slice(120), mu)
    expect(loadedRmse).toBeLessThan(meanRmse)

    const { result, seen } = await run(session, settings({ epochs: 30 }))
    expect(seen.baseline!.name).toBe('my_mlp as loaded')
    expect(seen.baseline!.metrics.rmse).toBeCloseTo(loadedRmse, 3)
    expect(seen.baseline!.note).toBe(`my_mlp's own output layer out, before fine-tuning (my_mlp as loaded RMSE ${loadedRmse.toPrecision(4)}; training mean RMSE ${meanRmse.toPrecision(4)})`)
    expect(result.message).toContain(`(line to beat: my_mlp as loaded ${loadedRmse.toPrecision(4)})`)
    expect(result.summary.best.rmse!).toBeLessThan(loadedRmse)
  })

  it('refuses a table whose feature count differs, naming both numbers and the columns, and keeps their model', async () => {
    const data = await tableData(tableCsv(3), ['age', 'score'])
    const session = new Session(data)
    const held = await load(session, await save(personModel(3, { units: 3, activation: 'softmax' })))
    const planned = session.plan(settings())!
    const dataset = planned.plan.problems.find((p) => p.field === 'dataset')
    expect(dataset?.message).toMatch(/my_mlp reads rows of 3 numbers, but people\.csv gives it 2 feature columns/)
    expect(dataset?.message).toMatch(/\(age, score\)/)
    expect(dataset?.message).toMatch(/Not fed: income, colour/)
    expect(dataset?.message).toMatch(/Tick 1 more numeric column as features in the dataset panel/)
    await expect(session.train('run', settings(), hooks().h)).rejects.toThrow(/reads rows of 3 numbers, but people\.csv gives it 2/)
    expect(session.loaded).toBe(held)
    expect(session.current()).toBe(held)
  })
})
