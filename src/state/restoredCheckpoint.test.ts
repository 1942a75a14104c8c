import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FromWorker } from '../worker/protocol'
import { bridgeChannel as channel, modelSummary as model } from './bridgeChannel.testing'
import { runDeleteWaits, useCheckpoints } from './checkpoints'
import { useStudio } from './store'
import { useHf } from './hfModels'
import type { HfLoadInFlight } from './parts'
import { onLmEvent } from './lmObjectives'
import { DEFAULTS } from '../settings/schema'

describe('Delete of a training run and its checkpoints waits (state/checkpoints.ts runDeleteWaits)', () => {
  it('waits, saying why and until when, for the run that trains, from its start until it has ended', () => {
    for (const status of ['starting', 'running', 'paused', 'stopping'] as const) {
      expect(runDeleteWaits('run-b', 'checkpoint', { runId: 'run-b', status }), status).toBe('Its run is training: delete it once the run has stopped or finished.')
      expect(runDeleteWaits('run-b', 'run', { runId: 'run-b', status }), status).toBe('This run is training: delete it once it has stopped or finished.')
    }
  })

  it('does not wait for other runs, nor once the run has ended', () => {
    expect(runDeleteWaits('run-a', 'checkpoint', { runId: 'run-b', status: 'paused' })).toBeNull()
    expect(runDeleteWaits('run-a', 'run', { runId: 'run-b', status: 'running' })).toBeNull()
    expect(runDeleteWaits('run-b', 'checkpoint', { runId: 'run-b', status: 'done' })).toBeNull()
    expect(runDeleteWaits('run-b', 'run', { runId: null, status: 'idle' })).toBeNull()
  })
})

describe('the restored checkpoint is "in use" only while the session holds its weights', () => {
  beforeEach(() => {
    useStudio.setState({ model: model('tiny-lm'), runId: null, status: 'idle' })
    useCheckpoints.setState({ restoredId: 'ckpt-2' })
  })

  it('stays in use through settings, the same model summarised again, and a run that never started training (refused)', () => {
    useStudio.setState((st) => ({ settings: { ...st.settings, epochs: st.settings.epochs + 1 } }))
    useStudio.setState({ model: model('tiny-lm') })
    useStudio.getState().startRun('run-refused')
    useStudio.setState({ status: 'idle', runId: null })
    expect(useCheckpoints.getState().restoredId).toBe('ckpt-2')
  })

  it('is no longer in use once a run trains (from the base weights) or another model is loaded', () => {
    useStudio.getState().startRun('run-next')
    useStudio.setState({ status: 'running' }) // the worker's state event: the run has reset the weights
    expect(useCheckpoints.getState().restoredId).toBeNull()

    useStudio.setState({ status: 'done', runId: null })
    useCheckpoints.setState({ restoredId: 'ckpt-2' })
    useStudio.setState({ model: model('emoji-cnn') })
    expect(useCheckpoints.getState().restoredId).toBeNull()
  })
})

describe('a Hugging Face load the person asked for replaces the restored weights', () => {
  // A Hub load in flight as actions.ts sendHf records it (the store's hf.loads).
  const hubLoad = (loadId: number, keeps: boolean): HfLoadInFlight => ({ load: { type: 'hfLoad', loadId, source: { kind: 'hub', ref: { repo: 'a/model', revision: 'main' } } }, keeps })
  let worker: ReturnType<typeof channel>
  // the worker's events, in the order worker/hfModelHost.ts posts them, through the bridge
  const post = (...events: FromWorker[]) => events.forEach((e) => worker.post(e))
  beforeEach(() => {
    worker = channel()
    useStudio.setState({ model: model('hf:a/model'), runId: null, status: 'idle' })
    useCheckpoints.setState({ restoredId: 'ckpt-2' })
  })
  afterEach(() => {
    worker.off()
    useHf.setState({ loads: [] })
  })

  it('the same repo loaded again: its base weights are in use, not the checkpoint (the model id does not change)', () => {
    useHf.setState({ loads: [hubLoad(4, true)] })
    post({ type: 'model', summary: model('hf:a/model'), loaded: true }, { type: 'hfLoaded', loadId: 4, loaded: 'model' })
    expect(useCheckpoints.getState().restoredId).toBeNull()
  })

  it('a PEFT adapter loaded onto the model: its weights are in use, not the checkpoint', () => {
    useHf.setState({ loads: [hubLoad(5, true)] })
    post({ type: 'imported', fileName: 'adapter_model.safetensors', choice: 'adapter', title: 'a/model + PEFT adapter (r = 8, 24 layers)', metrics: null, note: 'LoRA on c_attn' }, { type: 'hfLoaded', loadId: 5, loaded: 'adapter' })
    expect(useCheckpoints.getState().restoredId).toBeNull()
  })

  it('a load that failed leaves the restored weights in use', () => {
    useHf.setState({ loads: [hubLoad(6, true)] })
    post({ type: 'error', loadId: 6, message: 'Could not download model.safetensors from a/model (HTTP 503).', where: 'model.safetensors' })
    expect(useCheckpoints.getState().restoredId).toBe('ckpt-2')
  })
})

