/**
 * The learning-rate preview's step count is the run's: the worker's plan says what one
 * epoch steps over, the page counts steps from it with settings/runSteps.ts, and the loop
 * reports its own total in every step event. Checked through the whole handler on the
 * committed samples: text classification, language modelling on the Moby-Dick excerpt
 * (token windows, not rows: the preview once said 20 steps for a run of 152) and a
 * classification set with a separate validation file (nothing held out of the training rows).
 */
import 'fake-indexeddb/auto'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import { runSteps } from '../settings/runSteps'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import { publicFetch } from './publicFetch'
import type { FromWorker } from './protocol'

const root = resolve(__dirname, '../..')

beforeAll(async () => {
  await tf.setBackend('wasm')
})

/** Plans `settings` on `files`, then starts the run and stops it at its first step event:
 *  the preview's count (from the plan) and the loop's (from the step event). */
async function counts(files: { data: File; validation?: File }, settings: Settings) {
  const events: FromWorker[] = []
  let handle: ReturnType<typeof createHandler> | null = null
  let stopped = false
  handle = createHandler((e) => {
    events.push(e)
    if (e.type === 'step' && !stopped) {
      stopped = true
      void handle!({ type: 'stop', runId: 'r' })
    }
  }, {}, publicFetch)
  const last = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type).at(-1)
  await handle({ type: 'loadModel', source: { kind: 'builtin', id: 'tiny-lm', url: 'http://app/models/tiny-lm/model.json' } })
  await handle({ type: 'loadDataset', source: { kind: 'file', file: files.data } })
  if (files.validation) await handle({ type: 'loadValidation', file: files.validation })
  await handle({ type: 'configure', settings })
  expect(last('error')).toBeUndefined()
  const plan = last('plan')!
  expect(plan.trainExamples).toBeGreaterThan(0)
  const preview = runSteps(plan.trainExamples!, settings).totalSteps
  await handle({ type: 'train', runId: 'r', settings })
  expect(last('error')).toBeUndefined()
  const step = events.find((e): e is Extract<FromWorker, { type: 'step' }> => e.type === 'step')!
  const rows = last('dataset')!.summary.rows
  return { preview, loop: step.totalSteps, rows, trainExamples: plan.trainExamples! }
}

const sample = async (name: string) => new File([await readFile(resolve(root, 'public/samples', name))], name)
const base: Settings = { ...DEFAULTS, backend: 'wasm', epochs: 2, earlyStopPatience: 0 }

describe('the learning-rate preview counts the steps the run takes', () => {
  it('text classification (spam/ham)', async () => {
    const s = { ...base, method: 'head' as const, batchSize: 16, accumSteps: 3 }
    const c = await counts({ data: await sample('spam-ham.csv') }, s)
    expect(c.preview).toBe(c.loop)
    expect(c.trainExamples).toBe(c.rows - Math.round(c.rows * s.valSplit))
  }, 120_000)

  it('language modelling on the Moby-Dick excerpt: token windows, not rows', async () => {
    const s = { ...base, method: 'lora' as const, seqLen: 64, batchSize: 16 }
    const c = await counts({ data: await sample('moby-dick-excerpt.txt') }, s)
    expect(c.preview).toBe(c.loop)
    // The old preview counted rows (paragraphs or chapters): far fewer steps than the run.
    const old = Math.ceil(Math.ceil((c.rows - Math.round(c.rows * s.valSplit)) / s.batchSize) / s.accumSteps) * s.epochs
    expect(old).not.toBe(c.loop)
    // About 139,500 characters at a few characters a token: hundreds of 64-token windows.
    expect(c.trainExamples).toBeGreaterThan(200)
  }, 180_000)

  it('a separate validation file leaves every row for training', async () => {
    const rows = (n: number, off: number) => ['text,label', ...Array.from({ length: n }, (_, i) => `"message number ${i + off} about ${i % 2 ? 'boats' : 'whales'}",${i % 2 ? 'boat' : 'whale'}`)].join('\n')
    const s = { ...base, method: 'head' as const, batchSize: 8, valSplit: 0.25 }
    const c = await counts({ data: new File([rows(40, 0)], 'train.csv'), validation: new File([rows(12, 100)], 'val.csv') }, s)
    expect(c.trainExamples).toBe(40) // not 40 − 10
    expect(c.preview).toBe(c.loop)
    expect(c.loop).toBe(Math.ceil(40 / 8) * 2)
  }, 120_000)
})
