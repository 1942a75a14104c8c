import 'fake-indexeddb/auto'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { strFromU8, unzipSync } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import { openStudioDb } from '../engine/storage/db'
import { getRun } from '../engine/storage/runs'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import { publicFetch } from './publicFetch'
import type { FromWorker } from './protocol'

// Runs that predict numbers or read numeric columns go through the same recorder,
// checkpoints, restore, resume, playground and export as the others: the whole worker
// handler in Node with a fake IndexedDB, on the committed samples.

const root = resolve(__dirname, '../..')

beforeAll(async () => {
  await tf.setBackend('cpu')
})

async function studio() {
  const events: FromWorker[] = []
  const handle = createHandler((e) => events.push(e), {}, publicFetch)
  const all = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type)
  const last = <T extends FromWorker['type']>(type: T) => all(type).at(-1)
  const checkpointsOf = (runId: string) => (last('checkpoints')?.items ?? []).filter((c) => c.runId === runId).sort((a, b) => a.epoch - b.epoch)
  const loadFile = async (name: string, text: string) => handle({ type: 'loadDataset', source: { kind: 'file', file: new File([text], name) } })
  return { handle, events, all, last, checkpointsOf, loadFile }
}

const boston = () => readFile(resolve(root, 'public/samples/boston-housing.csv'), 'utf8')
const base: Settings = { ...DEFAULTS, backend: 'cpu', batchSize: 32, learningRate: 3e-3, epochs: 4, keepLast: 10, keepBest: true, earlyStopPatience: 0 }

describe('tabular runs (Boston house prices)', () => {
  it('train, checkpoint every epoch, restore after switching datasets, resume with the same losses', async () => {
    const st = await studio()
    await st.loadFile('boston.csv', await boston())
    expect(st.last('dataset')!.summary.task).toBe('tabular-regression')
    await st.handle({ type: 'configure', settings: base })
    expect(st.last('model')!.summary).toMatchObject({ id: 'tabular-mlp', pretrained: false, input: { kind: 'tabular', shape: '[B, 12]' } })
    expect(st.last('plan')!.problems).toEqual([])

    await st.handle({ type: 'train', runId: 'tab-1', settings: { ...base, method: 'lora' } }) // any method: every layer trains
    expect(st.last('error')).toBeUndefined()
    const done = st.last('done')!
    expect(done.summary.best.rmse!).toBeLessThan(0.7 * done.summary.baseline.rmse!)
    const straight = st.all('epoch').filter((e) => e.runId === 'tab-1')
    const cks = st.checkpointsOf('tab-1')
    expect(cks.map((c) => c.epoch)).toEqual([1, 2, 3, 4])
    expect(cks[0]).toMatchObject({ modelId: 'tabular-mlp', modelKind: 'tabular', datasetName: 'boston.csv', method: 'full' })
    const run = await getRun(await openStudioDb(), 'tab-1')
    expect(run).toMatchObject({ status: 'finished', model: { id: 'tabular-mlp', kind: 'tabular' } })
    expect(run!.epochs.map((e) => e.valRmse)).toEqual(straight.map((e) => e.val.rmse))

    // Another dataset becomes current; restoring a tabular checkpoint opens its dataset again.
    await st.loadFile('words.csv', 'text,label\n' + Array.from({ length: 40 }, (_, i) => `word ${i},${i % 2 ? 'a' : 'b'}`).join('\n'))
    expect(st.last('dataset')!.summary.name).toBe('words.csv')
    await st.handle({ type: 'restoreCheckpoint', id: cks[1]!.id })
    expect(st.last('error')).toBeUndefined()
    expect(st.last('dataset')!.summary.name).toBe('boston.csv')
    expect(st.last('evaluation')!.metrics.rmse).toBeCloseTo(straight[1]!.val.rmse!, 4)

    const before = st.events.length
    await st.handle({ type: 'resumeRun', checkpointId: cks[1]!.id, runId: cks[1]!.runId })
    expect(st.last('error')).toBeUndefined()
    const resumed = st.events.slice(before).filter((e): e is Extract<FromWorker, { type: 'epoch' }> => e.type === 'epoch')
    expect(resumed.map((e) => e.epoch)).toEqual([2, 3])
    resumed.forEach((e, i) => expect(e.val.loss).toBeCloseTo(straight[2 + i]!.val.loss, 4))
  }, 120_000)

  it('predicts a typed row, and exports a TensorFlow.js layers model that reads raw values', async () => {
    const st = await studio()
    const csv = await boston()
    await st.loadFile('boston.csv', csv)
    await st.handle({ type: 'train', runId: 'tab-x', settings: { ...base, epochs: 12 } })
    const [header, first] = csv.split('\n') as [string, string]
    const cols = header.split(',')
    const values = Object.fromEntries(cols.map((c, i) => [c, first.split(',')[i]!]))
    await st.handle({ type: 'predict', requestId: 'r1', input: { kind: 'row', values } })
    const after = st.all('prediction').find((p) => p.requestId === 'r1' && p.which === 'after')!
    const before = st.all('prediction').find((p) => p.requestId === 'r1' && p.which === 'before')!
    expect(after.value!.name).toBe('medv')
    console.info('row 1 medv 24.0: before', before.value!.value, 'after', after.value!.value)
    expect(Math.abs(after.value!.value - 24)).toBeLessThan(Math.abs(before.value!.value - 24)) // the first tract is worth 24.0
    await st.handle({ type: 'predict', requestId: 'r2', input: { kind: 'row', values: { ...values, rm: 'lots' } } })
    expect(st.last('playground')!.message).toMatch(/Feature "rm" is not a number \("lots"\)/)

    await st.handle({ type: 'export', choice: 'adapter', alpha: 1, metrics: { base: null, tuned: null } })
    expect(st.last('error')!.message).toMatch(/no base model for an adapter-only file/)
    await st.handle({ type: 'export', choice: 'merged', alpha: 1, metrics: { base: null, tuned: st.last('done')!.summary.best } })
    const exported = st.last('exported')!
    expect(exported.fileName).toBe('boston-mlp-tfjs.zip')
    const files = unzipSync(new Uint8Array(exported.bytes))
    const json = JSON.parse(strFromU8(files['model.json']!))
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: files['weights.bin']!.slice().buffer }))
    const features = json.userDefinedMetadata.features as string[]
    const out = model.predict(tf.tensor2d([features.map((f) => Number(values[f]))])) as tf.Tensor
    expect((await out.data())[0]).toBeCloseTo(after.value!.value, 3)
    model.dispose()

    // Loaded back into a fresh studio with no dataset: it names its columns, starts a row
    // from the training means and answers a typed row with the trained model's number.
    const again = await studio()
    await again.handle({ type: 'loadModel', source: { kind: 'file', file: new File([exported.bytes], exported.fileName) } })
    expect(again.last('error')).toBeUndefined()
    const input = again.last('model')!.summary.input!
    expect(input.kind).toBe('tabular')
    expect(input.features).toEqual(features)
    expect(input.description).toMatch(/predicts medv/)
    expect(input.typical!.length).toBe(features.length)
    expect(input.typical![features.indexOf('rm')]).toBeGreaterThan(5) // mean rooms per dwelling ≈ 6.3
    await again.handle({ type: 'predict', requestId: 'r3', input: { kind: 'row', values } })
    const loaded = again.all('prediction').find((p) => p.requestId === 'r3')!
    expect(loaded.which).toBe('before')
    expect(loaded.value!.name).toBe('medv')
    expect(loaded.value!.value).toBeCloseTo(after.value!.value, 3)
    await again.handle({ type: 'predict', requestId: 'r4', input: { kind: 'row', values: { ...values, crim: '' } } })
    expect(again.last('playground')!.message).toMatch(/Feature "crim" is empty/)
  }, 120_000)
})

