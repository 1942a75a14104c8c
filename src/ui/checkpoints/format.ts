import type { Metrics } from '../../worker/protocol'

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return 'unknown'
  if (n < 1e3) return `${n} B`
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`
  return `${(n / 1e9).toFixed(2)} GB`
}

export function metricsText(m: Metrics): string {
  const parts = [`val loss ${m.loss.toFixed(3)}`]
  if (m.accuracy !== undefined) parts.push(`accuracy ${(100 * m.accuracy).toFixed(1)}%`)
  if (m.perplexity !== undefined) parts.push(`perplexity ${m.perplexity.toFixed(2)}`)
  if (m.rmse !== undefined) parts.push(`RMSE ${m.rmse.toPrecision(4)}`)
  return parts.join(' · ')
}

export function when(ms: number): string {
  return new Date(ms).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' })
}
