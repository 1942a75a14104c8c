import 'fake-indexeddb/auto'
import * as tf from '@tensorflow/tfjs'
import { zipSync } from 'fflate'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { fakeDecoder, fakeImage } from '../engine/data/images/testDecoder'
import { LayersBody } from '../engine/models/layersBody'
import { fakeFetch, modelFiles, tinyImageModel } from '../engine/models/testModels'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import { layersFitProblem, layersSummary } from '../engine/session/families/layers'
import type { FromWorker } from './protocol'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

afterEach(() => {
  vi.restoreAllMocks()
})

const URL = 'http://models.test/m/model.json'

/** 12×12 pictures on a light background with a 5×5 block: red (class "red") or blue ("blue"),
 *  at a random place; the model reads 16×16, so every picture is resized on the way in. */
function colourZip(perClass: number, seed = 3): Uint8Array {
  let s = seed
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648
  const files: Record<string, Uint8Array> = {}
  for (let k = 0; k < perClass; k++) {
    for (const colour of ['red', 'blue'] as const) {
      const x0 = Math.floor(rnd() * 7)
      const y0 = Math.floor(rnd() * 7)
      const shade = 200 + Math.floor(rnd() * 55)
      files[`set/${colour}/${k}.png`] = fakeImage(12, 12, (i) => {
        const x = i % 12
        const y = Math.floor(i / 12)
        if (x >= x0 && x < x0 + 5 && y >= y0 && y < y0 + 5) return colour === 'red' ? [shade, 20, 30, 255] : [20, 40, shade, 255]
        return [235, 235, 225, 255]
      })
    }
  }
  return zipSync(files)
}

