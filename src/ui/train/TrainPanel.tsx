import { useStudio, runActive } from '../../state/store'
import { Panel } from '../common/Panel'

/** Step 4: what the run needs and how it ended. The buttons and progress live in the run bar
 *  (always in view); the charts in the live pane beside the settings. */
export function TrainPanel() {
  const status = useStudio((s) => s.status)
  const problems = useStudio((s) => s.problems)
  const active = runActive(status)
  return (
    <Panel step={4} title="Train" id="train">
      <p className="help">
        Train, Pause and Stop are in the bar at the top, which stays in view; the loss and validation charts sit beside the settings on a wide screen and just above
        this step on a narrow one.
      </p>
      {problems.length > 0 && !active && (
        <ul className="problems" aria-label="Settings to fix before training">
          {problems.map((p) => (
            <li key={p.field}>
              <a href="#settings">{p.message}</a>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  )
}
