/**
 * Train/validation splits: a seeded, stratified split of one dataset, or a separate
 * validation dataset checked against the training one. Both report exact duplicates that
 * sit on both sides, since they make validation scores look better than they are.
 */
import { mulberry32, shuffleInPlace } from './rng'
import type { DataError, DataWarning, Dataset } from './types'

export interface SplitOptions {
  /** Share of rows held out for validation, in [0, 1). */
  validationFraction: number
  seed: number
}

/** Rows (as source row numbers) present on both sides of a split. */
export interface Overlap {
  /** Validation rows whose text/features also occur in the training rows. */
  count: number
  /** The first few pairs. */
  examples: { trainRow: number; validationRow: number }[]
}

export interface Split {
  /** Indices into dataset.rows, ascending. */
  train: number[]
  validation: number[]
  /** The label column the split was stratified by, if any. */
  stratifiedBy?: string
  overlap: Overlap
}

const OVERLAP_EXAMPLES = 5

export function splitDataset(dataset: Dataset, options: SplitOptions): Split {
  const f = options.validationFraction
  if (!(f >= 0 && f < 1)) throw new RangeError(`validationFraction must be in [0, 1), got ${f}`)
  const n = dataset.rows.length
  const random = mulberry32(options.seed)
  const train: number[] = []
  const validation: number[] = []

  if (dataset.task === 'language-modelling') {
    // Neighbouring blocks of one text share names and phrasing: hold out the end rather
    // than scattered blocks, so validation measures text the model has not seen.
    const nVal = Math.min(n - 1, Math.round(n * f))
    for (let i = 0; i < n; i++) (i < n - nVal ? train : validation).push(i)
    return { train, validation, overlap: findOverlap(dataset, train, dataset, validation) }
  }

  const by = dataset.roles.labels[0]
  const groups = new Map<string, number[]>()
  const labelCol = by === undefined ? -1 : dataset.columns.indexOf(by)
  for (let i = 0; i < n; i++) {
    const key = labelCol >= 0 ? (dataset.rows[i]?.[labelCol] ?? '').trim() : ''
    let g = groups.get(key)
    if (!g) groups.set(key, (g = []))
    g.push(i)
  }
  // Visit classes in a fixed order so the result does not depend on Map insertion order.
  for (const key of [...groups.keys()].sort()) {
    const idx = shuffleInPlace(groups.get(key) ?? [], random)
    // Every class keeps at least one training example.
    const nVal = Math.min(idx.length - 1, Math.round(idx.length * f))
    for (let k = 0; k < idx.length; k++) (k < nVal ? validation : train).push(idx[k] as number)
  }
  train.sort((a, b) => a - b)
  validation.sort((a, b) => a - b)
  return {
    train,
    validation,
    ...(by !== undefined ? { stratifiedBy: by } : {}),
    overlap: findOverlap(dataset, train, dataset, validation),
  }
}

/** What makes two rows "the same example": the input (text and features), not the label. */
export function rowKey(dataset: Dataset, index: number): string {
  const row = dataset.rows[index] ?? []
  const { text, features } = dataset.roles
  const cols = [...(text !== undefined ? [text] : []), ...features]
  return cols.map((c) => (row[dataset.columns.indexOf(c)] ?? '').trim()).join('\u0001')
}

export function findOverlap(
  train: Dataset,
  trainIdx: readonly number[],
  validation: Dataset,
  validationIdx: readonly number[],
): Overlap {
  const seen = new Map<string, number>()
  for (const i of trainIdx) {
    const k = rowKey(train, i)
    if (!seen.has(k)) seen.set(k, train.rowNumbers[i] ?? i + 1)
  }
  const overlap: Overlap = { count: 0, examples: [] }
  for (const i of validationIdx) {
    const trainRow = seen.get(rowKey(validation, i))
    if (trainRow === undefined) continue
    overlap.count++
    if (overlap.examples.length < OVERLAP_EXAMPLES) {
      overlap.examples.push({ trainRow, validationRow: validation.rowNumbers[i] ?? i + 1 })
    }
  }
  return overlap
}

export type ValidationCheck =
  | { ok: true; split: Split; warnings: DataWarning[] }
  | { ok: false; error: DataError }

/**
 * A user-provided validation file: same task and roles as the training data, and no
 * class the model was never trained on. Returns the split as "all rows of each".
 */
export function useValidationDataset(train: Dataset, validation: Dataset): ValidationCheck {
  const file = validation.name
  if (validation.task !== train.task) {
    return {
      ok: false,
      error: { file, message: `${file} looks like ${validation.task} data, but the training data is ${train.task}. Use a file with the same columns.` },
    }
  }
  const needed = [train.roles.text, ...train.roles.labels, ...train.roles.features, train.roles.target].filter(
    (c): c is string => c !== undefined,
  )
  const missing = needed.find((c) => !validation.columns.includes(c))
  if (missing) {
    return {
      ok: false,
      error: { file, field: missing, message: `${file} has no column "${missing}", which the training data uses. Rename the column or choose another file.` },
    }
  }
  const warnings: DataWarning[] = []
  for (const label of train.roles.labels) {
    const known = new Set((train.classes[label] ?? []).map((c) => c.label))
    const col = validation.columns.indexOf(label)
    const unknown = new Set<string>()
    for (const r of validation.rows) {
      const v = (r[col] ?? '').trim()
      if (!known.has(v)) unknown.add(v)
    }
    if (unknown.size > 0) {
      return {
        ok: false,
        error: {
          file,
          field: label,
          message: `${file} has classes in "${label}" that the training data lacks: ${[...unknown].slice(0, 5).map((u) => `"${u}"`).join(', ')}. The model can only predict classes it was trained on.`,
        },
      }
    }
  }
  // Compare under the training roles, in case the validation file was guessed differently.
  const v: Dataset = { ...validation, roles: train.roles }
  const trainIdx = train.rows.map((_, i) => i)
  const valIdx = validation.rows.map((_, i) => i)
  const overlap = findOverlap(train, trainIdx, v, valIdx)
  if (overlap.count > 0) {
    warnings.push({ message: `${overlap.count} validation row${overlap.count === 1 ? ' is' : 's are'} also in the training data.` })
  }
  return { ok: true, split: { train: trainIdx, validation: valIdx, overlap }, warnings }
}
