import { formatNumber } from '../../format/format'
import { memo } from 'react'
import type { HistogramBin } from '../../worker/dataProtocol'
import { BarsSvg } from './BarsSvg'

const short = (x: number) => formatNumber(x, 3)

/** How the numeric target is spread: a narrow spread makes a small RMSE easy, a skewed one
 *  means the mean is a poor guess for many rows. */
export const TargetHistogram = memo(function TargetHistogram({ bins, name }: { bins: HistogramBin[]; name: string }) {
  if (bins.length === 0) return null
  return (
    <figure className="chart" aria-label="Target distribution" data-testid="target-histogram" data-bins={bins.length}>
      <figcaption>Distribution of the target “{name}”</figcaption>
      <BarsSvg bars={bins.map((b) => ({ label: `${short(b.from)}–${short(b.to)}`, count: b.count }))} unit="rows" color="#34d399" />
    </figure>
  )
})
