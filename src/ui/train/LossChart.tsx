import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { useStudio } from '../../state/store'

/** At most this many points are drawn; longer runs are thinned evenly. */
const MAX_POINTS = 400

/** Live training loss, one point per reporting window of steps. */
export function LossChart() {
  const steps = useStudio((s) => s.steps)
  const stride = Math.ceil(steps.length / MAX_POINTS)
  const data = stride > 1 ? steps.filter((_, i) => i % stride === 0 || i === steps.length - 1) : steps
  return (
    <figure className="chart" aria-label="Training loss by step" data-testid="loss-chart" data-points={steps.length}>
      <figcaption>Training loss</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={data} margin={{ left: 8, right: 16, top: 8, bottom: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} label={{ value: 'step', position: 'insideBottomRight', offset: -4 }} />
          <YAxis width={48} domain={['auto', 'auto']} tickFormatter={(v: number) => v.toFixed(2)} />
          <Tooltip formatter={(v) => Number(v).toFixed(4)} />
          <Line dataKey="loss" name="training loss" dot={false} isAnimationActive={false} stroke="#2563eb" />
        </LineChart>
      </ResponsiveContainer>
      {steps.length === 0 && <p className="muted overlay">The loss appears here a few steps after Train.</p>}
    </figure>
  )
}
