import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FromWorker } from '../worker/protocol'
import { bridgeChannel as channel, modelSummary as model } from './bridgeChannel.testing'
import { startRequest, usePlayground } from './playground'
import { useStudio } from './store'

describe('the playground’s answers go once other weights are in the session: they were the old weights’', () => {
  let worker: ReturnType<typeof channel>
  const answered = () => usePlayground.getState().sides.after.classes?.map((c) => c.name) ?? null
  beforeEach(() => {
    worker = channel()
    useStudio.setState({ model: model('tiny-lm'), runId: null, status: 'done' })
    startRequest('req-1')
    worker.post({ type: 'prediction', requestId: 'req-1', which: 'before', classes: [{ name: 'ham', prob: 0.6 }, { name: 'spam', prob: 0.4 }], note: 'the pretrained model' })
    worker.post({ type: 'prediction', requestId: 'req-1', which: 'after', classes: [{ name: 'spam', prob: 0.9 }, { name: 'ham', prob: 0.1 }], note: 'after fine-tuning' })
    expect(answered()).toEqual(['spam', 'ham'])
  })
  afterEach(() => worker.off())

  it('stay through what leaves the weights: a plan (the model posted again, not loaded), a loaded head measured again on another dataset, a failed load', () => {
    worker.post({ type: 'model', summary: model('tiny-lm') })
    worker.post({ type: 'imported', fileName: 'a/model', choice: 'merged', title: 'a/model', metrics: { loss: 0.4, accuracy: 0.9 }, note: 'Measured on the validation split of mail.csv.' })
    worker.post({ type: 'error', message: 'Could not fetch http://localhost/nope/model.json (HTTP 404).', where: 'model http://localhost/nope/model.json' })
    expect(answered()).toEqual(['spam', 'ham'])
  })

  it('go once another model has loaded', () => {
    worker.post({ type: 'model', summary: model('https://example.org/tiny-lm/model.json'), loaded: true })
    expect(usePlayground.getState().sides).toEqual({ before: expect.objectContaining({ classes: null, text: null }), after: expect.objectContaining({ classes: null, text: null }) })
  })

  it('go once a checkpoint is restored', () => {
    worker.post({ type: 'restored', checkpoint: { id: 'ckpt-1', name: 'Epoch 1', epoch: 1 }, metrics: { loss: 0.5, accuracy: 0.8 }, baseline: null, baselineNote: '' } as unknown as FromWorker)
    expect(answered()).toBeNull()
  })

  it('a request still waiting when other weights come is answered: the worker answers it after them (a fresh worker re-loads the model first)', () => {
    startRequest('req-2')
    worker.post({ type: 'model', summary: model('tiny-lm'), loaded: true })
    expect(usePlayground.getState().pending).toBe(true)
    worker.post({ type: 'prediction', requestId: 'req-2', which: 'after', classes: [{ name: 'ham', prob: 0.7 }, { name: 'spam', prob: 0.3 }], note: 'after fine-tuning' })
    expect(answered()).toEqual(['ham', 'spam'])
    expect(usePlayground.getState().pending).toBe(false)
  })

  it('go once the weights are set back to the base (a run, an adapter’s import or load)', () => {
    worker.post({ type: 'weightsReset' })
    expect(answered()).toBeNull()
  })
})
