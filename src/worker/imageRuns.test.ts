import 'fake-indexeddb/auto'
import * as tf from '@tensorflow/tfjs'
import { zipSync } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import { fakeDecoder, fakeImage } from '../engine/data/images/testDecoder'
import { reportHtml } from '../shared/report'
import { serializeTinyCnn } from '../engine/models/cnnFile'
import { TinyCnn } from '../engine/models/tinyCnn'
import { openStudioDb } from '../engine/storage/db'
import { getRun } from '../engine/storage/runs'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import type { FromWorker, ToWorker } from './protocol'

// Image runs (TinyCnn) go through the same recorder, checkpoints, restore, resume and export
// as text runs; this drives the whole worker handler in Node with a fake IndexedDB.

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const CFG = { imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 as const }, { channels: 8, stride: 2 as const }] }

async function modelFiles(seed: number): Promise<Map<string, BodyInit>> {
  const m = new TinyCnn(CFG, undefined, seed)
  const { json, weights } = await serializeTinyCnn(m, { title: `Toy CNN ${seed}` })
  m.dispose()
  return new Map<string, BodyInit>([
    [`http://app/models/cnn${seed}/model.json`, JSON.stringify(json)],
    [`http://app/models/cnn${seed}/weights.bin`, weights],
  ])
}

/** 8×8 images: a red block in the left half (class "left") or the right half ("right"). */
function sidesZip(perClass: number): File {
  const files: Record<string, Uint8Array> = {}
  for (let k = 0; k < perClass; k++) {
    for (const side of ['left', 'right'] as const) {
      const y0 = k % 6
      files[`set/${side}/${k}.png`] = fakeImage(8, 8, (i) => {
        const x = i % 8
        const y = Math.floor(i / 8)
        return y >= y0 && y < y0 + 2 && (side === 'left' ? x < 3 : x >= 5) ? [220, 30, 20, 255] : [0, 0, 0, 0]
      })
    }
  }
  return new File([zipSync(files) as BlobPart], 'sides.zip')
}

/** A left-block picture for the playground. */
function leftPicture(): Extract<ToWorker, { type: 'predict' }>['input'] {
  const rgba = new Uint8ClampedArray(16 * 16 * 4)
  for (let y = 4; y < 8; y++) for (let x = 0; x < 6; x++) rgba.set([220, 30, 20, 255], (y * 16 + x) * 4)
  return { kind: 'image', width: 16, height: 16, rgba, name: 'left.png' }
}

async function studio() {
  const files = new Map([...(await modelFiles(1)), ...(await modelFiles(2))])
  const fetchFn = (async (url: string | URL | Request) => {
    const body = files.get(String(url))
    return body === undefined ? new Response('nope', { status: 404 }) : new Response(body)
  }) as typeof fetch
  const events: FromWorker[] = []
  const handle = createHandler((e) => events.push(e), {}, fetchFn, fakeDecoder)
  const all = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type)
  const last = <T extends FromWorker['type']>(type: T) => all(type).at(-1)
  const loadCnn = (seed: number, id = 'toy-cnn') => handle({ type: 'loadModel', source: { kind: 'builtin', id, url: `http://app/models/cnn${seed}/model.json` } })
  let n = 0
  /** "after" class probabilities of the playground picture. */
  const after = async () => {
    const requestId = `p${n++}`
    await handle({ type: 'predict', requestId, input: leftPicture() })
    const p = all('prediction').find((e) => e.requestId === requestId && e.which === 'after')
    if (!p) throw new Error(`no prediction: ${JSON.stringify(last('playground') ?? last('error'))}`)
    return p.classes.map((c) => [c.name, c.prob] as const)
  }
  const checkpointsOf = (runId: string) => (last('checkpoints')?.items ?? []).filter((c) => c.runId === runId).sort((a, b) => a.epoch - b.epoch)
  await loadCnn(1)
  await handle({ type: 'loadImages', source: { kind: 'zip', file: sidesZip(12) } })
  return { handle, events, all, last, loadCnn, after, checkpointsOf }
}

const base: Settings = { ...DEFAULTS, backend: 'cpu', batchSize: 8, learningRate: 3e-2, warmupSteps: 1, valSplit: 0.25, dropout: 0, loraDropout: 0, keepLast: 10, keepBest: true, earlyStopPatience: 0 }

