import { resumeCheckpoint, sendCheckpoint } from '../../state/actions'
import { useCheckpoints } from '../../state/checkpoints'
import { offerable, useRunTabs } from '../../state/runsAcrossTabs'
import { useStudio, runActive } from '../../state/store'

/** Two things that must not be missed: a run the last visit did not see end (offer to resume
 *  it), and a checkpoint the disk refused (the run is paused; offer to free space). */
export function RecoveryAlerts() {
  const interrupted = useCheckpoints((s) => s.interrupted)
  const full = useCheckpoints((s) => s.storageFull)
  const status = useStudio((s) => s.status)
  const ready = useStudio((s) => !!s.dataset && !!s.model)
  const busy = runActive(status)
  // not for a run another tab of the studio is training now: it did not stop
  const offer = useRunTabs((s) => interrupted !== null && offerable(s, interrupted.runId))
  return (
    <div className="notices">
      {interrupted && !busy && offer && (
        <div className="notice info" role="alert" data-testid="resume-prompt">
          <strong>Resume from epoch {interrupted.epoch}?</strong> The run “{interrupted.name}” on {interrupted.datasetName} did not finish (the tab was closed or
          reloaded, or the worker stopped); its checkpoint after epoch {interrupted.epoch} of {interrupted.epochs} is kept.{' '}
          <button
            type="button"
            className="primary"
            disabled={!ready}
            title={ready ? 'Continue that run from its last checkpoint; the chart continues where it stopped' : 'Waiting for the model and dataset to load'}
            onClick={() => {
              useCheckpoints.setState({ interrupted: null })
              resumeCheckpoint(interrupted.checkpointId, interrupted.runId)
            }}
          >
            Resume
          </button>{' '}
          <button type="button" title="Do not offer this run again; its checkpoints stay in the list below" onClick={() => sendCheckpoint({ type: 'dismissInterrupted', runId: interrupted.runId })}>
            Dismiss
          </button>
        </div>
      )}
      {full && (
        <div className="notice error" role="alert" data-testid="storage-full">
          <span className="where">checkpoint storage: </span>
          {full.message}{' '}
          <button
            type="button"
            title="Delete every checkpoint except this run's newest and best, save the refused checkpoint again and continue"
            onClick={() => {
              useCheckpoints.setState({ storageFull: null })
              sendCheckpoint({ type: 'freeSpace', runId: full.runId })
            }}
          >
            Delete older checkpoints and continue
          </button>{' '}
          <button type="button" className="link" title="Hide this message; the run stays paused until you resume it" onClick={() => useCheckpoints.setState({ storageFull: null })}>
            Close
          </button>
        </div>
      )}
    </div>
  )
}
