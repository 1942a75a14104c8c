import 'fake-indexeddb/auto'
import * as tf from '@tensorflow/tfjs'
import { zipSync } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import { fakeDecoder, fakeImage } from '../engine/data/images/testDecoder'
import { serializeTinyCnn } from '../engine/models/cnnFile'
import { TinyCnn } from '../engine/models/tinyCnn'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import { describeCnnLayers } from '../engine/session/families/image'
import type { FromWorker } from './protocol'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const CFG = { imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 as const }, { channels: 8, stride: 2 as const }] }

async function modelFiles(): Promise<Map<string, BodyInit>> {
  const m = new TinyCnn(CFG, undefined, 2)
  const { json, weights } = await serializeTinyCnn(m, { title: 'Toy CNN' })
  m.dispose()
  return new Map<string, BodyInit>([
    ['http://app/models/cnn/model.json', JSON.stringify(json)],
    ['http://app/models/cnn/weights.bin', weights],
  ])
}

/** 8×8 images: a red block in the left half (class "left") or the right half ("right"). */
function zipOfClasses(perClass: number): Uint8Array {
  const files: Record<string, Uint8Array> = {}
  for (let k = 0; k < perClass; k++) {
    for (const side of ['left', 'right'] as const) {
      const y0 = k % 6
      files[`set/${side}/${k}.png`] = fakeImage(8, 8, (i) => {
        const x = i % 8
        const y = Math.floor(i / 8)
        const inBlock = y >= y0 && y < y0 + 2 && (side === 'left' ? x < 3 : x >= 5)
        return inBlock ? [220, 30, 20, 255] : [0, 0, 0, 0]
      })
    }
  }
  return zipSync(files)
}

describe('handler with an image model', () => {
  it('loads a studio-tinycnn builtin by format, then fine-tunes it on an image set', async () => {
    const files = await modelFiles()
    const fetchFn = (async (url: string | URL | Request) => {
      const body = files.get(String(url))
      return body === undefined ? new Response('nope', { status: 404 }) : new Response(body)
    }) as typeof fetch
    const events: FromWorker[] = []
    const handle = createHandler((e) => events.push(e), {}, fetchFn, fakeDecoder)
    const last = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type).at(-1)

    await handle({ type: 'loadModel', source: { kind: 'builtin', id: 'toy-cnn', url: 'http://app/models/cnn/model.json' } })
    expect(last('error')).toBeUndefined()
    const model = last('model')!.summary
    expect(model.id).toBe('toy-cnn')
    expect(model.input).toMatchObject({ kind: 'image', shape: '[B, 8, 8, 3]' })
    expect(model.layers.map((l) => l.name)).toContain('b1.pw')

    const settings: Settings = { ...DEFAULTS, backend: 'cpu', method: 'head', epochs: 6, batchSize: 8, learningRate: 3e-2, warmupSteps: 1, valSplit: 0.25, dropout: 0 }
    await handle({ type: 'train', runId: 'r0', settings })
    expect(last('error')?.message).toMatch(/load an image dataset/)

    await handle({ type: 'loadImages', source: { kind: 'zip', file: new File([zipOfClasses(12) as BlobPart], 'sides.zip') } })
    expect(last('dataset')!.summary.task).toBe('image-classification')
    await handle({ type: 'configure', settings })
    expect(last('plan')!.problems).toEqual([])
    expect(last('plan')!.trainableParams).toBe(8 * 2 + 2) // the head alone

    await handle({ type: 'train', runId: 'r1', settings })
    const done = last('done')!
    expect(done.runId).toBe('r1')
    expect(done.summary.best.accuracy!).toBeGreaterThan(done.summary.baseline.accuracy!)
    await handle({ type: 'evaluate' })
    expect(last('evaluation')!.metrics.accuracy).toBeGreaterThan(0.5)

    // Playground: a left-block picture, before (untrained head) and after fine-tuning.
    const rgba = new Uint8ClampedArray(16 * 16 * 4)
    for (let y = 4; y < 8; y++) for (let x = 0; x < 6; x++) rgba.set([220, 30, 20, 255], (y * 16 + x) * 4)
    await handle({ type: 'predict', requestId: 'p1', input: { kind: 'image', width: 16, height: 16, rgba, name: 'left.png' } })
    const preds = events.filter((e): e is Extract<FromWorker, { type: 'prediction' }> => e.type === 'prediction' && e.requestId === 'p1')
    expect(preds.map((p) => p.which)).toEqual(['before', 'after'])
    for (const p of preds) expect(p.classes.reduce((a, c) => a + c.prob, 0)).toBeCloseTo(1, 4)
    expect(preds[1]!.classes.map((c) => c.name).sort()).toEqual(['left', 'right'])
  })

  it('describes each layer with its output shape and whether it trains', () => {
    const m = new TinyCnn(CFG)
    const rows = describeCnnLayers(m, new Set([1, 2]))
    expect(rows.find((r) => r.name === 'stem.conv')).toMatchObject({ outputShape: '[B, 4, 4, 4]', trainable: false, params: 27 * 4 + 4 })
    expect(rows.find((r) => r.name === 'b1.dw')).toMatchObject({ outputShape: '[B, 2, 2, 8]', trainable: true })
    expect(rows.find((r) => r.name === 'lnf')).toMatchObject({ outputShape: '[B, 8] after pooling', trainable: true })
    expect(rows.reduce((n, r) => n + r.params, 0)).toBe(m.parameterCount())
    m.dispose()
  })
})
