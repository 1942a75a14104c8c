import type { Dataset } from '../data/types'
import { MultiHead } from '../tuning/multitask'
import { taskWeightsFor } from '../../settings/taskWeights'
import type { Metrics, TaskMetrics } from '../types/metrics'
import { accuracy, confusionMatrix, macroF1 } from './metrics'

/** One label column of a multitask set: its classes and each row's class index. */
export interface TaskLabels {
  name: string
  classes: string[]
  labels: Int32Array // [n]
}

/** Every label column of `dataset` as a task, in the dataset's order (the first is the
 *  primary one, whose classes the confusion matrix shows). Empty for a single column. */
export function tasksOf(dataset: Pick<Dataset, 'roles' | 'classes'>, labelsByColumn: Record<string, Int32Array>): TaskLabels[] {
  if (dataset.roles.labels.length < 2) return []
  return dataset.roles.labels.map((name) => ({
    name,
    classes: (dataset.classes[name] ?? []).map((c) => c.label),
    labels: labelsByColumn[name] ?? new Int32Array(0),
  }))
}

/** One classification head per task on the shared pooled features, weighted by the
 *  taskWeights setting (missing weights are 1). */
export function multiHeadFor(inputDim: number, tasks: readonly Pick<TaskLabels, 'name' | 'classes'>[], weightsText: string, seed: number): MultiHead {
  const weights = taskWeightsFor(weightsText, tasks.length)
  return new MultiHead(
    tasks.map((t, i) => ({ name: t.name, kind: 'classification' as const, inputDim, numClasses: Math.max(2, t.classes.length), lossWeight: weights[i]! })),
    seed,
  )
}

/** Per-task accuracy and macro-F1 from predictions; the top-level accuracy and macro-F1
 *  are their means (what early stopping and the charts follow), the loss the weighted sum. */
export function multitaskMetrics(
  tasks: readonly Pick<TaskLabels, 'name' | 'classes'>[],
  weights: readonly number[],
  truth: readonly number[][],
  preds: readonly number[][],
  meanLosses: readonly number[],
): Metrics {
  const per: TaskMetrics[] = []
  let firstConfusion: number[][] | undefined
  tasks.forEach((t, i) => {
    const cm = confusionMatrix(truth[i]!, preds[i]!, Math.max(2, t.classes.length))
    if (i === 0) firstConfusion = cm
    per.push({ name: t.name, weight: weights[i] ?? 1, loss: meanLosses[i]!, accuracy: accuracy(truth[i]!, preds[i]!), macroF1: macroF1(cm) })
  })
  // Weighted as in the loss, so a task weighted 0 cannot drive early stopping or "best";
  // all weights 0 (nothing trains) falls back to the plain mean.
  const total = per.reduce((a, m) => a + m.weight, 0)
  const mean = (f: (m: TaskMetrics) => number) =>
    total > 0 ? per.reduce((a, m) => a + m.weight * f(m), 0) / total : per.reduce((a, m) => a + f(m), 0) / Math.max(per.length, 1)
  const loss = per.reduce((a, m) => a + m.weight * m.loss, 0)
  return { loss, accuracy: mean((m) => m.accuracy), macroF1: mean((m) => m.macroF1), ...(firstConfusion ? { confusion: firstConfusion } : {}), tasks: per }
}
