/**
 * Numbers the Data panel shows before anything trains: a histogram of text lengths and a
 * summary of the train/validation split (counts per class, duplicates across the split).
 */
import { splitDataset, useValidationDataset, type Split } from './split'
import type { DataError, Dataset } from './types'

export interface HistogramBin {
  /** Lengths in [from, to), in characters. */
  from: number
  to: number
  count: number
}

/** Text lengths in `bins` equal-width bins from 0 to the longest text (rounded up to a
 * readable width), so the chart's axis starts at zero and reads in whole characters. */
export function lengthHistogram(dataset: Dataset, bins = 20): HistogramBin[] {
  const col = dataset.roles.text === undefined ? -1 : dataset.columns.indexOf(dataset.roles.text)
  if (col < 0 || dataset.rows.length === 0) return []
  let max = 0
  const lengths = new Uint32Array(dataset.rows.length)
  for (let i = 0; i < dataset.rows.length; i++) {
    const n = (dataset.rows[i]?.[col] ?? '').length
    lengths[i] = n
    if (n > max) max = n
  }
  const width = niceWidth((max + 1) / bins)
  const nBins = Math.max(1, Math.ceil((max + 1) / width))
  const out: HistogramBin[] = Array.from({ length: nBins }, (_, b) => ({ from: b * width, to: (b + 1) * width, count: 0 }))
  for (const n of lengths) (out[Math.min(nBins - 1, Math.floor(n / width))] as HistogramBin).count++
  return out
}

/** The smallest of 1, 2, 5 × 10^k that is at least `raw`. */
function niceWidth(raw: number): number {
  if (raw <= 1) return 1
  const p = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p
  return 10 * p
}

export interface SplitSummary {
  /** 'split' when held out from the training file, 'file' when a separate validation file. */
  mode: 'split' | 'file'
  validationFile?: string
  train: number
  validation: number
  /** Per class of the first label column: rows on each side. Empty without labels. */
  perClass: { name: string; train: number; validation: number }[]
  /** Validation rows whose input also occurs in training rows. */
  duplicates: number
  /** The first few, as file row numbers. */
  duplicateExamples: { trainRow: number; validationRow: number }[]
  warnings: string[]
}

export type SplitPlan =
  | { ok: true; train: Dataset; trainIdx: number[]; validation: Dataset; validationIdx: number[]; summary: SplitSummary }
  | { ok: false; error: DataError }

/**
 * Which rows train and which validate: held out from the dataset with the seed, or, when a
 * validation dataset is given, all of each (checked to have the same columns and classes).
 * The validation dataset takes the training classes, so label indices mean the same on both sides.
 */
export function planSplit(train: Dataset, validation: Dataset | null, options: { validationFraction: number; seed: number }): SplitPlan {
  let split: Split
  let valData: Dataset
  const warnings: string[] = []
  if (validation) {
    const check = useValidationDataset(train, validation)
    if (!check.ok) return check
    split = check.split
    valData = { ...validation, roles: train.roles, classes: train.classes }
    warnings.push(...check.warnings.map((w) => w.message))
  } else {
    split = splitDataset(train, options)
    valData = train
    if (split.overlap.count > 0) {
      warnings.push(`${split.overlap.count} validation row${split.overlap.count === 1 ? ' repeats' : 's repeat'} a training row exactly; validation scores will look better than they are. Remove duplicates from the file.`)
    }
  }
  const label = train.roles.labels[0]
  const perClass: SplitSummary['perClass'] = []
  if (label !== undefined && train.task !== 'language-modelling') {
    const names = (train.classes[label] ?? []).map((c) => c.label)
    const index = new Map(names.map((n, i) => [n, i]))
    const counts = names.map((name) => ({ name, train: 0, validation: 0 }))
    const count = (d: Dataset, idx: number[], side: 'train' | 'validation'): void => {
      const col = d.columns.indexOf(label)
      for (const i of idx) {
        const k = index.get((d.rows[i]?.[col] ?? '').trim())
        if (k !== undefined) (counts[k] as { train: number; validation: number })[side]++
      }
    }
    count(train, split.train, 'train')
    count(valData, split.validation, 'validation')
    perClass.push(...counts)
    const empty = counts.filter((c) => c.validation === 0).map((c) => `"${c.name}"`)
    if (empty.length > 0 && split.validation.length > 0) {
      warnings.push(`No validation examples for ${empty.slice(0, 5).join(', ')}${empty.length > 5 ? ', …' : ''}: accuracy on ${empty.length === 1 ? 'that class' : 'those classes'} cannot be measured. Add examples, or raise the validation split.`)
    }
  }
  return {
    ok: true,
    train,
    trainIdx: split.train,
    validation: valData,
    validationIdx: split.validation,
    summary: {
      mode: validation ? 'file' : 'split',
      ...(validation ? { validationFile: validation.name } : {}),
      train: split.train.length,
      validation: split.validation.length,
      perClass,
      duplicates: split.overlap.count,
      duplicateExamples: split.overlap.examples,
      warnings,
    },
  }
}

/** Distribution of a numeric column (a regression target) in `bins` equal-width bins from
 *  its minimum to its maximum: the regression counterpart of the class-balance chart. */
export function valueHistogram(dataset: Dataset, column: string, bins = 20): HistogramBin[] {
  const col = dataset.columns.indexOf(column)
  if (col < 0 || dataset.rows.length === 0) return []
  const xs = dataset.rows.map((r) => Number((r[col] ?? '').trim())).filter(Number.isFinite)
  if (xs.length === 0) return []
  const lo = Math.min(...xs)
  const hi = Math.max(...xs)
  const n = hi > lo ? bins : 1
  const width = hi > lo ? (hi - lo) / n : 1
  const out: HistogramBin[] = Array.from({ length: n }, (_, b) => ({ from: lo + b * width, to: lo + (b + 1) * width, count: 0 }))
  for (const x of xs) out[Math.min(n - 1, Math.floor((x - lo) / width))]!.count++
  return out
}
