import { LossChart } from '../train/LossChart'
import { ValidationChart } from '../train/ValidationChart'

/** The live charts: beside the steps on a wide screen (sticky, so they stay in view while a
 *  setting changes), between the settings and the Train step on a narrow one. */
export function LivePane() {
  return (
    <aside className="live" aria-label="Live training charts">
      <div className="live-inner charts">
        <LossChart />
        <ValidationChart />
      </div>
    </aside>
  )
}
