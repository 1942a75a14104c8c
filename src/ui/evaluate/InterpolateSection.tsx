import { formatDecimal, formatNumber, formatPercent, formatPerplexity } from '../../format/format'
import { useEffect, useId, useRef } from 'react'
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { interpolate, sweepAlpha } from '../../state/actions'
import { useExport } from '../../state/exportState'
import { runActive, useStudio } from '../../state/store'
import type { Metrics } from '../../worker/protocol'
import { headlineFor } from '../../shared/headlineMetric'

const pct = (x?: number) => formatPercent(x)
const describe = (m: Metrics) => (m.perplexity !== undefined ? `perplexity ${formatPerplexity(m.perplexity, 2)}` : m.rmse !== undefined ? `RMSE ${formatNumber(m.rmse, 4)}` : `accuracy ${pct(m.accuracy)}`) + `, loss ${formatDecimal(m.loss, 3)}`

/** WiSE-FT in the Evaluate panel: slide between the base and the fine-tuned weights,
 *  sweep α to see where validation peaks, and keep the best α for export. */
export function InterpolateSection() {
  const id = useId()
  const trained = useStudio((s) => s.status === 'done' && s.result !== null)
  const importedTuned = useExport((s) => s.imported?.metrics != null)
  // a restored checkpoint's weights, measured on the validation split as they went in
  const restored = useStudio((s) => s.exporting.restored && s.lastVal !== null && !runActive(s.status))
  const canRun = trained || importedTuned || restored
  const busy = useStudio((s) => s.busy)
  const { alpha, applied, kept, sweep, best, pending } = useExport()
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), [])
  if (!canRun) return null
  const h = headlineFor(null, sweep[0] ?? applied?.metrics)
  const data = sweep.map((p) => ({ alpha: p.alpha, value: h.of(p), loss: p.loss }))
  const onSlide = (v: number) => {
    useExport.setState({ alpha: v })
    // Measuring runs the validation set: wait until the slider rests.
    if (timer.current) clearTimeout(timer.current)
    timer.current = setTimeout(() => interpolate(v), 350)
  }
  const sweeping = pending === 'sweep'
  return (
    <section className="interpolate" aria-labelledby={`${id}-h`} data-testid="interpolate">
      <h3 id={`${id}-h`}>Interpolate between base and fine-tuned weights</h3>
      <div className="field">
        <label htmlFor={`${id}-alpha`}>Interpolation α: {formatDecimal(alpha, 2)}</label>
        <input
          id={`${id}-alpha`}
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={alpha}
          aria-describedby={`${id}-help`}
          aria-valuetext={`α ${formatDecimal(alpha, 2)}`}
          disabled={sweeping}
          onChange={(e) => onSlide(Number(e.target.value))}
        />
        <p className="help" id={`${id}-help`}>
          The model uses θ(α) = (1 − α)·θ<sub>base</sub> + α·θ<sub>tuned</sub>: α = 1 is the fine-tuned model, α = 0 the pretrained body (the task head stays the trained one; LoRA and adapter updates are scaled
          by α). An α below 1 keeps more of what the base model knew, which often helps on data unlike the training set at little cost on the task.
        </p>
      </div>
      <p role="status" data-testid="alpha-metrics">
        {pending === 'interpolate' ? 'Measuring…' : applied ? `At α = ${formatDecimal(applied.alpha, 2)}: ${describe(applied.metrics)} on the validation split.` : 'Move the slider to measure the model at another α.'}
        {kept !== 1 && <> Kept α = {formatDecimal(kept, 2)} (used by the interpolated export).</>}
      </p>
      <div className="controls">
        <button type="button" onClick={() => sweepAlpha(11)} disabled={pending !== null} title="Measure the validation metric at α = 0, 0.1, …, 1; the fine-tuned weights are kept">
          Sweep α from 0 to 1
        </button>
        <button
          type="button"
          onClick={() => {
            if (best === null) return
            useExport.setState({ alpha: best })
            interpolate(best, true)
          }}
          disabled={best === null || pending !== null}
          title="Apply the α with the best validation metric and keep it for export"
        >
          Keep best α{best !== null ? ` (${formatDecimal(best, 1)})` : ''}
        </button>
        {sweeping && busy?.task === 'sweep' && (
          <label>
            {busy.label}
            <progress max={busy.total} value={busy.done} aria-label="Sweep progress" />
          </label>
        )}
      </div>
      {sweep.length > 0 && (
        <figure className="chart" aria-label={`Validation ${h.name} against α`} data-testid="sweep-chart" data-points={sweep.length}>
          <figcaption>
            Validation {h.name}
            {h.lowerIsBetter ? ' (lower is better)' : ''} against α
          </figcaption>
          <ResponsiveContainer width="100%" height={200}>
            <LineChart data={data} margin={{ left: 8, right: 16, top: 8, bottom: 8 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="alpha" type="number" domain={[0, 1]} ticks={[0, 0.2, 0.4, 0.6, 0.8, 1]} />
              <YAxis width={48} domain={['auto', 'auto']} />
              <Tooltip formatter={(v) => formatDecimal(Number(v), 2)} labelFormatter={(a) => `α = ${String(a)}`} />
              <Line dataKey="value" name={h.name} stroke="#7c3aed" isAnimationActive={false} />
              {best !== null && <ReferenceLine x={best} stroke="#16a34a" strokeDasharray="4 2" label={{ value: 'best', position: 'insideTopRight' }} />}
            </LineChart>
          </ResponsiveContainer>
        </figure>
      )}
    </section>
  )
}
