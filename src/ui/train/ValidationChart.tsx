import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { ZERO_SHOT_NOTE } from '../../engine/train/baselineNote'
import { useStudio } from '../../state/store'

/** Validation per epoch against the base model's score (the dashed line to beat). */
export function ValidationChart() {
  const epochs = useStudio((s) => s.epochs)
  const baseline = useStudio((s) => s.baseline)
  const isLm = useStudio((s) => s.dataset?.task === 'language-modelling')
  const metricKey = isLm ? 'valPpl' : 'valAcc'
  const base = baseline ? (isLm ? baseline.metrics.perplexity : baseline.metrics.accuracy !== undefined ? 100 * baseline.metrics.accuracy : undefined) : undefined
  return (
    <figure className="chart" aria-label="Validation metrics by epoch" data-testid="val-chart" data-points={epochs.length}>
      <figcaption>
        Validation {isLm ? 'perplexity (lower is better)' : 'accuracy % and loss'} by epoch
        {base !== undefined && (
          <span className="muted">
            {' '}
            — base model: {isLm ? base.toFixed(1) : `${base.toFixed(1)}%`}
          </span>
        )}
      </figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={epochs} margin={{ left: 8, right: 16, top: 8, bottom: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="epoch" type="number" domain={[0, 'dataMax']} allowDecimals={false} />
          <YAxis yAxisId="m" width={48} domain={isLm ? ['auto', 'auto'] : [0, 100]} />
          <YAxis yAxisId="loss" orientation="right" width={48} tickFormatter={(v: number) => v.toFixed(2)} />
          <Tooltip formatter={(v) => Number(v).toFixed(3)} />
          <Legend />
          <Line yAxisId="m" dataKey={metricKey} name={isLm ? 'val perplexity' : 'val accuracy %'} isAnimationActive={false} stroke="#16a34a" />
          <Line yAxisId="loss" dataKey="valLoss" name="val loss" isAnimationActive={false} stroke="#dc2626" />
          <Line yAxisId="loss" dataKey="trainLoss" name="train loss" isAnimationActive={false} stroke="#2563eb" strokeDasharray="4 2" />
          {base !== undefined && <ReferenceLine yAxisId="m" y={base} stroke="#6b7280" strokeDasharray="6 3" label={{ value: baseline?.note.startsWith(ZERO_SHOT_NOTE) ? 'base model (zero-shot LM)' : 'base model', position: 'insideTopLeft' }} />}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  )
}
