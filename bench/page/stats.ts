/**
 * How sure a measured ratio is, on a noisy shared machine.
 *
 * The benchmark alternates reference and studio runs (ref, studio, ref, studio, …, ref), so
 * each studio run has a reference run on either side of it. Each studio run gives one paired
 * ratio against the geometric mean of its two neighbours, which cancels slow drifts of the
 * machine's speed. The ratios are averaged on a log scale, and a two-sided 90 % Student-t
 * interval over the pairs says how far the true ratio may be from the estimate. A target
 * "ratio ≤ x" counts as met only when the whole interval is at or below x, and as missed only
 * when the whole interval is above it; otherwise the run could not tell (more repeats can).
 */

export interface RatioEstimate {
  ratio: number // exp(mean log ratio)
  lo: number // 90 % interval; NaN with a single pair
  hi: number
  pairs: number[] // one ratio per studio run
}

export type Verdict = 'met' | 'not met' | 'undecided'

/** Paired ratios: studio[i] against refs[i] and refs[i + 1] (refs has one more entry). */
export function pairedRatio(studio: readonly number[], refs: readonly number[]): RatioEstimate {
  if (refs.length !== studio.length + 1) throw new Error(`need one more reference run (${refs.length}) than studio runs (${studio.length})`)
  const pairs = studio.map((s, i) => s / Math.sqrt(refs[i]! * refs[i + 1]!))
  return ratioInterval(pairs)
}

/** Geometric mean and 90 % t interval of independent ratios. */
export function ratioInterval(pairs: readonly number[]): RatioEstimate {
  const logs = pairs.map(Math.log)
  const n = logs.length
  const mean = logs.reduce((a, b) => a + b, 0) / n
  if (n < 2) return { ratio: Math.exp(mean), lo: NaN, hi: NaN, pairs: [...pairs] }
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1))
  const half = (T95[n - 1] ?? 1.645) * (sd / Math.sqrt(n))
  return { ratio: Math.exp(mean), lo: Math.exp(mean - half), hi: Math.exp(mean + half), pairs: [...pairs] }
}

/** "ratio ≤ limit": met when the interval lies at or below it, missed when above. A single
 *  pair has no interval and decides nothing. */
export function atMost(e: RatioEstimate, limit: number): Verdict {
  if (Number.isNaN(e.hi)) return 'undecided'
  if (e.hi <= limit) return 'met'
  if (e.lo > limit) return 'not met'
  return 'undecided'
}

/** 95th percentile of Student's t (two-sided 90 %) by degrees of freedom 1..30. */
const T95 = [NaN, 6.314, 2.92, 2.353, 2.132, 2.015, 1.943, 1.895, 1.86, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.74, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697]