describe('text regression (AFINN word scores) with the pretrained LM', () => {
  it('trains a regression head, restores it, predicts a number, and exports and imports it', async () => {
    const st = await studio()
    await st.handle({ type: 'loadModel', source: { kind: 'builtin', id: 'tiny-lm', url: 'http://app/models/tiny-lm/model.json' } })
    const words = (await readFile(resolve(root, 'public/samples/afinn-valence.csv'), 'utf8')).trim().split('\n')
    await st.loadFile('afinn.csv', [words[0], ...words.slice(1).filter((_, i) => i % 12 === 0)].join('\n')) // ~200 words
    expect(st.last('dataset')!.summary.task).toBe('text-regression')
    const settings: Settings = { ...base, method: 'head', seqLen: 16, epochs: 2, batchSize: 16 }
    await st.handle({ type: 'train', runId: 'txt-r', settings })
    expect(st.last('error')?.message).toBeUndefined()
    const done = st.last('done')!
    expect(done.summary.best.rmse).toBeGreaterThan(0)
    expect(done.message).toMatch(/RMSE .* score/)
    const cks = st.checkpointsOf('txt-r')
    await st.handle({ type: 'restoreCheckpoint', id: cks[0]!.id })
    expect(st.last('error')).toBeUndefined()
    expect(st.last('evaluation')!.metrics.rmse).toBeCloseTo(st.all('epoch').find((e) => e.runId === 'txt-r' && e.epoch === 0)!.val.rmse!, 4)

    await st.handle({ type: 'predict', requestId: 'w', input: { kind: 'text', text: 'wonderful' } })
    const after = st.all('prediction').find((p) => p.requestId === 'w' && p.which === 'after')!
    expect(after.value!.name).toBe('score')
    expect(Number.isFinite(after.value!.value)).toBe(true)

    await st.handle({ type: 'export', choice: 'adapter', alpha: 1, metrics: { base: null, tuned: null } })
    const exported = st.last('exported')!
    const pack = JSON.parse(strFromU8(unzipSync(new Uint8Array(exported.bytes))['tuning.json']!))
    expect(pack.task).toBe('text-regression')
    await st.handle({ type: 'loadModel', source: { kind: 'builtin', id: 'tiny-lm', url: 'http://app/models/tiny-lm/model.json' } })
    await st.handle({ type: 'loadModel', source: { kind: 'file', file: new File([exported.bytes], exported.fileName) } })
    expect(st.last('error')).toBeUndefined()
    expect(st.last('imported')!.metrics?.rmse).toBeCloseTo(st.last('evaluation')!.metrics.rmse!, 4)
    await st.handle({ type: 'predict', requestId: 'w2', input: { kind: 'text', text: 'wonderful' } })
    expect(st.all('prediction').find((p) => p.requestId === 'w2' && p.which === 'after')!.value!.value).toBeCloseTo(after.value!.value, 4)
  }, 300_000)
})