describe('image runs are recorded, checkpointed, restored, resumed and exported', () => {
  it('writes one checkpoint per epoch with the model and image dataset identity, and records the run', async () => {
    const st = await studio()
    const settings: Settings = { ...base, method: 'head', epochs: 3 }
    await st.handle({ type: 'train', runId: 'img-1', settings })
    expect(st.last('error')).toBeUndefined()
    expect(st.last('done')?.runId).toBe('img-1')
    const dataset = st.last('dataset')!.summary
    const cks = st.checkpointsOf('img-1')
    expect(cks.map((c) => c.epoch)).toEqual([1, 2, 3])
    const epochs = st.all('epoch').filter((e) => e.runId === 'img-1')
    for (const [i, c] of cks.entries()) {
      expect(c).toMatchObject({ modelId: 'toy-cnn', modelKind: 'image', datasetId: dataset.id, datasetName: 'sides.zip', classes: ['left', 'right'], method: 'head' })
      expect(c.settings).toEqual(settings)
      expect(c.val.loss).toBeCloseTo(epochs[i]!.val.loss, 6)
      expect(c.bytes).toBeGreaterThan(0)
    }
    expect(cks.filter((c) => c.isBest).length).toBeGreaterThan(0)
    const run = await getRun(await openStudioDb(), 'img-1')
    expect(run).toMatchObject({ status: 'finished', model: { id: 'toy-cnn', kind: 'image' }, dataset: { id: dataset.id, name: 'sides.zip' } })
    expect(run!.epochs.map((e) => e.epoch)).toEqual([1, 2, 3])
    expect(run!.steps.length).toBe(st.all('step').filter((e) => e.runId === 'img-1').length)
    await st.handle({ type: 'listRuns' })
    expect(st.last('runs')!.items.map((r) => r.id)).toContain('img-1')

    await expectRestore(st, cks[0]!)
  })

  it('resumes from a saved epoch with the losses of an uninterrupted run (LoRA: optimizer state matters)', async () => {
    const st = await studio()
    const settings: Settings = { ...base, method: 'lora', epochs: 4, loraRank: 2 }
    await st.handle({ type: 'train', runId: 'img-full', settings })
    expect(st.last('error')).toBeUndefined()
    const straight = st.all('epoch').filter((e) => e.runId === 'img-full')
    const stepsStraight = st.all('step').filter((e) => e.runId === 'img-full')
    expect(straight).toHaveLength(4)
    const at2 = st.checkpointsOf('img-full').find((c) => c.epoch === 2)!
    const before = st.events.length

    await st.handle({ type: 'resumeRun', checkpointId: at2.id, runId: at2.runId })
    expect(st.last('error')).toBeUndefined()
    const resumed = st.events.slice(before).filter((e): e is Extract<FromWorker, { type: 'epoch' }> => e.type === 'epoch')
    expect(resumed.map((e) => e.epoch)).toEqual([2, 3]) // 0-based: epochs 3 and 4
    resumed.forEach((e, i) => {
      expect(e.train.loss).toBeCloseTo(straight[2 + i]!.train.loss, 4)
      expect(e.val.loss).toBeCloseTo(straight[2 + i]!.val.loss, 4)
    })
    const steps = st.events.slice(before).filter((e): e is Extract<FromWorker, { type: 'step' }> => e.type === 'step')
    // The step count continues from the checkpoint to the same last step. Step events are
    // emitted per ~0.25 s window (mean loss of the window), so which steps appear depends on
    // timing: compare losses only where both runs closed the same window (same start and end).
    expect(steps.length).toBeGreaterThan(0)
    expect(steps.every((e) => e.step > at2.step)).toBe(true)
    expect(steps.at(-1)!.step).toBe(stepsStraight.at(-1)!.step)
    const windowOf = (list: { step: number }[], i: number) => `${i === 0 ? at2.step : list[i - 1]!.step}-${list[i]!.step}`
    const straightAfter = stepsStraight.filter((e) => e.step > at2.step)
    const straightWindows = new Map(straightAfter.map((e, i) => [windowOf(straightAfter, i), e.loss]))
    steps.forEach((e, i) => {
      const same = straightWindows.get(windowOf(steps, i))
      if (same !== undefined) expect(e.loss).toBeCloseTo(same, 4)
    })
    const series = st.events.slice(before).find((e) => e.type === 'runSeries')
    expect(series?.type === 'runSeries' && series.epochs.map((e) => e.epoch)).toEqual([1, 2])
    const run = await getRun(await openStudioDb(), 'img-full')
    expect(run!.epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4])
    expect(run!.status).toBe('finished')
  })

  it('refuses to restore or resume into another model, naming both', async () => {
    const st = await studio()
    await st.handle({ type: 'train', runId: 'img-r', settings: { ...base, method: 'head', epochs: 1 } })
    const ck = st.checkpointsOf('img-r')[0]!
    await st.loadCnn(2, 'other-cnn')
    await st.handle({ type: 'restoreCheckpoint', id: ck.id })
    expect(st.last('error')?.message).toMatch(/trained from image model toy-cnn, but image model other-cnn is loaded\. Load that model first/)
    await st.handle({ type: 'resumeRun', checkpointId: ck.id, runId: ck.runId })
    expect(st.last('error')?.message).toMatch(/toy-cnn.*other-cnn/)
  })

  for (const choice of ['merged', 'adapter', 'interpolated'] as const) {
    it(`exports a LoRA-tuned image model (${choice}) that imports back with the same class probabilities`, async () => {
      const st = await studio()
      await st.handle({ type: 'train', runId: `img-x-${choice}`, settings: { ...base, method: 'lora', epochs: 3, loraRank: 2 } })
      expect(st.last('error')).toBeUndefined()
      const alpha = choice === 'interpolated' ? 0.5 : 1
      if (choice === 'interpolated') await st.handle({ type: 'interpolate', alpha })
      const expected = await st.after()
      await st.handle({ type: 'export', choice, alpha, metrics: { base: null, tuned: st.last('done')!.summary.best } })
      expect(st.last('error')).toBeUndefined()
      const exported = st.last('exported')!
      expect(exported.fileName).toMatch(new RegExp(`^toy-cnn-sides-${choice === 'interpolated' ? 'alpha-0.5' : choice}\\.zip$`))
      const names = Object.keys((await import('fflate')).unzipSync(new Uint8Array(exported.bytes)))
      if (choice === 'adapter') expect(names.sort()).toEqual(['README.md', 'card.json', 'tuning.bin', 'tuning.json'])
      else expect(names.sort()).toEqual(['README.md', 'card.json', 'model.json', 'tuning.bin', 'tuning.json', 'weights.bin'])
      const json = JSON.parse(new TextDecoder().decode((await import('fflate')).unzipSync(new Uint8Array(exported.bytes))['tuning.json']!)) as { task: string; classes: string[] }
      expect(json).toMatchObject({ task: 'image-classification', classes: ['left', 'right'] })
      const readme = new TextDecoder().decode((await import('fflate')).unzipSync(new Uint8Array(exported.bytes))['README.md']!)
      expect(readme).toContain('sides.zip — image-classification')
      expect(readme).toContain("images at the model's input size")

      await st.loadCnn(1) // the base model again: the tuned weights are gone
      expect(await st.after().catch((e: Error) => e.message)).toMatch(/no prediction/)
      await st.handle({ type: 'loadModel', source: { kind: 'file', file: new File([exported.bytes], exported.fileName) } })
      expect(st.last('error')).toBeUndefined()
      const imported = st.last('imported')!
      expect(imported.choice).toBe(choice)
      expect(imported.metrics?.accuracy).toBeDefined()
      if (choice !== 'adapter') expect(st.last('model')!.summary).toMatchObject({ id: `file: ${exported.fileName}`, title: 'Toy CNN 1 fine-tuned on sides.zip', input: { kind: 'image' } })
      const got = await st.after()
      expect(got.map(([name]) => name)).toEqual(expected.map(([name]) => name))
      got.forEach(([, p], i) => expect(p).toBeCloseTo(expected[i]![1], 5))
    })
  }

  it('refuses an adapter-only image export on another base model', async () => {
    const st = await studio()
    await st.handle({ type: 'train', runId: 'img-a', settings: { ...base, method: 'head', epochs: 1 } })
    await st.handle({ type: 'export', choice: 'adapter', alpha: 1, metrics: { base: null, tuned: null } })
    const exported = st.last('exported')!
    await st.loadCnn(2, 'other-cnn')
    await st.handle({ type: 'loadModel', source: { kind: 'file', file: new File([exported.bytes], exported.fileName) } })
    expect(st.last('error')?.message).toMatch(/was made for "Toy CNN 1".*but the loaded base model is "Toy CNN 2".*Load the base model it was made for/)
  })

  it('reports an image run with its images and classes', () => {
    const html = reportHtml({
      title: 'Fine-tuning report: Toy CNN on sides.zip',
      date: '2026-11-23T00:00:00Z',
      link: null,
      baseModel: { id: 'toy-cnn', title: 'Toy CNN', params: 500 },
      dataset: { name: 'sides.zip', source: 'file: sides.zip', task: 'image-classification', rows: 24, rejected: 0, classes: [{ name: 'left', count: 12 }, { name: 'right', count: 12 }] },
      settings: base,
      outcome: { reason: 'finished', message: 'done', epochs: 1, bestEpoch: 0, seconds: 1 },
      metrics: { base: { loss: 0.7, accuracy: 0.5 }, tuned: { loss: 0.2, accuracy: 1 } },
      series: { steps: [{ step: 1, loss: 0.7 }], epochs: [{ epoch: 1, trainLoss: 0.5, valLoss: 0.2, valAcc: 100 }], sweep: [] },
    })
    expect(html).toContain('24 images kept')
    expect(html).toContain('<th scope="col">Images</th>')
    expect(html).toContain('100.0%')
  })
})

/** Restore puts that epoch's weights in use: its metrics come back, and the playground's
 *  "after" answers with them. */
async function expectRestore(st: Awaited<ReturnType<typeof studio>>, ck: { id: string; val: { loss: number } }) {
  const latest = await st.after()
  await st.handle({ type: 'restoreCheckpoint', id: ck.id })
  expect(st.last('error')).toBeUndefined()
  const restored = st.last('restored')!
  expect(restored.checkpoint.id).toBe(ck.id)
  expect(restored.metrics?.loss).toBeCloseTo(ck.val.loss, 5)
  const now = await st.after()
  expect(now.map(([n]) => n)).toEqual(['left', 'right'])
  expect(Math.abs(now[0]![1] - latest[0]![1])).toBeGreaterThan(1e-4) // epoch 1's head, not the last one
}
