import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EngineClient } from '../worker/client'
import type { FromWorker, ModelSummary } from '../worker/protocol'
import { connectBridge } from './bridge'
import { useExport } from './exportState'
import { useStudio } from './store'

const model = (id: string) => ({ id, title: id }) as unknown as ModelSummary // the fields the page reads here

/** The bridge (state/bridge.ts) on a channel this test posts the worker's events into, as
 *  worker/client.ts delivers them. */
function channel() {
  let listener: ((e: FromWorker) => void) | null = null
  const client = { on: (l: (e: FromWorker) => void) => ((listener = l), () => void (listener = null)) } as unknown as EngineClient
  const off = connectBridge(client)
  return { post: (e: FromWorker) => listener!(e), off }
}

describe('the record of an import lasts while its model is the loaded one (exporting.imported)', () => {
  let worker: ReturnType<typeof channel>
  // a studio .zip with a measured fine-tuned head, as worker/exportCommands.ts posts it after installing its model
  const imported: FromWorker = { type: 'imported', fileName: 'spam-merged.zip', choice: 'merged', title: 'Tiny LM fine-tuned on spam.csv', metrics: { loss: 0.4, accuracy: 0.9 }, note: 'Measured on the validation split.' }
  beforeEach(() => {
    worker = channel()
    worker.post({ type: 'model', summary: model('file: spam-merged.zip'), loaded: true })
    worker.post(imported)
    expect(useExport.getState().imported?.fileName).toBe('spam-merged.zip')
  })
  afterEach(() => worker.off())

  it('stays through plans (they post the model again, not loaded), a load that failed, and other models asked for but not loaded yet', () => {
    worker.post({ type: 'model', summary: model('file: spam-merged.zip') })
    worker.post({ type: 'error', message: 'Could not fetch http://localhost/nope/model.json (HTTP 404).', where: 'model http://localhost/nope/model.json' })
    worker.post({ type: 'progress', task: 'model', done: 10, total: 100, label: 'Downloading the model' })
    expect(useExport.getState().imported?.fileName).toBe('spam-merged.zip')
  })

  it('goes once another model has loaded, also one under an id seen before (the built-in again)', () => {
    worker.post({ type: 'model', summary: model('tiny-lm'), loaded: true })
    expect(useExport.getState().imported).toBeNull()
    expect(useStudio.getState().model?.id).toBe('tiny-lm')
  })

  it('a .zip imported again: its model loads, then its record comes back', () => {
    worker.post({ type: 'model', summary: model('file: spam-merged.zip'), loaded: true })
    worker.post(imported)
    expect(useExport.getState().imported?.fileName).toBe('spam-merged.zip')
  })
})
