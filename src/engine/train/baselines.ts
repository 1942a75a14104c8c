/** The line a run has to beat, and the scores it is chosen from. */
import type { Metrics } from '../types/metrics'
import { ZERO_SHOT_NOTE } from '../../shared/baselineNote'
import { accuracy, confusionMatrix, macroF1 } from './metrics'

export interface Baseline {
  metrics: Metrics
  /** Short name of the reference the line is, shown on the chart, in the finished message,
   *  the report and the model card: "majority class (ham)", "zero-shot LM", "untrained head". */
  name: string
  /** Every score it was chosen from, in words. */
  note: string
}

/** Always answering the training split's commonest class, scored on validation: what a
 *  model that learned nothing from the inputs gets on an imbalanced set. Its loss is that of
 *  the same know-nothing model giving every row the training class frequencies (add-one
 *  smoothed), whose answer is the majority class too: a one-hot guess has no finite loss. */
export function majorityClass(trainLabels: ArrayLike<number>, valLabels: ArrayLike<number>, classes: readonly string[]): { metrics: Metrics; className: string } {
  const counts = new Array<number>(Math.max(classes.length, 1)).fill(0)
  for (let i = 0; i < trainLabels.length; i++) counts[trainLabels[i]!] = (counts[trainLabels[i]!] ?? 0) + 1
  let top = 0
  counts.forEach((c, k) => {
    if (c > counts[top]!) top = k
  })
  const truth = Array.from(valLabels)
  const preds = truth.map(() => top)
  const cm = confusionMatrix(truth, preds, Math.max(2, classes.length))
  const total = trainLabels.length + counts.length
  const loss = truth.reduce((a, y) => a - Math.log(((counts[y] ?? 0) + 1) / total), 0) / Math.max(truth.length, 1)
  return { metrics: { loss, accuracy: accuracy(truth, preds), macroF1: macroF1(cm), confusion: cm }, className: classes[top] ?? String(top) }
}

/**
 * Classification: the best by validation accuracy of always answering the majority class,
 * the zero-shot LM (text with the built-in LM) and the pretrained body with an untrained
 * head (or the head a checkpoint or a person's own model starts from: the model as loaded). A tie goes to the simpler reference (majority, then zero-shot). The note lists them
 * all beside chance level.
 */
export function lineToBeat(head: Metrics, numClasses: number, zeroShot: Metrics | null, majority: { metrics: Metrics; className: string } | null, zeroShotNote?: string, headOrigin: string | null = null, headBaseName: string | null = null): Baseline {
  const candidates: Baseline[] = []
  if (majority) candidates.push({ metrics: majority.metrics, name: `majority class (${majority.className})`, note: `always answering the commonest training class, “${majority.className}”` })
  if (zeroShot) candidates.push({ metrics: { ...zeroShot, loss: NaN }, name: 'zero-shot LM', note: ZERO_SHOT_NOTE })
  // a head that starts from a checkpoint's own weights is that checkpoint before fine-tuning;
  // a person's own model as loaded is named as theirs
  const headName = headOrigin ? (headBaseName ?? 'checkpoint head') : 'untrained head'
  candidates.push({ metrics: head, name: headName, note: headOrigin ? `${headOrigin}, before fine-tuning` : 'the pretrained body with an untrained head' })
  let best = candidates[0]!
  for (const c of candidates) if ((c.metrics.accuracy ?? -1) > (best.metrics.accuracy ?? -1)) best = c
  const scores = [
    majority ? `majority class ${pct(majority.metrics.accuracy)}` : null,
    zeroShot ? `zero-shot LM label scoring ${pct(zeroShot.accuracy)}${zeroShotNote ? ` (${zeroShotNote})` : ''}` : null,
    `${headName} ${pct(head.accuracy)}`,
    `chance level ${(100 / Math.max(2, numClasses)).toFixed(0)}%`,
  ].filter((x): x is string => x !== null)
  return { metrics: best.metrics, name: best.name, note: `${best.note} (${scores.join('; ')})` }
}

const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`)
