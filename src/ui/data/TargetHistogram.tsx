import { memo } from 'react'
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import type { HistogramBin } from '../../engine/data/datasetPreview'

const short = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3))

/** How the numeric target is spread: a narrow spread makes a small RMSE easy, a skewed one
 *  means the mean is a poor guess for many rows. */
// memo: a recharts chart costs tens of ms to re-render; skip it when its props did not change.
export const TargetHistogram = memo(function TargetHistogram({ bins, name }: { bins: HistogramBin[]; name: string }) {
  if (bins.length === 0) return null
  const data = bins.map((b) => ({ range: `${short(b.from)}–${short(b.to)}`, count: b.count }))
  return (
    <figure className="chart" aria-label="Target distribution" data-testid="target-histogram" data-bins={bins.length}>
      <figcaption>Distribution of the target “{name}”</figcaption>
      <ResponsiveContainer width="100%" height={180}>
        <BarChart data={data} margin={{ left: 8, right: 16, top: 8, bottom: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="range" interval="preserveStartEnd" />
          <YAxis width={48} allowDecimals={false} />
          <Tooltip />
          <Bar dataKey="count" name="rows" fill="#34d399" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  )
})
