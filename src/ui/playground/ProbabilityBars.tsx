import { formatPercent } from '../../format/format'
/** Class probabilities as labelled bars, highest first; the numbers are in the text. */
export function ProbabilityBars({ classes, label }: { classes: { name: string; prob: number }[]; label: string }) {
  const sorted = [...classes].sort((a, b) => b.prob - a.prob).slice(0, 10)
  return (
    <ul className="prob-bars" aria-label={label}>
      {sorted.map((c, i) => (
        <li key={`${c.name}-${i}`} className="bar-row">
          <span className="bar-label">{c.name}</span>
          <span className="bar" aria-hidden="true" style={{ width: `${Math.max(1, 100 * c.prob) * 1.5}px` }} />
          <span className="prob">{formatPercent(c.prob)}</span>
        </li>
      ))}
    </ul>
  )
}
