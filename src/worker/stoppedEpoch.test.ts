/**
 * A run stopped inside an epoch: the loop still measures that epoch (a point on the validation
 * chart) and its end message says where it stopped ("in epoch 2 of 3 (1 epoch trained in
 * full)"); the run's stored record, which the Runs list reads, marks that epoch partial, so the
 * list does not count it as trained. Through the whole handler, on the committed spam sample.
 */
import 'fake-indexeddb/auto'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import { publicFetch } from './publicFetch'
import type { FromWorker } from './protocol'

const root = resolve(__dirname, '../..')

beforeAll(async () => {
  await tf.setBackend('wasm')
})

describe('a run stopped inside an epoch', () => {
  it('its record marks that epoch partial, as its end message says; the epoch before it is not', async () => {
    const events: FromWorker[] = []
    let handle: ReturnType<typeof createHandler> | null = null
    let stopped = false
    handle = createHandler((e) => {
      events.push(e)
      // some steps of epoch 2 (0-based 1) have trained, not all: Stop, as the page's button sends
      // it (the loop waits while its step events go out, so it stops at the next step)
      if (e.type === 'step' && e.epoch === 1 && e.step < (2 * e.totalSteps) / e.epochs && !stopped) {
        stopped = true
        void handle!({ type: 'stop', runId: 'cut' })
      }
    }, {}, publicFetch)
    const of = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type)
    const csv = (await readFile(resolve(root, 'public/samples/spam-ham.csv'), 'utf8')).split('\n').slice(0, 201).join('\n')
    await handle({ type: 'loadModel', source: { kind: 'builtin', id: 'tiny-lm', url: 'http://app/models/tiny-lm/model.json' } })
    await handle({ type: 'loadDataset', source: { kind: 'file', file: new File([csv], 'spam-200.csv') } })
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'lora', epochs: 3, batchSize: 4, seqLen: 32, earlyStopPatience: 0, warmupSteps: 0 }
    await handle({ type: 'train', runId: 'cut', settings: s })
    expect(of('error')).toEqual([])
    expect(stopped, 'a step event came from inside epoch 2').toBe(true)
    const done = of('done').at(-1)!
    expect(done.reason).toBe('stopped')
    expect(done.message).toContain('in epoch 2 of 3 (1 epoch trained in full)')
    expect(of('epoch').map((e) => e.epoch)).toEqual([0, 1]) // the cut epoch was measured too

    await handle({ type: 'listRuns' })
    const run = of('runs').at(-1)!.items.find((r) => r.id === 'cut')!
    expect(run.status).toBe('stopped')
    expect(run.epochs.map((e) => [e.epoch, e.partial ?? false])).toEqual([
      [1, false],
      [2, true],
    ])
  }, 240_000)
})
