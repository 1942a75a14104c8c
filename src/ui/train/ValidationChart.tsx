import { formatDecimal, formatNumber } from '../../format/format'
import { memo, useDeferredValue } from 'react'
import { headlineFor } from '../../shared/headlineMetric'
import { useStudio } from '../../state/store'
import { LineSvg, type Series } from './LineSvg'

type Epochs = ReturnType<typeof useStudio.getState>['epochs']
type Baseline = ReturnType<typeof useStudio.getState>['baseline']
type Task = Parameters<typeof headlineFor>[0]

/** Validation per epoch against the base model's score (the dashed line to beat). */
export function ValidationChart() {
  const epochs = useStudio((s) => s.epochs)
  const baseline = useStudio((s) => s.baseline)
  const task = useStudio((s) => s.dataset?.task)
  const h = headlineFor(task, baseline?.metrics)
  const base = h.of(baseline?.metrics)
  // The chart redraws from deferred values: a separate, lower-priority render after the
  // urgent one (status text, buttons), so one worker event is not one long main-thread task.
  const chart = { epochs: useDeferredValue(epochs), baseline: useDeferredValue(baseline), task: useDeferredValue(task) }
  return (
    <figure className="chart" aria-label="Validation metrics by epoch" data-testid="val-chart" data-points={epochs.length}>
      <figcaption>
        Validation {h.name}
        {h.lowerIsBetter ? ' (lower is better)' : ''} and loss by epoch
        {base !== undefined && (
          <span className="muted">
            {' '}
            — line to beat, {baseline?.name ?? 'base model'}: {h.format(base)}
          </span>
        )}
      </figcaption>
      <ValidationLines {...chart} />
    </figure>
  )
}

const right = (v: number) => formatDecimal(v, 2)
const left = (v: number) => formatNumber(v, 3)

const ValidationLines = memo(function ValidationLines({ epochs, baseline, task }: { epochs: Epochs; baseline: Baseline; task: Task }) {
  const h = headlineFor(task, baseline?.metrics)
  const base = h.of(baseline?.metrics)
  const xs = epochs.map((e) => e.epoch)
  const series: Series[] = [
    { name: `val ${h.name}`, ys: epochs.map((e) => e[h.key]), color: '#16a34a' },
    { name: 'val loss', ys: epochs.map((e) => e.valLoss), color: '#dc2626', axis: 'right' },
    { name: 'train loss', ys: epochs.map((e) => e.trainLoss), color: '#2563eb', axis: 'right', dash: '4 2' },
  ]
  const label = `line to beat: ${baseline?.name ?? 'base model'}`
  return (
    <LineSvg
      xs={xs}
      xFrom={0}
      series={series}
      xLabel="epoch"
      format={left}
      formatRight={right}
      {...(h.key === 'valAcc' ? { leftDomain: [0, 100] as const } : {})}
      {...(base !== undefined ? { reference: { y: base, label } } : {})}
      legend
    />
  )
})
