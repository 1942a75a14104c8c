import { useLm } from '../../state/lmObjectives'
import { LineSvg } from '../train/LineSvg'

const pct = (y: number) => `${y.toFixed(0)}%`

/** DPO's held-out numbers per epoch (0 = the model before tuning): preference and reward
 *  accuracy against the base model's preference accuracy, the reward margin, and the chosen
 *  and rejected answers' log-probabilities. */
export function DpoCharts() {
  const points = useLm((s) => s.dpoEpochs)
  const steps = useLm((s) => s.dpoSteps)
  if (points.length === 0 && steps.length === 0) return null
  return (
    <div className="dpo-charts" data-testid="dpo-charts">
      {steps.length > 0 && <StepCharts />}
      {points.length > 0 && <EpochCharts />}
    </div>
  )
}

/** Each training batch's rewards as the loop trains (noisy: a batch holds a few pairs). */
function StepCharts() {
  const steps = useLm((s) => s.dpoSteps)
  const xs = steps.map((p) => p.batch)
  return (
    <>
      <h3>Training batches</h3>
      <LineSvg
        xs={xs}
        xLabel="batch"
        format={pct}
        leftDomain={[0, 100]}
        formatRight={(y) => y.toFixed(2)}
        series={[
          { name: 'reward accuracy', ys: steps.map((p) => 100 * p.rewardAccuracy), color: '#16a34a' },
          { name: 'reward margin', ys: steps.map((p) => p.rewardMargin), color: '#9333ea', axis: 'right' },
        ]}
        legend
        height={140}
      />
      <LineSvg
        xs={xs}
        xLabel="batch"
        format={(y) => y.toFixed(1)}
        series={[
          { name: 'chosen log-probability', ys: steps.map((p) => p.chosenLogProb), color: '#16a34a' },
          { name: 'rejected log-probability', ys: steps.map((p) => p.rejectedLogProb), color: '#dc2626' },
        ]}
        legend
        height={120}
      />
    </>
  )
}

function EpochCharts() {
  const points = useLm((s) => s.dpoEpochs)
  const xs = points.map((p) => p.epoch)
  const base = points[0]!
  const last = points.at(-1)!
  return (
    <>
      <h3>Held-out preference pairs</h3>
      <p role="status" data-testid="dpo-summary">
        Preference accuracy {(100 * base.preferenceAccuracy).toFixed(1)}% before tuning → {(100 * last.preferenceAccuracy).toFixed(1)}% after epoch {last.epoch}; reward accuracy {(100 * last.rewardAccuracy).toFixed(1)}%, reward margin {last.rewardMargin.toFixed(3)}.
      </p>
      <LineSvg
        xs={xs}
        xFrom={0}
        xLabel="epoch"
        format={pct}
        leftDomain={[0, 100]}
        reference={{ y: 100 * base.preferenceAccuracy, label: "base model's preference accuracy" }}
        series={[
          { name: 'preference accuracy', ys: points.map((p) => 100 * p.preferenceAccuracy), color: 'var(--accent, #2563eb)' },
          { name: 'reward accuracy', ys: points.map((p) => 100 * p.rewardAccuracy), color: '#16a34a' },
        ]}
        legend
        height={150}
      />
      <LineSvg xs={xs} xFrom={0} xLabel="epoch" format={(y) => y.toFixed(2)} series={[{ name: 'reward margin (chosen − rejected)', ys: points.map((p) => p.rewardMargin), color: '#9333ea' }]} legend height={120} />
      <LineSvg
        xs={xs}
        xFrom={0}
        xLabel="epoch"
        format={(y) => y.toFixed(1)}
        series={[
          { name: 'chosen log-probability', ys: points.map((p) => p.chosenLogProb), color: '#16a34a' },
          { name: 'rejected log-probability', ys: points.map((p) => p.rejectedLogProb), color: '#dc2626' },
        ]}
        legend
        height={140}
      />
    </>
  )
}
