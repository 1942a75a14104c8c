/** The one validation number each task is judged by, for charts, tables and reports. */
import type { Metrics } from '../engine/types/metrics'
import { formatPerplexity } from '../format/format'
import type { TaskKind } from '../engine/types/model'

export interface Headline {
  key: 'valAcc' | 'valPpl' | 'valRmse' // field of an epoch point (store, run records)
  name: string // "accuracy %", "perplexity", "RMSE"
  lowerIsBetter: boolean
  /** The value as charted: accuracy in percent, the others as they are. */
  of(m: Metrics | null | undefined): number | undefined
  format(x: number | undefined): string
}

const ACCURACY: Headline = { key: 'valAcc', name: 'accuracy %', lowerIsBetter: false, of: (m) => (m?.accuracy === undefined ? undefined : 100 * m.accuracy), format: (x) => (x === undefined ? '–' : `${x.toFixed(1)}%`) }
const PERPLEXITY: Headline = { key: 'valPpl', name: 'perplexity', lowerIsBetter: true, of: (m) => m?.perplexity, format: (x) => formatPerplexity(x, 1) }
const RMSE: Headline = { key: 'valRmse', name: 'RMSE', lowerIsBetter: true, of: (m) => m?.rmse, format: (x) => (x === undefined || !Number.isFinite(x) ? '–' : x.toPrecision(4)) }

/** By task when known, else by what the metrics hold. */
export function headlineFor(task: TaskKind | null | undefined, m?: Metrics | null): Headline {
  if (task === 'language-modelling') return PERPLEXITY
  if (task === 'text-regression' || task === 'tabular-regression') return RMSE
  if (task) return ACCURACY
  if (m?.rmse !== undefined) return RMSE
  if (m?.perplexity !== undefined) return PERPLEXITY
  return ACCURACY
}
