/** What the Node benches share about their own process (bench/node/dataParallel.ts,
 *  dataParallelSteps.ts, optimizerStep.ts): --priority, and the median they report. */
import { readFileSync, writeFileSync } from 'node:fs'

/** --priority (Linux, root): this process's scheduling group (autogroup) at nice -20, so other
 *  work on a shared machine gets what the bench leaves (as bench/threadCount.mjs does). Returns
 *  what to report: 'none' when not asked, the group's nice value, or why it was refused. */
export function raisePriority(asked: boolean | undefined): string {
  if (!asked) return 'none'
  try {
    writeFileSync(`/proc/${process.pid}/autogroup`, '-20')
    return readFileSync(`/proc/${process.pid}/autogroup`, 'utf8').trim()
  } catch (e) {
    return `refused: ${e instanceof Error ? e.message : String(e)}`
  }
}

/** The median of the finite values (the mean of the middle two for an even count); NaN if none. */
export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!s.length) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
