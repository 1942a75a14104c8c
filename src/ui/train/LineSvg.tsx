import { memo, useState } from 'react'

/** A plain SVG line chart for the training charts. Recharts re-rendered in 50-80 ms
 *  main-thread tasks on a slow machine (bench: longestMainThreadTaskMs); this draws a few
 *  polylines and ticks in about a millisecond. Left axis, optional right axis, an optional
 *  dashed reference line on the left axis, a legend, and a read-out of one point that follows
 *  the mouse, or the arrow keys when the chart has focus (announced to screen readers). */
export interface Series {
  name: string
  ys: readonly (number | undefined)[]
  color: string
  axis?: 'left' | 'right'
  dash?: string
}

export interface LineSvgProps {
  xs: readonly number[]
  series: readonly Series[]
  xLabel: string
  xFrom?: number // left end of the x axis (default: the first x)
  format: (y: number) => string // left axis
  formatRight?: (y: number) => string
  leftDomain?: readonly [number, number]
  reference?: { y: number; label: string }
  legend?: boolean
  height?: number
}

const W = 600

/** About `n` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, n = 4): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return []
  if (hi === lo) return [lo]
  const raw = (hi - lo) / n
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag
  const out: number[] = []
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)))
  return out
}

function domain(values: number[], fixed?: readonly [number, number]): [number, number] {
  if (fixed) return [fixed[0], fixed[1]]
  let lo = values.length ? Math.min(...values) : 0
  let hi = values.length ? Math.max(...values) : 1
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5]
  const pad = 0.05 * (hi - lo)
  return [lo - pad, hi + pad]
}

const finite = (y: number | undefined): y is number => y !== undefined && Number.isFinite(y)

export const LineSvg = memo(function LineSvg({ xs, series, xLabel, xFrom, format, formatRight = format, leftDomain, reference, legend = false, height = 220 }: LineSvgProps) {
  const [hover, setHover] = useState<number | null>(null)
  const n = xs.length
  const hasRight = series.some((s) => s.axis === 'right')
  const pad = { left: 52, right: hasRight ? 52 : 12, top: 8, bottom: 28 }
  const x0 = xFrom ?? (n ? xs[0]! : 0)
  const x1 = n ? Math.max(xs[n - 1]!, x0 + 1) : 1
  const on = (axis: 'left' | 'right') => series.filter((s) => (s.axis ?? 'left') === axis).flatMap((s) => s.ys.filter(finite))
  const left = domain([...on('left'), ...(reference ? [reference.y] : [])], leftDomain)
  const right = domain(on('right'))
  const px = (x: number) => pad.left + ((x - x0) / (x1 - x0)) * (W - pad.left - pad.right)
  const py = (y: number, [lo, hi]: [number, number]) => pad.top + (1 - (y - lo) / (hi - lo)) * (height - pad.top - pad.bottom)
  const dom = (s: Series) => (s.axis === 'right' ? right : left)
  const h = hover !== null && hover < n ? hover : null
  const onMove = (e: React.MouseEvent<SVGSVGElement>) => {
    if (!n) return
    const r = e.currentTarget.getBoundingClientRect()
    const x = x0 + ((((e.clientX - r.left) / r.width) * W - pad.left) / (W - pad.left - pad.right)) * (x1 - x0)
    let best = 0
    for (let i = 1; i < n; i++) if (Math.abs(xs[i]! - x) < Math.abs(xs[best]! - x)) best = i
    setHover(best)
  }
  const readout = (i: number) =>
    `${xLabel} ${xs[i]}: ${series
      .filter((s) => finite(s.ys[i]))
      .map((s) => `${s.name} ${(s.axis === 'right' ? formatRight : format)(s.ys[i]!)}`)
      .join(' · ')}`
  const onKey = (e: React.KeyboardEvent<HTMLDivElement>) => {
    if (!n) return
    const at = h ?? n - 1
    const to = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: n - 1, PageUp: at - 10, PageDown: at + 10 }[e.key]
    if (to === undefined) {
      if (e.key === 'Escape') setHover(null)
      return
    }
    e.preventDefault()
    setHover(Math.max(0, Math.min(n - 1, to)))
  }
  const latest = series.map((s) => (n && finite(s.ys[n - 1]) ? `${s.name} ${(s.axis === 'right' ? formatRight : format)(s.ys[n - 1]!)}` : null)).filter(Boolean)
  return (
    <div
      className="line-svg-wrap"
      tabIndex={0}
      role="group"
      aria-label={`${series.map((s) => s.name).join(' and ')} chart: left and right arrow keys read its points`}
      onKeyDown={onKey}
      onFocus={() => n && h === null && setHover(n - 1)}
      onBlur={() => setHover(null)}
    >
      <svg viewBox={`0 0 ${W} ${height}`} width="100%" height={height} className="line-svg" role="img" aria-label={`${series.map((s) => s.name).join(', ')} by ${xLabel}${latest.length ? `; latest: ${latest.join(', ')}` : ''}`} onMouseMove={onMove} onMouseLeave={() => setHover(null)}>
        {niceTicks(left[0], left[1]).map((t) => (
          <g key={`l${t}`}>
            <line x1={pad.left} x2={W - pad.right} y1={py(t, left)} y2={py(t, left)} stroke="#e5e7eb" strokeDasharray="3 3" />
            <text x={pad.left - 6} y={py(t, left) + 4} textAnchor="end" fontSize="11" fill="#6b7280">
              {format(t)}
            </text>
          </g>
        ))}
        {hasRight &&
          niceTicks(right[0], right[1]).map((t) => (
            <text key={`r${t}`} x={W - pad.right + 6} y={py(t, right) + 4} fontSize="11" fill="#6b7280">
              {formatRight(t)}
            </text>
          ))}
        {niceTicks(x0, x1, 5)
          .filter((t) => Number.isInteger(t))
          .map((t) => (
            <text key={`x${t}`} x={px(t)} y={height - pad.bottom + 16} textAnchor="middle" fontSize="11" fill="#6b7280">
              {t}
            </text>
          ))}
        <text x={W - pad.right} y={height - 2} textAnchor="end" fontSize="11" fill="#6b7280">
          {xLabel}
        </text>
        <rect x={pad.left} y={pad.top} width={W - pad.left - pad.right} height={height - pad.top - pad.bottom} fill="none" stroke="#d1d5db" />
        {reference && (
          <g>
            <line x1={pad.left} x2={W - pad.right} y1={py(reference.y, left)} y2={py(reference.y, left)} stroke="#6b7280" strokeDasharray="6 3" />
            <text x={pad.left + 4} y={py(reference.y, left) - 4} fontSize="11" fill="#6b7280">
              {reference.label}
            </text>
          </g>
        )}
        {series.map((s) => {
          const pts: string[] = []
          for (let i = 0; i < n; i++) if (finite(s.ys[i])) pts.push(`${px(xs[i]!).toFixed(1)},${py(s.ys[i]!, dom(s)).toFixed(1)}`)
          return (
            <g key={s.name}>
              <polyline points={pts.join(' ')} fill="none" stroke={s.color} strokeWidth="1.5" strokeDasharray={s.dash} />
              {pts.length === 1 && <circle cx={pts[0]!.split(',')[0]} cy={pts[0]!.split(',')[1]} r="3" fill={s.color} />}
            </g>
          )
        })}
        {h !== null && (
          <g pointerEvents="none">
            {series.map((s) =>
              finite(s.ys[h]) ? <circle key={s.name} cx={px(xs[h]!)} cy={py(s.ys[h]!, dom(s))} r="3" fill={s.color} /> : null,
            )}
            <line x1={px(xs[h]!)} x2={px(xs[h]!)} y1={pad.top} y2={height - pad.bottom} stroke="#9ca3af" />
            <text x={pad.left + 6} y={pad.top + 14} fontSize="12" fill="#111827">
              {readout(h)}
            </text>
          </g>
        )}
      </svg>
      <p className="sr-only" aria-live="polite" data-testid="chart-readout">
        {h !== null ? readout(h) : ''}
      </p>
      {legend && (
        <p className="legend">
          {series.map((s) => (
            <span key={s.name} style={{ marginRight: '1em' }}>
              <span aria-hidden="true" style={{ color: s.color, fontWeight: 700 }}>
                ―{' '}
              </span>
              {s.name}
            </span>
          ))}
        </p>
      )}
    </div>
  )
})
