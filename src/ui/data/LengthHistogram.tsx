import { memo } from 'react'
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import type { HistogramBin } from '../../engine/data/datasetPreview'
import type { TextLengthStats } from '../../engine/data/types'

/** How long the texts are, in characters: tells whether the sequence length cuts them. */
// memo: a recharts chart costs tens of ms to re-render; skip it when its props did not change.
export const LengthHistogram = memo(function LengthHistogram({ bins, stats }: { bins: HistogramBin[]; stats?: TextLengthStats | undefined }) {
  if (bins.length === 0) return null
  const data = bins.map((b) => ({ range: `${b.from}–${b.to - 1}`, count: b.count }))
  return (
    <figure className="chart" aria-label="Text length histogram" data-testid="length-histogram" data-bins={bins.length}>
      <figcaption>
        Text length (characters)
        {stats && (
          <span className="muted">
            {' '}
            — median {stats.median}, 95% under {stats.p95}, longest {stats.max}
          </span>
        )}
      </figcaption>
      <ResponsiveContainer width="100%" height={180}>
        <BarChart data={data} margin={{ left: 8, right: 16, top: 8, bottom: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="range" interval="preserveStartEnd" />
          <YAxis width={48} allowDecimals={false} />
          <Tooltip />
          <Bar dataKey="count" name="texts" fill="#60a5fa" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  )
})
