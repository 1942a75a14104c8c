import 'fake-indexeddb/auto'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { indexedDbModelCache } from '../storage/modelCache'
import { dataFitProblem } from './dataFit'
import { filesFetch } from './filesFetch'
import { loadAnyModel, type AnyLoaded } from './loadAnyModel'
import { ModelLoadError } from './modelLoadError'
import { editJson, fakeFetch, graphModelFiles, modelFiles, tinyImageModel, type ModelFiles } from './testModels'

const URL_ = 'http://models.test/m/model.json'
let files: ModelFiles
let original: tf.LayersModel

beforeAll(async () => {
  await tf.setBackend('cpu')
  original = tinyImageModel(3)
  files = await modelFiles(original, 2)
})

function layers(r: AnyLoaded) {
  if (r.kind !== 'layers') throw new Error('expected a layers model')
  return r
}

async function failure(p: Promise<unknown>): Promise<ModelLoadError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(ModelLoadError)
  return e as ModelLoadError
}

describe('loading a layers model', () => {
  it('loads by URL across shards with byte progress, and predicts like the original', async () => {
    const { fetchFn, requests } = fakeFetch(files)
    const progress: [number, number][] = []
    const r = layers(await loadAnyModel(URL_, { fetchFn, onProgress: (d, t) => progress.push([d, t]), cache: null }))
    const total = files.get('group1-shard1of2.bin')!.length + files.get('group1-shard2of2.bin')!.length
    expect(r.diskBytes).toBe(total)
    expect(requests).toEqual([URL_, 'http://models.test/m/group1-shard1of2.bin', 'http://models.test/m/group1-shard2of2.bin'])
    expect(progress[0]).toEqual([0, total])
    expect(progress.at(-1)).toEqual([total, total])
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThanOrEqual(progress[i - 1]![0])
    const x = tf.randomUniform([2, 16, 16, 3], -1, 1, 'float32', 4)
    const a = await (original.predict(x) as tf.Tensor).data()
    const b = await (r.body.full.predict(x) as tf.Tensor).data()
    Array.from(a).forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5))
    expect(r.body.kind).toBe('image')
    expect(r.body.describeInput()).toMatchObject({ kind: 'image', shape: '[B, 16, 16, 3]' })
    r.body.dispose()
  })

  it('keeps a downloaded model in IndexedDB and loads it again without the network', async () => {
    const cache = indexedDbModelCache()!
    const first = fakeFetch(files)
    layers(await loadAnyModel(URL_, { fetchFn: first.fetchFn, cache })).body.dispose()
    const second = fakeFetch(new Map())
    const r = layers(await loadAnyModel(URL_, { fetchFn: second.fetchFn, cache }))
    expect(r.fromCache).toBe(true)
    expect(second.requests).toEqual([])
    r.body.dispose()
    await cache.delete(URL_)
  })

  it('loads model.json and shards chosen as files', async () => {
    const chosen = [...files].map(([name, bytes]) => ({ name, size: bytes.length, arrayBuffer: async () => bytes.slice().buffer }))
    const { url, fetchFn } = filesFetch(chosen)
    const r = layers(await loadAnyModel(url, { fetchFn }))
    expect(r.body.params.length).toBeGreaterThan(0)
    r.body.dispose()
  })

  it('names the missing file when a shard was not chosen', async () => {
    const chosen = [...files].filter(([n]) => n !== 'group1-shard2of2.bin').map(([name, bytes]) => ({ name, size: bytes.length, arrayBuffer: async () => bytes.slice().buffer }))
    const { url, fetchFn } = filesFetch(chosen)
    const e = await failure(loadAnyModel(url, { fetchFn }))
    expect(e.message).toMatch(/group1-shard2of2\.bin, which was not among the chosen files/)
    expect(e.where).toBe('file group1-shard2of2.bin')
  })

  it('refuses a graph model: inference only, says what to load instead', async () => {
    const e = await failure(loadAnyModel(URL_, { fetchFn: fakeFetch(graphModelFiles()).fetchFn, cache: null }))
    expect(e.message).toMatch(/graph model/)
    expect(e.message).toMatch(/cannot be fine-tuned/)
    expect(e.message).toMatch(/layers-model/)
  })

  it('names a missing shard (HTTP 404) and a truncated one (expected vs got bytes)', async () => {
    const missing = new Map(files)
    missing.delete('group1-shard2of2.bin')
    const e1 = await failure(loadAnyModel(URL_, { fetchFn: fakeFetch(missing).fetchFn, cache: null }))
    expect(e1.message).toMatch(/group1-shard2of2\.bin.*HTTP 404/)
    const cut = new Map(files).set('group1-shard2of2.bin', files.get('group1-shard2of2.bin')!.slice(0, 10))
    const e2 = await failure(loadAnyModel(URL_, { fetchFn: fakeFetch(cut).fetchFn, cache: null }))
    const total = files.get('group1-shard1of2.bin')!.length + files.get('group1-shard2of2.bin')!.length
    expect(e2.message).toContain(`expected ${total} bytes, got ${files.get('group1-shard1of2.bin')!.length + 10}`)
    expect(e2.message).toMatch(/group1-shard2of2\.bin is missing or truncated/)
  })

  it('names the layer whose weights do not match the topology', async () => {
    const bad = editJson(files, (j) => {
      const w = (j.weightsManifest as { weights: { name: string; shape: number[] }[] }[])[0]!.weights.find((x) => x.name.startsWith('preds/kernel'))!
      w.shape = [12, 5]
    })
    const e = await failure(loadAnyModel(URL_, { fetchFn: fakeFetch(bad).fetchFn, cache: null }))
    expect(e.message).toMatch(/Layer preds: the weight preds\/kernel is \[12, 5\] in the weight files but the topology needs \[12, 3\]/)
    expect(e.where).toBe('layer preds')
  })

  it('names an unknown layer class', async () => {
    const bad = editJson(files, (j) => {
      const topo = j.modelTopology as { config: { layers: { class_name: string }[] } }
      topo.config.layers[1]!.class_name = 'FancyNorm'
    })
    const e = await failure(loadAnyModel(URL_, { fetchFn: fakeFetch(bad).fetchFn, cache: null }))
    expect(e.message).toMatch(/layer class FancyNorm/)
    expect(e.where).toBe('layer class FancyNorm')
  })

  it('explains a request that fails without an answer as CORS, naming the URL and the header', async () => {
    const fetchFn = async () => {
      throw new TypeError('Failed to fetch')
    }
    const e = await failure(loadAnyModel(URL_, { fetchFn, cache: null }))
    expect(e.message).toContain(URL_)
    expect(e.message).toMatch(/CORS/)
    expect(e.message).toMatch(/Access-Control-Allow-Origin/)
  })

  it('refuses a model over the memory budget before downloading any weights', async () => {
    const { fetchFn, requests } = fakeFetch(files)
    const e = await failure(loadAnyModel(URL_, { fetchFn, budgetBytes: 1000, cache: null }))
    expect(e.message).toMatch(/budget for one model on this device is 1\.00 kB/)
    expect(e.message).toMatch(/Nothing was downloaded/)
    expect(requests).toEqual([URL_])
  })

  it('says when the model does not fit the data', () => {
    const input = { kind: 'image' as const, shape: '[B, 16, 16, 3]', description: '16×16 RGB images' }
    expect(dataFitProblem({ title: 'tiny_cnn', input, hasTokenizer: false }, { name: 'spam.csv', task: 'text-classification' })).toMatch(/tiny_cnn reads 16×16 RGB images, but spam\.csv is a text dataset/)
    expect(dataFitProblem({ title: 'Tiny LM', input: { kind: 'text', shape: '[B, T]', description: 'tokens' }, hasTokenizer: true }, { name: 'spam.csv', task: 'text-classification' })).toBeNull()
  })
})