describe('kept self-training rounds restored replace the restored checkpoint\'s weights', () => {
  it('the checkpoint is no longer in use once the rounds\' weights are (pseudoRestored)', () => {
    useStudio.setState({ model: model('tiny-lm'), runId: null, status: 'idle' })
    useCheckpoints.setState({ restoredId: 'ckpt-2' })
    // the event as the worker posts it once the round's weights are in (pseudoLabelHost.ts restore)
    onLmEvent({ type: 'pseudoRestored', id: 'job-1', summary: {} as never, rounds: [], charts: { steps: [], epochs: [], baseline: null }, threshold: 0.9, balance: false, roundsPlanned: 2, next: null, settings: DEFAULTS, message: '' })
    expect(useCheckpoints.getState().restoredId).toBeNull()
  })

  it('what described the weights before goes, as on a checkpoint restore: an import’s record, the α, sweep, best and kept α', () => {
    useStudio.setState({ model: model('tiny-lm'), runId: null, status: 'done' })
    // an adapter imported onto the model, a sweep over it and its best α kept (the worker's events, as the bridge stores them)
    useStudio.setState((st) => ({ exporting: { ...st.exporting, imported: { fileName: 'spam-adapter.zip', choice: 'adapter', title: 'Tiny LM fine-tuned on spam.csv', metrics: { loss: 0.45, accuracy: 0.85 }, note: '' }, sweep: [{ alpha: 0, loss: 0.6 }, { alpha: 0.4, loss: 0.4 }, { alpha: 1, loss: 0.45 }], best: 0.4, alpha: 0.4, kept: 0.4, applied: { alpha: 0.4, metrics: { loss: 0.4, accuracy: 0.9 } } } }))
    onLmEvent({ type: 'pseudoRestored', id: 'job-1', summary: {} as never, rounds: [], charts: { steps: [], epochs: [], baseline: null }, threshold: 0.9, balance: false, roundsPlanned: 2, next: null, settings: DEFAULTS, message: '' })
    const ex = useStudio.getState().exporting
    expect({ imported: ex.imported, sweep: ex.sweep, best: ex.best, applied: ex.applied, kept: ex.kept, alpha: ex.alpha, restored: ex.restored }).toEqual({ imported: null, sweep: [], best: null, applied: null, kept: 1, alpha: 1, restored: false })
  })
})

