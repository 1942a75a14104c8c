import { formatBytes, formatCount, formatDateTime, formatDecimal, formatNumber, formatPercent, formatPerplexity } from '../../format/format'
import type { Metrics } from '../../worker/protocol'
import type { EpochPoint } from '../../worker/checkpointProtocol'

export const bytes = formatBytes
export const when = (ms: number) => formatDateTime(ms)

export function metricsText(m: Metrics): string {
  const parts = [`val loss ${formatDecimal(m.loss, 3)}`]
  if (m.accuracy !== undefined) parts.push(`accuracy ${formatPercent(m.accuracy)}`)
  if (m.perplexity !== undefined) parts.push(`perplexity ${formatPerplexity(m.perplexity, 2)}`)
  if (m.rmse !== undefined) parts.push(`RMSE ${formatNumber(m.rmse, 4)}`)
  return parts.join(' · ')
}

/** Deleting the restored checkpoint (or its run) removes the stored copy only: the session
 *  keeps the weights it loaded from it until other weights replace them: a run starts from the
 *  base weights, another checkpoint is restored, a model (also the same one again), a PEFT adapter
 *  or a studio .zip is loaded, or an α other than 1 is applied (state/checkpoints.ts
 *  replacesRestored and forgetRestored clear "in use" then). `who`: the checkpoint's name where
 *  the question is about its run. */
export const inUseStays = (who = 'It') => ` ${who} is in use: its weights stay loaded for evaluation and the playground until you train, restore another checkpoint, load a model, adapter or .zip, or apply an α other than 1.`

/** A run's state and how far it got, for the Runs list: "finished · 3 epochs", or for a run
 *  stopped inside an epoch (its record marks that epoch's point partial: it was measured, not
 *  trained in full) "stopped in epoch 2 · 1 epoch trained in full", as the run's end message
 *  counts. Records stored before the mark read as before. */
export function runProgress(run: { status: string; epochs: readonly EpochPoint[] }): string {
  const count = (n: number) => `${formatCount(n)} epoch${n === 1 ? '' : 's'}`
  const last = run.epochs.at(-1)
  if (last?.partial) return `${run.status} in epoch ${formatCount(last.epoch)} · ${last.epoch > 1 ? count(last.epoch - 1) : 'none'} trained in full`
  return `${run.status} · ${count(run.epochs.length)}`
}
