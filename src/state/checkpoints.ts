import type { CheckpointEvent } from '../worker/checkpointProtocol'
import type { FromWorker } from '../worker/protocol'
export type { CheckpointsState } from './parts'
import { exportForOtherWeights } from './parts'
import { sliceHook } from './sliceHook'
import { useStudio, type RunSlice, runActive } from './store'

export const useCheckpoints = sliceHook('checkpoints')

/** Why Delete of a run, or of one of its checkpoints, waits (null: it need not): the run is
 *  training. Its loop writes a checkpoint after each epoch and prunes the run's older ones, and
 *  its newest one is what "Continue training" offers if the tab closes; the worker refuses to
 *  delete the run itself. Other runs' records and checkpoints are not touched by it (writing
 *  and pruning read the running run's only), so their Delete does not wait. */
export function runDeleteWaits(runId: string, what: 'run' | 'checkpoint', now: { runId: string | null; status: RunSlice['status'] }): string | null {
  const training = runActive(now.status)
  if (!training || now.runId !== runId) return null
  return what === 'run' ? 'This run is training: delete it once it has stopped or finished.' : 'Its run is training: delete it once the run has stopped or finished.'
}

/** Other weights replaced the restored checkpoint's in the session (a model or adapter loaded,
 *  kept self-training rounds restored): it is no longer "in use". */
export function forgetRestored(): void {
  if (useCheckpoints.getState().restoredId !== null) useCheckpoints.setState({ restoredId: null })
}

/** Whether the worker's event says the session's weights are no longer the restored
 *  checkpoint's: a model loaded (also under the same id: the same URL or model files again), a
 *  studio .zip's or a PEFT adapter's weights put in, a run that set the model back to its base
 *  weights (also one that then failed to start), or an interpolation α other than 1 applied
 *  (α = 1 is the checkpoint's own weights; a sweep puts back the α it found). */
export function replacesRestored(e: FromWorker): boolean {
  switch (e.type) {
    case 'model':
      return e.loaded === true
    case 'imported':
    case 'weightsReset':
      return true
    case 'interpolation':
      return e.alpha !== 1
    default:
      return false
  }
}

// The restored checkpoint's weights are the session's until a run starts (it begins from the
// base weights) or another model is loaded (and the worker events of replacesRestored above, which
// the bridge reads); the page's "in use" says so only while it is true.
// A fresh worker (actions.ts restartEngine) holds none either.
useStudio.subscribe((st, prev) => {
  if (st.checkpoints.restoredId === null) return
  const trained = st.status === 'running' && prev.status !== 'running'
  const otherModel = st.model?.id !== prev.model?.id
  if (trained || otherModel) forgetRestored()
})

export function onCheckpointEvent(e: CheckpointEvent): void {
  const set = useCheckpoints.setState
  switch (e.type) {
    case 'checkpoints':
      set({ items: e.items })
      break
    case 'runs':
      set({ runs: e.items })
      break
    case 'storage':
      set({ storage: { usage: e.usage, quota: e.quota, checkpointBytes: e.checkpointBytes } })
      break
    case 'storageFull':
      set({ storageFull: { runId: e.runId, message: e.message } })
      break
    case 'interrupted':
      set({ interrupted: e.run })
      break
    case 'restored':
      // One update: Evaluate compares the restored weights with the base model of that run. What
      // described the weights before goes (an import's record; the α, sweep and best α: "Keep best
      // α" would apply another model's best α to these); Export and the interpolation offer these.
      useStudio.setState((st) => ({
        checkpoints: { ...st.checkpoints, restoredId: e.checkpoint.id },
        exporting: exportForOtherWeights(st.exporting, true),
        baseline: e.baseline ? { metrics: e.baseline, note: e.baselineNote, ...(e.baselineName ? { name: e.baselineName } : {}) } : null,
        lastVal: e.metrics,
        result: null,
        busy: null,
      }))
      useStudio.getState().notify({ kind: 'info', text: `Restored "${e.checkpoint.name}" (epoch ${e.checkpoint.epoch}): evaluation and the playground now use these weights.` })
      break
    case 'runSeries':
      // A resumed run that has started (runStart.ts holds the series until then): the chart
      // continues from the stored series.
      if (useStudio.getState().runId !== e.runId) break
      useStudio.getState().replaceSettings(e.settings) // the settings panel shows what the run uses
      useStudio.setState((st) => ({
        steps: e.steps,
        epochs: e.epochs,
        // the run's own line to beat, or none: not the one of the weights held before
        baseline: e.baseline ? { metrics: e.baseline, note: 'the base model, as measured when this run started', ...(e.baselineName ? { name: e.baselineName } : {}) } : null,
        checkpoints: { ...st.checkpoints, interrupted: null, storageFull: null },
      }))
      break
    default: {
      const never: never = e
      void never
    }
  }
}