/** The source model's weights by the LayersBody's names, read before anything trains. */
async function weightsOf(model: tf.LayersModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>()
  for (const w of model.trainableWeights) out.set(w.originalName.replace(/\//g, '.'), (await w.read().data()) as Float32Array)
  return out
}

const bitEqual = (a: Float32Array, b: Float32Array) => a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((v, i) => v === new Uint32Array(b.buffer, b.byteOffset, b.length)[i])

async function setUp() {
  const source = tinyImageModel(3) // 16×16 RGB → 3 blocks → 12 pooled features → dense softmax (3 classes)
  const original = await weightsOf(source)
  const { fetchFn } = fakeFetch(await modelFiles(source, 2))
  source.dispose()
  const events: FromWorker[] = []
  const handle = createHandler((e) => events.push(e), {}, fetchFn as typeof fetch, fakeDecoder)
  const last = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type).at(-1)
  await handle({ type: 'loadModel', source: { kind: 'url', url: URL } })
  expect(last('error')).toBeUndefined()
  return { handle, events, last, original }
}

const base: Settings = { ...DEFAULTS, backend: 'cpu', epochs: 8, batchSize: 8, learningRate: 5e-2, warmupSteps: 1, valSplit: 0.25, dropout: 0, seed: 5 }

describe('fine-tuning a loaded TensorFlow.js layers image model', () => {
  it('plans, trains head-only on cached features and the last block, evaluates, and tries an image before and after', async () => {
    const { handle, events, last, original } = await setUp()
    expect(last('model')!.summary.input).toMatchObject({ kind: 'image', shape: '[B, 16, 16, 3]' })

    // Before any run the playground shows the model's own 3 classes.
    const red = new Uint8ClampedArray(20 * 20 * 4)
    for (let i = 0; i < 400; i++) red.set((i % 20) > 5 && (i % 20) < 14 && i > 120 && i < 280 ? [230, 20, 30, 255] : [235, 235, 225, 255], i * 4)
    await handle({ type: 'predict', requestId: 'p0', input: { kind: 'image', width: 20, height: 20, rgba: red, name: 'red.png' } })
    expect(events.filter((e) => e.type === 'prediction' && e.requestId === 'p0').map((e) => (e as Extract<FromWorker, { type: 'prediction' }>).classes.length)).toEqual([3])

    await handle({ type: 'loadImages', source: { kind: 'zip', file: new File([colourZip(12) as BlobPart], 'colours.zip') } })
    expect(last('dataset')!.summary.task).toBe('image-classification')
    expect(last('error')).toBeUndefined()
    const bodyParams = [...original.values()].reduce((n, w) => n + w.length, 0) - (12 * 3 + 3) // less the original dense head

    // plan: head-only trains the new head alone; freezeFirst = 2 adds the last block (pw2).
    await handle({ type: 'configure', settings: { ...base, method: 'head' } })
    expect(last('plan')).toMatchObject({ problems: [], trainableParams: 12 * 2 + 2, totalParams: bodyParams + 12 * 2 + 2 })
    expect(last('model')!.summary.layers.filter((l) => l.trainable)).toEqual([])
    await handle({ type: 'configure', settings: { ...base, method: 'freeze', freezeFirst: 2 } })
    expect(last('plan')).toMatchObject({ problems: [], trainableParams: 8 * 12 + 12 + 12 * 2 + 2 })
    expect(last('model')!.summary.layers.filter((l) => l.trainable).map((l) => l.name)).toEqual(['pw2'])
    await handle({ type: 'configure', settings: { ...base, method: 'lora' } })
    expect(last('plan')!.problems.map((p) => p.message).join(' ')).toMatch(/LoRA cannot be added to a loaded TensorFlow\.js layers model/)

    // Head-only: the body runs once per image (pooled features cached), never again per epoch.
    const forward = vi.spyOn(LayersBody.prototype, 'forwardFrom')
    await handle({ type: 'train', runId: 'head', settings: { ...base, method: 'head' } })
    const head = last('done')!
    expect(head.runId).toBe('head')
    const rows = forward.mock.calls.reduce((n, [x]) => n + x.shape[0]!, 0)
    expect(rows).toBe(24) // 18 training + 6 validation images, over 8 epochs
    expect(head.summary.best.accuracy!).toBeGreaterThan(head.summary.baseline.accuracy!)
    expect(head.summary.best.accuracy!).toBeGreaterThanOrEqual(5 / 6)
    const body = forward.mock.contexts[0] as LayersBody
    for (const p of body.params) expect(bitEqual((await p.variable.data()) as Float32Array, original.get(p.name)!), p.name).toBe(true)
    forward.mockClear()

    await handle({ type: 'evaluate' })
    expect(last('evaluation')!.metrics.accuracy).toBeCloseTo(head.summary.best.accuracy!, 5)

    // Playground after the run: before = pretrained body + untrained head, after = tuned; both name the dataset's classes.
    await handle({ type: 'predict', requestId: 'p1', input: { kind: 'image', width: 20, height: 20, rgba: red, name: 'red.png' } })
    const preds = events.filter((e): e is Extract<FromWorker, { type: 'prediction' }> => e.type === 'prediction' && e.requestId === 'p1')
    expect(preds.map((p) => p.which)).toEqual(['before', 'after'])
    for (const p of preds) expect(p.classes.map((c) => c.name).sort()).toEqual(['blue', 'red'])
    const after = preds[1]!.classes
    expect(after.find((c) => c.name === 'red')!.prob).toBeGreaterThan(0.5)
    forward.mockClear()

    // Last block: blocks 0-1 stay bit-identical, block 2 changes; the cached prefix means
    // forwardFrom only ever starts at block 2.
    await handle({ type: 'train', runId: 'last', settings: { ...base, method: 'freeze', freezeFirst: 2 } })
    const lastBlock = last('done')!
    expect(lastBlock.runId).toBe('last')
    expect(lastBlock.summary.best.accuracy!).toBeGreaterThan(lastBlock.summary.baseline.accuracy!)
    expect(new Set(forward.mock.calls.map(([, from]) => from))).toEqual(new Set([2]))
    for (const p of body.params) {
      const same = bitEqual((await p.variable.data()) as Float32Array, original.get(p.name)!)
      expect(same, p.name).toBe(p.block < 2)
    }

    // A new head-only run starts again from the pretrained body.
    await handle({ type: 'train', runId: 'again', settings: { ...base, method: 'head', epochs: 1 } })
    for (const p of body.params) expect(bitEqual((await p.variable.data()) as Float32Array, original.get(p.name)!), p.name).toBe(true)
  })

  it('full fine-tuning runs the whole body every step, so head-only does far less work', async () => {
    const { handle, last } = await setUp()
    await handle({ type: 'loadImages', source: { kind: 'zip', file: new File([colourZip(12) as BlobPart], 'colours.zip') } })
    const forward = vi.spyOn(LayersBody.prototype, 'forwardFrom')
    await handle({ type: 'train', runId: 'full', settings: { ...base, method: 'full', epochs: 2, learningRate: 1e-2 } })
    expect(last('done')!.runId).toBe('full')
    const rows = forward.mock.calls.reduce((n, [x]) => n + x.shape[0]!, 0)
    expect(rows).toBeGreaterThanOrEqual(2 * 18 + 3 * 6) // every epoch's training images, the baseline and two validation passes
  })

  it('exports a fine-tuned layers model (last block and new head) that loads back with the same probabilities', async () => {
    const { handle, events, last } = await setUp()
    await handle({ type: 'loadImages', source: { kind: 'zip', file: new File([colourZip(12) as BlobPart], 'colours.zip') } })
    await handle({ type: 'train', runId: 'x', settings: { ...base, method: 'freeze', freezeFirst: 2, epochs: 4 } })
    expect(last('done')!.runId).toBe('x')
    const red = new Uint8ClampedArray(20 * 20 * 4)
    for (let i = 0; i < 400; i++) red.set(i % 20 > 5 && i % 20 < 14 && i > 120 && i < 280 ? [230, 20, 30, 255] : [235, 235, 225, 255], i * 4)
    const predict = async (requestId: string) => {
      await handle({ type: 'predict', requestId, input: { kind: 'image', width: 20, height: 20, rgba: red, name: 'red.png' } })
      return events.filter((e): e is Extract<FromWorker, { type: 'prediction' }> => e.type === 'prediction' && e.requestId === requestId)
    }
    const tuned = (await predict('a')).find((p) => p.which === 'after')!.classes
    await handle({ type: 'export', choice: 'adapter', alpha: 1, metrics: { base: null, tuned: null } })
    expect(last('error')!.message).toMatch(/export the merged model/)
    await handle({ type: 'export', choice: 'merged', alpha: 1, metrics: { base: null, tuned: last('done')!.summary.best } })
    const exported = last('exported')!
    expect(exported.fileName).toMatch(/-finetuned-tfjs\.zip$/)
    await handle({ type: 'loadModel', source: { kind: 'file', file: new File([exported.bytes], exported.fileName) } })
    expect(last('imported')!.fileName).toBe(exported.fileName)
    expect(last('model')!.summary.title).toMatch(/fine-tuned on colours\.zip$/) // the card's title, saved in model.json
    // The imported model's own outputs are the tuned head's classes, named as in the file.
    const own = (await predict('b')).find((p) => p.which === 'before')!.classes
    expect(own).toHaveLength(2)
    expect(own.map((c) => c.name).sort()).toEqual(tuned.map((c) => c.name).sort())
    own.forEach((c) => expect(c.prob).toBeCloseTo(tuned.find((t) => t.name === c.name)!.prob, 4))
  })

  it('says why a layers model cannot train on a dataset', () => {
    const square = new LayersBody(tinyImageModel(1, 16))
    const cur = { body: square, summary: layersSummary(square, URL, new Set()) }
    expect(layersFitProblem(cur, null)).toBeNull()
    expect(layersFitProblem(cur, { name: 'imgs', task: 'image-classification' } as never)).toBeNull()
    expect(layersFitProblem(cur, { name: 'spam.csv', task: 'text-classification' } as never)).toMatch(/spam\.csv is a text dataset/)
    expect(layersFitProblem(cur, { name: 'rows.csv', task: 'tabular-classification' } as never)).toMatch(/needs an image dataset.*rows\.csv/)
    square.dispose()
    const wide = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 12, 3], filters: 2, kernelSize: 3 }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2 })] })
    const body = new LayersBody(wide)
    expect(layersFitProblem({ body, summary: layersSummary(body, URL, new Set()) }, null)).toMatch(/reads 12×8 images.*square inputs only/)
    body.dispose()
    const free = new LayersBody(tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [null, null, 3] as unknown as number[], filters: 2, kernelSize: 3 }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2 })] }))
    expect(layersFitProblem({ body: free, summary: layersSummary(free, URL, new Set()) }, null)).toMatch(/accepts images of any size/)
    free.dispose()
  })

  it('feeds a greyscale model the mean of the RGB batches the studio decodes', async () => {
    const grey = new LayersBody(tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 1 }), tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2 })] }))
    const rgb = tf.tensor4d(Float32Array.from({ length: 48 }, (_, i) => (i * 37) % 256), [1, 4, 4, 3])
    const x = grey.embed(rgb)
    expect(x.shape).toEqual([1, 4, 4, 1])
    const want = tf.sub(tf.div(tf.mean(rgb, 3, true), 127.5), 1)
    expect(Array.from(await x.data())).toEqual(Array.from(await want.data()))
    expect(grey.pool(grey.forwardFrom(grey.prefix(rgb, 0), 0), null).shape).toEqual([1, 2])
    tf.dispose([rgb, x, want])
    grey.dispose()
  })
})
