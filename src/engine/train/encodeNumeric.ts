/**
 * Builds the Encoded sets for the two tasks that predict from or to numbers: tabular data
 * (standardised feature columns → a class or a number) and text regression (text → a number).
 * Every scale is fitted on the training rows and reused for validation.
 */
import type { Dataset } from '../data/types'
import { fitStandardizer, fitTargetScale, standardizeFeatures, standardizeTargets } from '../data/numericEncode'
import { encodeClassification, type TokenizerLike } from '../data/textBatches'
import type { Encoded, TabularEncoded } from './encoded'

export interface SplitRows {
  train: Dataset
  trainIdx: number[]
  validation: Dataset // the same dataset, or the user's validation file
  validationIdx: number[]
}

/** Numeric features (roles.features) with the first label column or the target. */
export function encodeTabular(split: SplitRows): { train: TabularEncoded; val: TabularEncoded } {
  const d = split.train
  const columns = d.roles.features
  if (columns.length === 0) throw new Error(`${d.name} has no numeric feature columns: choose at least one feature column in the dataset panel.`)
  const st = fitStandardizer(d, columns, split.trainIdx)
  const target = d.roles.labels.length === 0 ? d.roles.target : undefined
  const scale = target ? fitTargetScale(d, target, split.trainIdx) : undefined
  const label = d.roles.labels[0]
  const classes = label ? (d.classes[label] ?? []).map((c) => c.label) : undefined
  if (!scale && !classes) throw new Error(`${d.name} has neither a label column nor a numeric target: choose one in the dataset panel.`)
  const enc = (ds: Dataset, idx: number[]): TabularEncoded => {
    const out: TabularEncoded = { kind: 'tabular', n: idx.length, dim: columns.length, features: standardizeFeatures(ds, st, idx), columns: [...columns], standardizer: st }
    if (scale) return { ...out, values: standardizeTargets(ds, scale, idx), scale }
    const col = ds.columns.indexOf(label!)
    const index = new Map(classes!.map((c, i) => [c, i]))
    const labels = Int32Array.from(idx, (r) => {
      const v = ds.rows[r]?.[col] ?? ''
      const i = index.get(v)
      if (i === undefined) throw new Error(`${ds.name} row ${ds.rowNumbers[r] ?? r + 2}: label "${v}" is not one of the training classes (${classes!.join(', ')})`)
      return i
    })
    return { ...out, labels, classes: classes! }
  }
  return { train: enc(split.train, split.trainIdx), val: enc(split.validation, split.validationIdx) }
}

/** Text (roles.text) → the numeric target (roles.target), standardised. */
export function encodeTextRegression(split: SplitRows, tokenizer: TokenizerLike, seqLen: number): { train: Encoded; val: Encoded } {
  const d = split.train
  const target = d.roles.target
  if (!target) throw new Error(`${d.name} has no numeric target column: choose one in the dataset panel.`)
  const scale = fitTargetScale(d, target, split.trainIdx)
  const enc = (ds: Dataset, idx: number[]): Encoded => {
    const a = encodeClassification(ds, tokenizer, { seqLen, indices: idx })
    return { kind: 'regression', n: a.n, seqLen, tokens: a.ids, mask: a.mask, values: standardizeTargets(ds, scale, idx), scale }
  }
  return { train: enc(split.train, split.trainIdx), val: enc(split.validation, split.validationIdx) }
}
