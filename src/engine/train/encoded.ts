/** Data ready for a body: the model's inputs and what it learns to predict. */
import type { Standardizer, TargetScale } from '../data/numericEncode'
import type { EncodedImages } from './imageBatches'
import type { TaskLabels } from './multitaskData'
import type { PairsEncoded, SftEncoded } from '../tasks/lmEncoded'

export type { TargetScale }

export type Encoded =
  // Text classification; tasks: ≥ 2 label columns (multitask).
  | { kind: 'classification'; n: number; seqLen: number; tokens: Int32Array; mask: Float32Array; labels: Int32Array; classes: string[]; tasks?: TaskLabels[] }
  // Language modelling: n blocks of seqLen + 1 ids.
  | { kind: 'lm'; n: number; seqLen: number; tokens: Int32Array }
  // Text → a number; values standardised with the training split's scale.
  | { kind: 'regression'; n: number; seqLen: number; tokens: Int32Array; mask: Float32Array; values: Float32Array; scale: TargetScale }
  // Standardised numeric features [n, dim] → a class (labels, classes) or a number (values, scale).
  | TabularEncoded
  // Pixels [n, H, W, 3] for an image body (classification).
  | EncodedImages
  // Instruction tuning (loss on answer tokens only) and preference pairs (DPO): tasks/lmEncoded.ts.
  | SftEncoded
  | PairsEncoded

export interface TabularEncoded {
  kind: 'tabular'
  n: number
  dim: number
  features: Float32Array
  columns: string[]
  standardizer: Standardizer // fitted on the training rows; the playground reuses it
  labels?: Int32Array
  classes?: string[]
  values?: Float32Array
  scale?: TargetScale
}

/** Class labels of a classification set (text, image or tabular); null otherwise. */
export function labelsOf(set: Encoded): { labels: Int32Array; classes: string[] } | null {
  if (set.kind === 'classification' || set.kind === 'image') return set
  if (set.kind === 'tabular' && set.labels && set.classes) return { labels: set.labels, classes: set.classes }
  return null
}

/** Standardised targets of a regression set (text or tabular); null otherwise. */
export function valuesOf(set: Encoded): { values: Float32Array; scale: TargetScale } | null {
  if (set.kind === 'regression') return set
  if (set.kind === 'tabular' && set.values && set.scale) return { values: set.values, scale: set.scale }
  return null
}

/** The label columns of a multitask set (text classification with two or more); null otherwise. */
export function tasksOf(set: Encoded): TaskLabels[] | null {
  return set.kind === 'classification' && set.tasks && set.tasks.length > 1 ? set.tasks : null
}

/** What the task head must output for this set: classes, one number, or none (LM). */
export function headNeedOf(set: Encoded): number | 'regression' | null {
  if (valuesOf(set)) return 'regression'
  return labelsOf(set)?.classes.length ?? null
}
