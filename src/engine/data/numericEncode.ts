/**
 * Numbers in, model-ready arrays out: standardised feature matrices for tabular data and
 * standardised regression targets. Means and standard deviations come from the training
 * rows only, so nothing about the validation split leaks into training.
 */
import type { Dataset } from './types'

/** Per-column mean and standard deviation; std 1 where a column is constant. */
export interface Standardizer {
  columns: string[]
  mean: Float64Array
  std: Float64Array
}

/** How a numeric target was standardised, to report errors in the target's own units. */
export interface TargetScale {
  name: string
  mean: number
  std: number
}

function columnIndex(d: Dataset, name: string): number {
  const i = d.columns.indexOf(name)
  if (i < 0) throw new Error(`${d.name} has no column "${name}"`)
  return i
}

/** Parses a cell that applyRoles already checked is numeric. */
function num(cell: string | undefined): number {
  return Number((cell ?? '').trim())
}

/** Mean and (population) std of each column over `rows`, in one pass per column (Welford). */
export function fitStandardizer(d: Dataset, columns: readonly string[], rows: readonly number[]): Standardizer {
  const mean = new Float64Array(columns.length)
  const std = new Float64Array(columns.length)
  columns.forEach((name, j) => {
    const c = columnIndex(d, name)
    let m = 0
    let m2 = 0
    rows.forEach((r, k) => {
      const x = num(d.rows[r]?.[c])
      const delta = x - m
      m += delta / (k + 1)
      m2 += delta * (x - m)
    })
    const sd = rows.length > 0 ? Math.sqrt(m2 / rows.length) : 0
    mean[j] = m
    // A constant column carries no information; dividing by 1 keeps it at 0 instead of NaN.
    std[j] = sd > 1e-12 ? sd : 1
  })
  return { columns: [...columns], mean, std }
}

/** Rows `idx` of the feature columns as a row-major [n, F] matrix of z-scores. */
export function standardizeFeatures(d: Dataset, st: Standardizer, idx: readonly number[]): Float32Array {
  const f = st.columns.length
  const cols = st.columns.map((c) => columnIndex(d, c))
  const out = new Float32Array(idx.length * f)
  idx.forEach((r, k) => {
    const row = d.rows[r]
    for (let j = 0; j < f; j++) out[k * f + j] = (num(row?.[cols[j]!]) - st.mean[j]!) / st.std[j]!
  })
  return out
}

export function fitTargetScale(d: Dataset, target: string, rows: readonly number[]): TargetScale {
  const st = fitStandardizer(d, [target], rows)
  return { name: target, mean: st.mean[0]!, std: st.std[0]! }
}

/** The target of rows `idx`, standardised: (y − mean) / std. */
export function standardizeTargets(d: Dataset, scale: TargetScale, idx: readonly number[]): Float32Array {
  const c = columnIndex(d, scale.name)
  return Float32Array.from(idx, (r) => (num(d.rows[r]?.[c]) - scale.mean) / scale.std)
}

/** Back to the target's units. */
export function unscale(z: ArrayLike<number>, scale: TargetScale): Float64Array {
  return Float64Array.from(z as ArrayLike<number>, (v) => v * scale.std + scale.mean)
}
