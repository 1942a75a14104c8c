/** Settings checked on the page as they change, against the current model's limits (sent with
 *  the model: ModelSummary.limits) and the dataset's size, by the same rules the worker applies
 *  (settings/validate.ts). The worker's plan still has the last word — it knows the exact split
 *  and builds the tuning — so the page shows both: one message per control, its own first. */
import type { Settings } from '../settings/types'
import { contextFromLimits, validateSettings } from '../settings/validate'
import type { DatasetSummary, ModelSummary } from '../worker/protocol'

export interface Problem {
  field: string
  message: string
}

export interface CheckInput {
  settings: Settings
  model: ModelSummary | null
  dataset: DatasetSummary | null
  planProblems: readonly Problem[] // the worker's last plan
}

/** The page's own problems for these settings (none until a model with limits and a dataset
 *  it reads are loaded), then the worker's for the controls the page had nothing to say about. */
export function checkedProblems({ settings, model, dataset, planProblems }: CheckInput): Problem[] {
  const page = model?.limits && dataset && readsData(model, dataset) ? validateSettings(settings, contextFromLimits(model.limits, dataset, settings)) : []
  const out: Problem[] = [...page]
  for (const p of planProblems) if (!out.some((q) => q.field === p.field)) out.push(p)
  return out
}

export function sameProblems(a: readonly Problem[], b: readonly Problem[]): boolean {
  return a.length === b.length && a.every((p, i) => p.field === b[i]!.field && p.message === b[i]!.message)
}

/** Whether the worker trains this model on this dataset (a table trains a loaded model that
 *  reads rows of numbers, else the MLP the worker builds for it, whose limits the page does not
 *  have; a model that reads something else is the worker's to explain). */
export function readsData(model: ModelSummary, dataset: DatasetSummary): boolean {
  const kind = model.input?.kind ?? 'text'
  if (dataset.task === 'image-classification') return kind === 'image'
  if (dataset.task === 'tabular-classification' || dataset.task === 'tabular-regression') return kind === 'tabular'
  return kind === 'text'
}
