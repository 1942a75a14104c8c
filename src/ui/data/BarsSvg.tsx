import { formatCount } from '../../format/format'
import { useState } from 'react'
import { niceTicks } from '../train/LineSvg'

/** A plain SVG bar chart for the dataset histograms. Recharts took 60-120 ms of main thread
 *  to draw the two preview charts when a 100 MB CSV's summary arrived (bench: csvUpload);
 *  this draws a few rectangles. Hovering a bar, or the arrow keys when the chart has focus,
 *  read its range and count (announced to screen readers). */
export interface Bar {
  label: string // the bin's range, e.g. "120–139"
  count: number
}

const W = 600

// Not memo'd: its parents are, and they build `bars` afresh each time they render.
export function BarsSvg({ bars, unit, color, height = 180 }: { bars: readonly Bar[]; unit: string; color: string; height?: number }) {
  const [at, setAt] = useState<number | null>(null)
  const n = bars.length
  const pad = { left: 48, right: 12, top: 8, bottom: 28 }
  const max = Math.max(1, ...bars.map((b) => b.count))
  const ticks = niceTicks(0, max).filter((t) => Number.isInteger(t))
  const slot = (W - pad.left - pad.right) / Math.max(n, 1)
  const py = (y: number) => pad.top + (1 - y / max) * (height - pad.top - pad.bottom)
  // Label about six bins, always the first and last, so labels never overlap.
  const every = Math.max(1, Math.ceil(n / 6))
  const readout = (i: number) => `${bars[i]!.label}: ${formatCount(bars[i]!.count)} ${unit}`
  const onKey = (e: React.KeyboardEvent<HTMLDivElement>) => {
    if (!n) return
    const from = at ?? 0
    const to = { ArrowLeft: from - 1, ArrowRight: from + 1, Home: 0, End: n - 1 }[e.key]
    if (to === undefined) {
      if (e.key === 'Escape') setAt(null)
      return
    }
    e.preventDefault()
    setAt(Math.max(0, Math.min(n - 1, to)))
  }
  const peak = bars.reduce((best, b, i) => (b.count > bars[best]!.count ? i : best), 0)
  return (
    <div className="line-svg-wrap" tabIndex={0} role="group" aria-label={`Histogram of ${n} bins: left and right arrow keys read each bin`} onKeyDown={onKey} onFocus={() => n && at === null && setAt(0)} onBlur={() => setAt(null)}>
      <svg viewBox={`0 0 ${W} ${height}`} width="100%" height={height} className="line-svg" role="img" aria-label={n ? `${n} bins from ${bars[0]!.label} to ${bars[n - 1]!.label}; most ${unit} in ${readout(peak)}` : 'no data'} onMouseLeave={() => setAt(null)}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.left} x2={W - pad.right} y1={py(t)} y2={py(t)} stroke="#e5e7eb" strokeDasharray="3 3" />
            <text x={pad.left - 6} y={py(t) + 4} textAnchor="end" fontSize="11" fill="#6b7280">
              {formatCount(t)}
            </text>
          </g>
        ))}
        {bars.map((b, i) => (
          <g key={i} onMouseEnter={() => setAt(i)}>
            {/* the whole slot takes the hover, so thin bars are easy to point at */}
            <rect x={pad.left + i * slot} y={pad.top} width={slot} height={height - pad.top - pad.bottom} fill="transparent" />
            <rect x={pad.left + i * slot + 1} y={py(b.count)} width={Math.max(1, slot - 2)} height={py(0) - py(b.count)} fill={color} opacity={at === null || at === i ? 1 : 0.6} />
            {((i % every === 0 && n - 1 - i >= every / 2) || i === n - 1) && (
              <text x={pad.left + (i + 0.5) * slot} y={height - pad.bottom + 16} textAnchor="middle" fontSize="11" fill="#6b7280">
                {b.label}
              </text>
            )}
          </g>
        ))}
        <line x1={pad.left} x2={W - pad.right} y1={py(0)} y2={py(0)} stroke="#9ca3af" />
        {at !== null && at < n && (
          <text x={pad.left + 6} y={pad.top + 14} fontSize="12" fill="#111827" pointerEvents="none">
            {readout(at)}
          </text>
        )}
      </svg>
      <p className="sr-only" aria-live="polite" data-testid="chart-readout">
        {at !== null && at < n ? readout(at) : ''}
      </p>
    </div>
  )
}
