import { memo } from 'react'
import type { HistogramBin, TextLengthStats } from '../../worker/dataProtocol'
import { BarsSvg } from './BarsSvg'

/** How long the texts are, in characters: tells whether the sequence length cuts them. */
export const LengthHistogram = memo(function LengthHistogram({ bins, stats }: { bins: HistogramBin[]; stats?: TextLengthStats | undefined }) {
  if (bins.length === 0) return null
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
      <BarsSvg bars={bins.map((b) => ({ label: `${b.from}–${b.to - 1}`, count: b.count }))} unit="texts" color="#60a5fa" />
    </figure>
  )
})
