/** A run's start as the page sees it. Train (or "Continue training") asks the worker for a run
 *  (store.ts startRun: its charts empty, the run bar "starting"); the worker takes the session's
 *  weights for it only with the run's first 'weightsReset'. Until then the run may be refused
 *  (settings, a model that does not fit the dataset, a checkpoint of another model), and a
 *  refused run changed nothing in the worker: the page shows again what it showed before. */
import type { CheckpointEvent } from '../worker/checkpointProtocol'
import type { FromWorker } from '../worker/protocol'
import { onCheckpointEvent } from './checkpoints'
import { exportForOtherWeights } from './parts'
import { useStudio } from './store'

/** A resumed run's stored series, while its run has not started: held, and shown as it starts
 *  (true), so a refusal leaves the settings, charts, line to beat and recovery offer as they
 *  were. False when it is to be shown now. */
export function holdRunSeries(e: Extract<CheckpointEvent, { type: 'runSeries' }>): boolean {
  const u = useStudio.getState().unstarted
  if (u?.runId !== e.runId) return false
  useStudio.setState({ unstarted: { ...u, series: e } })
  return true
}

/** The asked-for run set the weights back to the base (its first 'weightsReset', or it reports
 *  its state): what described the weights held before goes, as in exportState.ts forgetWeights
 *  (an import's record, the α, sweep and best α, a restored checkpoint's offer to Export and the
 *  blend), and so do their evaluation and line to beat, and a restored self-training job (its
 *  round's weights are gone: "Continue with round N" would not continue them); a resumed run's
 *  stored series comes in (its settings, charts and line to beat). */
export function runTookWeights(): void {
  const u = useStudio.getState().unstarted
  if (!u) return
  useStudio.setState((st) => ({ unstarted: null, exporting: exportForOtherWeights(st.exporting), lastVal: null, baseline: null, lm: { ...st.lm, restored: null } }))
  if (u.series) onCheckpointEvent(u.series)
}

/** Whether the error is the worker's refusal of the run not started yet: an error of its run id
 *  (a refused "Continue training" may carry none), not the worker's end (a fresh worker holds
 *  none of the weights before). */
export function refusesUnstarted(e: Extract<FromWorker, { type: 'error' }>): boolean {
  const u = useStudio.getState().unstarted
  if (!u || e.where === 'worker') return false
  return e.runId === u.runId || (e.runId === undefined && e.where === 'resumeRun')
}

/** The worker refused the run before it took the weights: the run id, status, charts, progress
 *  and result startRun replaced come back, so a finished run's Export and blend, which the
 *  session's weights still are, stay open. */
export function runRefused(): void {
  const u = useStudio.getState().unstarted
  if (!u) return
  useStudio.setState({ ...u.before, unstarted: null })
}
