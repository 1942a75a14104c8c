/**
 * Stop pressed while a run is starting (the page shows "Starting" and offers Stop): the worker
 * has no run of that id yet (its backend switching, its data encoding, DPO's reference
 * scoring, a checkpoint being read to continue its run), and the run must still stop as it
 * starts rather than train to its end while the page says "Stopping after this step".
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

describe('a Stop before the run has started', () => {
  it('stops the run as it starts: no training step, done with reason "stopped"', async () => {
    const events: FromWorker[] = []
    const handle = createHandler((e) => events.push(e), {}, publicFetch)
    const of = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type)
    await handle({ type: 'loadModel', source: { kind: 'builtin', id: 'tiny-lm', url: 'http://app/models/tiny-lm/model.json' } })
    await handle({ type: 'loadDataset', source: { kind: 'file', file: new File([await readFile(resolve(root, 'public/samples/spam-ham.csv'))], 'spam-ham.csv') } })
    expect(of('error')).toEqual([])
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'head', epochs: 2, batchSize: 16, seqLen: 32, earlyStopPatience: 0 }
    const run = handle({ type: 'train', runId: 'early-stop', settings: s })
    await handle({ type: 'stop', runId: 'early-stop' }) // the train above is still switching its backend
    await run
    expect(of('error')).toEqual([])
    expect(of('step').filter((e) => e.runId === 'early-stop')).toEqual([])
    expect(of('done').map((d) => [d.runId, d.reason])).toEqual([['early-stop', 'stopped']])

    // A Stop for a run that has already ended (pressed as it finished) is not kept for later:
    // resuming one of its checkpoints starts a run under the same id, which must train.
    await handle({ type: 'stop', runId: 'early-stop' })
    await handle({ type: 'train', runId: 'early-stop', settings: s })
    expect(of('error')).toEqual([])
    const trained = of('step').filter((e) => e.runId === 'early-stop').length
    expect(trained).toBeGreaterThan(0)
    expect(of('done').map((d) => [d.runId, d.reason])).toEqual([
      ['early-stop', 'stopped'],
      ['early-stop', 'finished'],
    ])

    // Continuing from its epoch 1 checkpoint (epoch 2 left to train), Stop pressed while the
    // checkpoint is read and its run prepared: the run stops as it starts, as a new run does.
    await handle({ type: 'listCheckpoints' })
    const epoch1 = of('checkpoints').at(-1)!.items.find((c) => c.runId === 'early-stop' && c.epoch === 1)!
    expect(epoch1).toBeDefined()
    const resumed = handle({ type: 'resumeRun', checkpointId: epoch1.id, runId: 'early-stop' })
    await handle({ type: 'stop', runId: 'early-stop' })
    await resumed
    expect(of('error')).toEqual([])
    expect(of('step').filter((e) => e.runId === 'early-stop').length).toBe(trained)
    expect(of('done').map((d) => [d.runId, d.reason])).toEqual([
      ['early-stop', 'stopped'],
      ['early-stop', 'finished'],
      ['early-stop', 'stopped'],
    ])
  }, 240_000)
})
