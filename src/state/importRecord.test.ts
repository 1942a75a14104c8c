import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FromWorker } from '../worker/protocol'
import { bridgeChannel as channel, modelSummary as model } from './bridgeChannel.testing'
import { useExport } from './exportState'
import { useStudio } from './store'

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

describe('a finished run’s result, evaluation and α go once another model has loaded: they describe weights no longer loaded', () => {
  let worker: ReturnType<typeof channel>
  const val = { loss: 0.41, accuracy: 0.88 }
  beforeEach(() => {
    worker = channel()
    worker.post({ type: 'model', summary: model('tiny-lm'), loaded: true })
    useStudio.getState().startRun('run-1')
    worker.post({ type: 'baseline', runId: 'run-1', metrics: { loss: 0.69, accuracy: 0.5 }, note: 'before tuning', name: 'the base model' })
    worker.post({ type: 'state', runId: 'run-1', state: 'running' })
    worker.post({ type: 'epoch', runId: 'run-1', epoch: 0, train: { loss: 0.5 }, val, lr: 0.001, isBest: true })
    worker.post({ type: 'done', runId: 'run-1', reason: 'finished', summary: { epochs: 1, bestEpoch: 0, best: val, baseline: { loss: 0.69, accuracy: 0.5 }, baselineName: 'the base model', seconds: 3 }, message: 'Training complete — accuracy 88%.' })
    worker.post({ type: 'sweep', points: [{ alpha: 0, loss: 0.6 }, { alpha: 0.5, loss: 0.4 }, { alpha: 1, loss: 0.41 }], best: 0.5 })
    worker.post({ type: 'interpolation', alpha: 0.5, kept: 0.5, metrics: { loss: 0.4, accuracy: 0.9 } })
    expect(useStudio.getState().result).not.toBeNull()
  })
  afterEach(() => worker.off())

  it('a plan keeps them; a load clears the result, the line to beat, the fine-tuned metrics and the α state, and keeps the charts', () => {
    worker.post({ type: 'model', summary: model('tiny-lm') })
    expect(useStudio.getState().result?.message).toBe('Training complete — accuracy 88%.')
    expect(useExport.getState().best).toBe(0.5)
    worker.post({ type: 'model', summary: model('http://app/models/tiny-lm/model.json'), loaded: true })
    const st = useStudio.getState()
    expect([st.result, st.baseline, st.lastVal]).toEqual([null, null, null])
    expect(st.status).toBe('done') // the run did end; the bar says what is next (Ready: click Train.)
    expect(st.epochs).toHaveLength(1)
    const ex = useExport.getState()
    expect({ alpha: ex.alpha, applied: ex.applied, kept: ex.kept, sweep: ex.sweep, best: ex.best }).toEqual({ alpha: 1, applied: null, kept: 1, sweep: [], best: null })
  })

  it('an adapter-only import that set the weights back to the base (weightsReset, no run) clears them too, also if the import then fails', () => {
    worker.post({ type: 'weightsReset' })
    worker.post({ type: 'error', message: 'spam-adapter.zip holds fine-tuned weights for image-classification, which do not apply to the loaded text model "Tiny LM".', where: 'import' })
    expect(useStudio.getState().result).toBeNull()
    expect(useExport.getState().best).toBeNull()
  })
})

describe('a run sets the weights back to the base: an import’s record goes with the imported weights, also if the run then fails to start', () => {
  let worker: ReturnType<typeof channel>
  beforeEach(() => {
    worker = channel()
    worker.post({ type: 'model', summary: model('tiny-lm'), loaded: true })
    // an adapter-only .zip applied to the loaded base model (worker/exportCommands.ts posts it after weightsReset)
    worker.post({ type: 'weightsReset' })
    worker.post({ type: 'imported', fileName: 'spam-adapter.zip', choice: 'adapter', title: 'Tiny LM fine-tuned on spam.csv', metrics: { loss: 0.4, accuracy: 0.9 }, note: 'Measured on the validation split.' })
    expect(useExport.getState().imported?.fileName).toBe('spam-adapter.zip')
  })
  afterEach(() => worker.off())

  it('a run refused before it touched the weights keeps the record (the adapter is still applied)', () => {
    useStudio.setState({ runId: null, status: 'idle' })
    useStudio.getState().startRun('run-refused')
    worker.post({ type: 'error', runId: 'run-refused', message: 'Batch size must be at most 8 for this dataset.', where: 'settings: batchSize' })
    expect({ status: useStudio.getState().status, runId: useStudio.getState().runId }).toEqual({ status: 'idle', runId: null })
    expect(useExport.getState().imported?.fileName).toBe('spam-adapter.zip')
  })

  it('a run that reset the weights and then failed to start: the worker holds the base model alone, so the record (and the Export it opened) goes', () => {
    useStudio.getState().startRun('run-2')
    worker.post({ type: 'weightsReset', runId: 'run-2' })
    worker.post({ type: 'error', runId: 'run-2', message: "This checkpoint's head (GPT2ForSequenceClassification) predicts one label, and the dataset has several label columns.", where: 'train' })
    expect(useStudio.getState().status).toBe('idle')
    expect(useExport.getState().imported).toBeNull()
  })

  it('another run’s weightsReset (not this page’s) changes nothing', () => {
    worker.post({ type: 'weightsReset', runId: 'run-elsewhere' })
    expect(useExport.getState().imported?.fileName).toBe('spam-adapter.zip')
  })
})
