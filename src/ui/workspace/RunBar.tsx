import { useEffect, useRef } from 'react'
import { formatDuration, formatRate } from '../../format/format'
import { pause, resume, stop, train } from '../../state/actions'
import { useStudio, runActive } from '../../state/store'
import { useLm } from '../../state/lmObjectives'
import { BackendBadge } from '../common/BackendBadge'
import { showCharts } from './showCharts'

/** What Train waits for, in words: a model that cannot train on the data at all (its problem
 *  names the dataset, not a setting: step 4 lists it), or settings marked in step 3. */
function waitingFor(problems: readonly { field: string }[]): string {
  if (problems.some((p) => p.field === 'dataset')) return 'The loaded model cannot train on this dataset: step 4 says why.'
  return `Fix ${problems.length === 1 ? 'the setting' : `${problems.length} settings`} marked in step 3 to train.`
}

/** The bar that never scrolls away: Train / Pause / Stop, the run's state in words, progress
 *  with the time left, and which backend does the work. */
export function RunBar() {
  const status = useStudio((s) => s.status)
  const progress = useStudio((s) => s.progress)
  const result = useStudio((s) => s.result)
  const ready = useStudio((s) => !!s.dataset && !!s.model && s.problems.length === 0)
  const problems = useStudio((s) => s.problems)
  // self-training paused between rounds: Resume starts the next round, not a step
  const roundWaiting = useLm((s) => (s.runObjective === 'pseudo' ? s.pausedBefore : null))
  const active = runActive(status)
  const pct = progress ? (100 * progress.step) / Math.max(1, progress.totalSteps) : 0
  const trainRef = useRef<HTMLButtonElement>(null)
  const pauseRef = useRef<HTMLButtonElement>(null)
  const focusInControls = useRef(false) // the last focus inside the page was on these buttons
  // Keyboard users: the button they pressed gets disabled, so move focus to the control that
  // matters next (Pause while running, Train when it ends) instead of dropping it on <body>.
  // Moved after the frame that shows the new state: focus() inside the commit forced a
  // synchronous layout of the freshly changed page (a 128 ms main-thread task at a run's end,
  // 112 ms of it in focus; bench/longtasks.mjs --profile). The bar is sticky: no scrolling.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => {
        const at = document.activeElement
        const lost = !at || at === document.body || (at instanceof HTMLButtonElement && at.disabled)
        if (!focusInControls.current || !(lost || at === trainRef.current || at === pauseRef.current)) return
        if (status === 'running') pauseRef.current?.focus({ preventScroll: true })
        if ((status === 'done' || status === 'idle') && trainRef.current && !trainRef.current.disabled) trainRef.current.focus({ preventScroll: true })
      })
    })
    return () => {
      cancelAnimationFrame(frame)
      clearTimeout(timer)
    }
  }, [status])

  return (
    <div className="run-bar" data-testid="run-bar">
      <div
        className="controls"
        role="group"
        aria-label="Training controls"
        onFocus={() => (focusInControls.current = true)}
        onBlur={(e) => {
          if (e.relatedTarget) focusInControls.current = e.currentTarget.contains(e.relatedTarget)
        }}
      >
        <button ref={trainRef} type="button" className="primary" onClick={() => {
            train()
            showCharts()
          }}
          disabled={!ready || active} title="Fine-tune the base model on the training split with the settings of step 3">
          Train
        </button>
        {status === 'paused' ? (
          <button ref={pauseRef} type="button" onClick={resume} title={roundWaiting !== null ? `Start round ${roundWaiting} of the self-training` : 'Continue from the step where it paused'}>
            Resume
          </button>
        ) : (
          <button ref={pauseRef} type="button" onClick={pause} disabled={status !== 'running'} title="Hold training between two steps; nothing is lost">
            Pause
          </button>
        )}
        <button type="button" onClick={stop} disabled={!active || status === 'stopping'} title="End the run after the current step and keep what it learnt so far">
          Stop
        </button>
      </div>
      <div className="run-state">
        <span className="run-status" role="status" aria-live="polite" data-testid="run-status">
          {/* done with no result: a checkpoint was restored after the run, which ends nothing to report */}
          {(status === 'idle' || (status === 'done' && !result)) && (ready ? 'Ready: click Train.' : problems.length ? waitingFor(problems) : 'Loading…')}
          {status === 'starting' && 'Starting: measuring the base model first…'}
          {status === 'running' && 'Training…'}
          {status === 'paused' && 'Paused.'}
          {status === 'stopping' && 'Stopping after this step…'}
          {status === 'done' && result && result.message}
        </span>
        {progress && (
          <div className="progress" data-testid="progress">
            <progress max={100} value={pct} aria-label="Training progress" />
            <span>
              Step {progress.step} / {progress.totalSteps} · epoch {Math.min(progress.epoch + 1, progress.epochs)} / {progress.epochs} · {formatRate(progress.samplesPerSec, 'samples')} ·{' '}
              {status === 'done' ? 'done' : `about ${formatDuration(progress.etaSec)} left`}
            </span>
          </div>
        )}
      </div>
      <BackendBadge />
    </div>
  )
}
