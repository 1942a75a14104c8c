/**
 * The worker's 'model' event says `loaded` when a load made the model the held one, and only
 * then: the page clears what belonged to the model before (an import's record, a restored
 * checkpoint's "in use") on it, and the worker posts the same event on every plan.
 */
import 'fake-indexeddb/auto'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import { createHandler } from './handler'
import { publicFetch } from './publicFetch'
import type { FromWorker } from './protocol'

beforeAll(async () => {
  await tf.setBackend('wasm')
})

describe("the 'model' event of a load, not of a plan", () => {
  it('a load says loaded, also the same model again under the same id; a plan and a load that failed do not', async () => {
    const events: FromWorker[] = []
    const handle = createHandler((e) => events.push(e), {}, publicFetch)
    const models = () => events.flatMap((e) => (e.type === 'model' ? [[e.summary.id, e.loaded ?? false] as const] : []))
    const url = 'http://app/models/tiny-lm/model.json'
    await handle({ type: 'loadModel', source: { kind: 'url', url } })
    await handle({ type: 'configure', settings: { ...DEFAULTS, backend: 'wasm' } })
    await handle({ type: 'loadModel', source: { kind: 'url', url: 'http://app/models/no-such-model/model.json' } })
    await handle({ type: 'loadModel', source: { kind: 'url', url } })
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1) // the missing model, said once
    expect(models()).toEqual([
      [url, true],
      [url, false], // the plan's
      [url, true], // the same URL again: its base weights are the held ones now
    ])
  })
})
