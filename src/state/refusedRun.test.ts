import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { FromWorker, RunSummary } from '../worker/protocol'
import { bridgeChannel, modelSummary } from './bridgeChannel.testing'
import { useCheckpoints } from './checkpoints'
import { onLmEvent, useLm } from './lmObjectives'
import { useStudio } from './store'
import { DEFAULTS } from '../settings/schema'

// The worker refuses a run before it sets the weights back to the base (worker/runEvents.ts
// refuseSettings, or a throw before session.ts resets them: no 'weightsReset' of the run's id):
// its weights are still the ones the page showed, so the page shows them again.
describe('a run the worker refused before it took the weights leaves the page as it was (state/runStart.ts)', () => {
  let worker: ReturnType<typeof bridgeChannel>
  const post = (...events: FromWorker[]) => events.forEach((e) => worker.post(e))
  const finishedSettings = { ...DEFAULTS, epochs: 3, learningRate: 0.002 }
  const steps = [{ step: 1, loss: 0.9, lr: 0.002 }, { step: 2, loss: 0.7, lr: 0.002 }]
  const epochs = [{ epoch: 1, loss: 0.7, val: { loss: 0.6, accuracy: 0.75 } }] as never
  const result = { reason: 'finished' as const, summary: { epochs: 3, bestEpoch: 1, best: { loss: 0.6, accuracy: 0.75 }, baseline: { loss: 0.69, accuracy: 0.5 }, baselineName: 'majority class (ham)', seconds: 12 } as RunSummary, message: 'Training finished: 3 epochs.' }
  const interrupted = { runId: 'run-old', name: 'spam.csv · Tiny LM', checkpointId: 'ckpt-old-2', epoch: 2, epochs: 4, datasetName: 'spam.csv' }

  beforeEach(() => {
    worker = bridgeChannel()
    useStudio.setState({ model: modelSummary('tiny-lm'), runId: null, status: 'idle', notices: [] })
    useStudio.getState().replaceSettings(finishedSettings)
    useCheckpoints.setState({ restoredId: null, interrupted: null })
    useLm.setState({ restored: null })
    // a run trained to the end, as the worker's events leave the page: its charts, evaluation and
    // line to beat (its step, epoch and baseline events), its result, and an α applied to it
    useStudio.getState().startRun('run-a')
    post({ type: 'weightsReset', runId: 'run-a' }, { type: 'state', runId: 'run-a', state: 'running' })
    useStudio.setState({ steps, epochs, lastVal: { loss: 0.6, accuracy: 0.75 }, baseline: { metrics: { loss: 0.69, accuracy: 0.5 }, note: 'the base model' }, progress: { step: 2, totalSteps: 2, epoch: 3, epochs: 3, samplesPerSec: 10, etaSec: 0 } })
    post({ type: 'done', runId: 'run-a', ...result })
    post({ type: 'interpolation', alpha: 0.6, kept: 0.6, metrics: { loss: 0.62, accuracy: 0.74 } })
  })
  afterEach(() => worker.off())

  /** What the Export panel and the interpolation read (ui/export/ExportPanel.tsx,
   *  ui/evaluate/InterpolateSection.tsx: a finished run's result), and what the page shows of the run. */
  const shown = () => {
    const st = useStudio.getState()
    return {
      trained: st.status === 'done' && st.result !== null,
      runId: st.runId,
      steps: st.steps,
      epochs: st.epochs,
      lastVal: st.lastVal,
      baseline: st.baseline?.metrics,
      applied: st.exporting.applied,
      kept: st.exporting.kept,
      settings: { epochs: st.settings.epochs, learningRate: st.settings.learningRate },
      interrupted: st.checkpoints.interrupted?.runId ?? null,
      progressStep: st.progress?.step,
    }
  }
  const finished = {
    trained: true,
    runId: 'run-a',
    steps,
    epochs,
    lastVal: { loss: 0.6, accuracy: 0.75 },
    baseline: { loss: 0.69, accuracy: 0.5 },
    applied: { alpha: 0.6, metrics: { loss: 0.62, accuracy: 0.74 } },
    kept: 0.6,
    settings: { epochs: 3, learningRate: 0.002 },
    interrupted: null,
    progressStep: 2,
  }

  it('Train refused (its settings): the finished run is shown again, with its result, Export and blend', () => {
    expect(shown()).toEqual(finished)
    useStudio.getState().startRun('run-b')
    post({ type: 'error', runId: 'run-b', message: 'Batch size must be at most 8 for this dataset.', where: 'settings: batchSize' })
    expect(shown()).toEqual(finished)
    expect(useStudio.getState().result).toEqual(result)
    expect(useStudio.getState().notices.at(-1)?.text).toBe('Batch size must be at most 8 for this dataset.')
  })

  it('a run that set the weights back and then failed does not bring the finished run back', () => {
    useStudio.getState().startRun('run-b')
    post({ type: 'weightsReset', runId: 'run-b' }, { type: 'error', runId: 'run-b', message: 'The split left 0 training and 3 validation examples.', where: 'train' })
    expect({ status: useStudio.getState().status, result: useStudio.getState().result, applied: useStudio.getState().exporting.applied, lastVal: useStudio.getState().lastVal }).toEqual({ status: 'idle', result: null, applied: null, lastVal: null })
  })

  it('"Continue training" refused after the worker sent the run\'s stored series: the settings, charts, line to beat and recovery offer the page showed stay', () => {
    useCheckpoints.setState({ interrupted })
    const before = { ...finished, interrupted: 'run-old' }
    expect(shown()).toEqual(before)
    // as actions.ts resumeCheckpoint and worker/checkpointHost.ts prepareResume post them
    useStudio.getState().startRun('run-old')
    const series: Extract<FromWorker, { type: 'runSeries' }> = { type: 'runSeries', runId: 'run-old', settings: { ...DEFAULTS, epochs: 4, learningRate: 0.0005 }, steps: [{ step: 1, loss: 1.2, lr: 0.0005 }], epochs: [], baseline: { loss: 1.1, accuracy: 0.4 } }
    post(series, { type: 'error', runId: 'run-old', message: 'Load the dataset spam.csv again: it is no longer stored.', where: 'resumeRun' })
    expect(shown()).toEqual(before)

    // refused without a run id (handler.ts before the run's message is read)
    useStudio.getState().startRun('run-old')
    post(series, { type: 'error', message: 'Checkpoint "Epoch 2" was trained from model tiny-lm-2, but model tiny-lm is loaded. Load that model first.', where: 'resumeRun' })
    expect(shown()).toEqual(before)

    // and once the worker has taken the weights, the run's series is what the page shows
    useStudio.getState().startRun('run-old')
    post(series, { type: 'weightsReset', runId: 'run-old' })
    expect(shown()).toEqual({ trained: false, runId: 'run-old', steps: series.steps, epochs: [], lastVal: null, baseline: { loss: 1.1, accuracy: 0.4 }, applied: null, kept: 1, settings: { epochs: 4, learningRate: 0.0005 }, interrupted: null, progressStep: undefined })
  })

  it('a restored self-training job stays restored through a refused run, and goes once a run has taken the weights', () => {
    // the event as the worker posts it once the round's weights are in (pseudoLabelHost.ts restore)
    onLmEvent({ type: 'pseudoRestored', id: 'job-1', summary: {} as never, rounds: [], charts: { steps: [], epochs: [], baseline: null }, threshold: 0.9, balance: false, roundsPlanned: 3, next: 2, settings: DEFAULTS, message: '' })
    expect(useLm.getState().restored?.id).toBe('job-1')
    useStudio.getState().startRun('run-b')
    post({ type: 'error', runId: 'run-b', message: 'Batch size must be at most 8 for this dataset.', where: 'settings: batchSize' })
    expect(useLm.getState().restored).toMatchObject({ id: 'job-1', next: 2 })

    useStudio.getState().startRun('run-c')
    post({ type: 'weightsReset', runId: 'run-c' })
    expect(useLm.getState().restored).toBeNull()
  })
})
