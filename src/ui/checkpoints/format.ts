import { formatBytes, formatDateTime, formatDecimal, formatNumber, formatPercent } from '../../format/format'
import type { Metrics } from '../../worker/protocol'

export const bytes = formatBytes
export const when = (ms: number) => formatDateTime(ms)

export function metricsText(m: Metrics): string {
  const parts = [`val loss ${formatDecimal(m.loss, 3)}`]
  if (m.accuracy !== undefined) parts.push(`accuracy ${formatPercent(m.accuracy)}`)
  if (m.perplexity !== undefined) parts.push(`perplexity ${formatDecimal(m.perplexity, 2)}`)
  if (m.rmse !== undefined) parts.push(`RMSE ${formatNumber(m.rmse, 4)}`)
  return parts.join(' · ')
}