describe('the worker says when other weights replace the restored checkpoint’s (state/checkpoints.ts replacesRestored)', () => {
  let worker: ReturnType<typeof channel>
  // the bridge (state/bridge.ts) on a channel this test posts the worker's events into
  const post = (e: FromWorker) => worker.post(e)
  beforeEach(() => {
    worker = channel()
    useStudio.setState({ model: model('https://example.org/tiny-lm/model.json'), runId: null, status: 'idle' })
    useCheckpoints.setState({ restoredId: 'ckpt-2' })
  })
  afterEach(() => worker.off())

  it('the same model loaded again (the same URL or model files: the same id), a .zip’s weights imported: no longer in use', () => {
    post({ type: 'model', summary: model('https://example.org/tiny-lm/model.json'), loaded: true })
    expect(useCheckpoints.getState().restoredId).toBeNull()
    useCheckpoints.setState({ restoredId: 'ckpt-2' })
    post({ type: 'imported', fileName: 'spam-adapter.zip', choice: 'adapter', title: 'Tiny LM fine-tuned on spam.csv', metrics: null, note: '' })
    expect(useCheckpoints.getState().restoredId).toBeNull()
  })

  it('a run that set the weights back to the base and then failed to start: no longer in use', () => {
    useStudio.getState().startRun('run-3')
    post({ type: 'weightsReset', runId: 'run-3' })
    post({ type: 'error', runId: 'run-3', message: "This checkpoint's head (GPT2ForSequenceClassification) predicts one label, and the dataset has several label columns.", where: 'train' })
    expect(useStudio.getState().status).toBe('idle')
    expect(useCheckpoints.getState().restoredId).toBeNull()
  })

  it('an α other than 1 applied (the slider, or kept): no longer in use; α = 1, the checkpoint’s own weights, and plans leave it in use', () => {
    post({ type: 'interpolation', alpha: 1, kept: 1, metrics: { loss: 0.3, accuracy: 0.9 } })
    post({ type: 'model', summary: model('https://example.org/tiny-lm/model.json') }) // a plan's
    expect(useCheckpoints.getState().restoredId).toBe('ckpt-2')
    post({ type: 'interpolation', alpha: 0.7, kept: 0.7, metrics: { loss: 0.35, accuracy: 0.85 } })
    expect(useCheckpoints.getState().restoredId).toBeNull()
  })
})

