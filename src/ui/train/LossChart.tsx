import { formatDecimal } from '../../format/format'
import { useMemo } from 'react'
import { useStudio } from '../../state/store'
import { LineSvg } from './LineSvg'

/** At most this many points are drawn; longer runs are thinned evenly. */
const MAX_POINTS = 400

const fmt = (v: number) => formatDecimal(v, 2)

/** Live training loss, one point per reporting window of steps. */
export function LossChart() {
  const steps = useStudio((s) => s.steps)
  const { xs, series } = useMemo(() => {
    const stride = Math.ceil(steps.length / MAX_POINTS)
    const data = stride > 1 ? steps.filter((_, i) => i % stride === 0 || i === steps.length - 1) : steps
    return { xs: data.map((p) => p.step), series: [{ name: 'training loss', ys: data.map((p) => p.loss), color: '#2563eb' }] }
  }, [steps])
  return (
    <figure className="chart" aria-label="Training loss by step" data-testid="loss-chart" data-points={steps.length}>
      <figcaption>Training loss</figcaption>
      <LineSvg xs={xs} series={series} xLabel="step" format={fmt} />
      {steps.length === 0 && <p className="muted overlay">The loss appears here a few steps after Train.</p>}
    </figure>
  )
}