describe('a restore puts other weights in: what described the weights before goes (state/checkpoints.ts, the restored event)', () => {
  let worker: ReturnType<typeof channel>
  const post = (e: FromWorker) => worker.post(e)
  const restored = { type: 'restored', checkpoint: { id: 'ckpt-1', name: 'Epoch 1', epoch: 1 }, metrics: { loss: 0.5, accuracy: 0.8 }, baseline: { loss: 0.69, accuracy: 0.5 }, baselineNote: 'the base model' } as unknown as FromWorker
  beforeEach(() => {
    worker = channel()
    useStudio.setState({ model: model('tiny-lm'), runId: null, status: 'done' })
    useCheckpoints.setState({ restoredId: null })
    // an adapter imported onto the run's weights, then a sweep over it and its best α kept
    post({ type: 'imported', fileName: 'spam-adapter.zip', choice: 'adapter', title: 'Tiny LM fine-tuned on spam.csv', metrics: { loss: 0.45, accuracy: 0.85 }, note: '' })
    post({ type: 'sweep', points: [{ alpha: 0, loss: 0.6 }, { alpha: 0.4, loss: 0.4 }, { alpha: 1, loss: 0.45 }], best: 0.4 })
    post({ type: 'interpolation', alpha: 0.4, kept: 0.4, metrics: { loss: 0.4, accuracy: 0.9 } })
  })
  afterEach(() => worker.off())

  it('the import’s record, the sweep, best, applied and kept α go; the restored weights are offered to Export and the interpolation, also once another α is applied', () => {
    post(restored)
    const ex = useStudio.getState().exporting
    expect({ imported: ex.imported, sweep: ex.sweep, best: ex.best, applied: ex.applied, kept: ex.kept, alpha: ex.alpha, restored: ex.restored }).toEqual({ imported: null, sweep: [], best: null, applied: null, kept: 1, alpha: 1, restored: true })
    post({ type: 'interpolation', alpha: 0.6, kept: 1, metrics: { loss: 0.48, accuracy: 0.82 } })
    expect(useCheckpoints.getState().restoredId).toBeNull() // θ(0.6) is not the checkpoint's weights
    expect(useStudio.getState().exporting.restored).toBe(true) // but it is theirs to blend and export
  })

  it('a run the worker refused before it set the weights back to the base (no weightsReset) changes nothing: still in use, offered to Export and the blend, with its evaluation and line to beat', () => {
    post(restored)
    // refused as worker/runEvents.ts refuseSettings posts it, before the session resets the weights
    useStudio.getState().startRun('run-refused')
    post({ type: 'error', runId: 'run-refused', message: 'Batch size must be at most 8 for this dataset.', where: 'settings: batchSize' })
    expect(useStudio.getState().status).toBe('done') // as before it (beforeEach): runStart.ts runRefused
    expect(useCheckpoints.getState().restoredId).toBe('ckpt-1')
    const st = useStudio.getState()
    expect({ restored: st.exporting.restored, lastVal: st.lastVal, baseline: st.baseline?.metrics }).toEqual({ restored: true, lastVal: { loss: 0.5, accuracy: 0.8 }, baseline: { loss: 0.69, accuracy: 0.5 } })

    // another α applied to them, then a "Continue training" refused (worker/handler.ts: no run id, where 'resumeRun')
    post({ type: 'interpolation', alpha: 0.6, kept: 0.6, metrics: { loss: 0.48, accuracy: 0.82 } })
    useStudio.getState().startRun('run-1')
    post({ type: 'error', message: 'Checkpoint "Epoch 1" was trained from model tiny-lm, but model https://example.org/tiny-lm/model.json is loaded. Load that model first.', where: 'resumeRun' })
    expect(useStudio.getState().status).toBe('done')
    const ex = useStudio.getState().exporting
    expect({ restored: ex.restored, applied: ex.applied, kept: ex.kept }).toEqual({ restored: true, applied: { alpha: 0.6, metrics: { loss: 0.48, accuracy: 0.82 } }, kept: 0.6 })
  })

  it('a resumed run ("Continue training") shows the line to beat its stored series brought (it comes before the reset: held until it), or none if it had none', () => {
    post(restored)
    useStudio.getState().startRun('run-1')
    const series: Extract<FromWorker, { type: 'runSeries' }> = { type: 'runSeries', runId: 'run-1', settings: DEFAULTS, steps: [{ step: 1, loss: 0.7, lr: 0.001 }], epochs: [], baseline: null }
    post({ ...series, baseline: { loss: 0.66, accuracy: 0.55 }, baselineName: 'majority class (ham)' })
    post({ type: 'weightsReset', runId: 'run-1' })
    expect(useStudio.getState().baseline).toEqual({ metrics: { loss: 0.66, accuracy: 0.55 }, note: 'the base model, as measured when this run started', name: 'majority class (ham)' })
    expect({ restored: useStudio.getState().exporting.restored, lastVal: useStudio.getState().lastVal }).toEqual({ restored: false, lastVal: null })

    useStudio.setState({ runId: null, status: 'done' })
    post(restored)
    useStudio.getState().startRun('run-1')
    post(series) // a series stored without its line to beat
    post({ type: 'weightsReset', runId: 'run-1' })
    expect(useStudio.getState().baseline).toBeNull() // not the restored checkpoint's
  })

  it('a run ends the offer once it has set the weights back to the base (its weightsReset), also if it then fails; another model loaded or an import ends it too', () => {
    post(restored)
    useStudio.getState().startRun('run-2')
    post({ type: 'weightsReset', runId: 'run-2' })
    const ex = useStudio.getState().exporting
    expect({ restored: ex.restored, applied: ex.applied, kept: ex.kept, alpha: ex.alpha }).toEqual({ restored: false, applied: null, kept: 1, alpha: 1 })
    expect({ lastVal: useStudio.getState().lastVal, baseline: useStudio.getState().baseline }).toEqual({ lastVal: null, baseline: null })
    post({ type: 'error', runId: 'run-2', message: "This checkpoint's head (GPT2ForSequenceClassification) predicts one label, and the dataset has several label columns.", where: 'train' })
    expect(useStudio.getState().exporting.restored).toBe(false)
    useStudio.setState({ runId: null, status: 'done' })
    post(restored)
    post({ type: 'model', summary: model('tiny-lm'), loaded: true })
    expect(useStudio.getState().exporting.restored).toBe(false)
    post(restored)
    post({ type: 'imported', fileName: 'spam-adapter.zip', choice: 'adapter', title: 'Tiny LM fine-tuned on spam.csv', metrics: null, note: '' })
    expect(useStudio.getState().exporting.restored).toBe(false)
  })
})
