/** Evaluation metrics on plain numbers (values already read back from tensors). */

type Nums = ArrayLike<number>

function checkSameLength(a: Nums, b: Nums): void {
  if (a.length !== b.length) throw new Error(`Length mismatch: ${a.length} vs ${b.length}`)
}

/** Index of the largest value in each row of a row-major [N, C] array (logits → classes). */
export function argmaxRows(values: Nums, numClasses: number): number[] {
  const n = Math.floor(values.length / numClasses)
  const out = new Array<number>(n)
  for (let r = 0; r < n; r++) {
    let best = 0
    for (let c = 1; c < numClasses; c++) if ((values[r * numClasses + c] ?? -Infinity) > (values[r * numClasses + best] ?? -Infinity)) best = c
    out[r] = best
  }
  return out
}

/** Fraction of positions where the predicted class equals the true one (0 for no data). */
export function accuracy(yTrue: Nums, yPred: Nums): number {
  checkSameLength(yTrue, yPred)
  if (yTrue.length === 0) return 0
  let hit = 0
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hit++
  return hit / yTrue.length
}

/** counts[t][p]: examples of true class t predicted as p. Labels outside [0, numClasses) throw. */
export function confusionMatrix(yTrue: Nums, yPred: Nums, numClasses: number): number[][] {
  checkSameLength(yTrue, yPred)
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0))
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i] ?? -1
    const p = yPred[i] ?? -1
    const row = m[t]
    if (!row || p < 0 || p >= numClasses) throw new Error(`Label out of range at ${i}: true ${t}, predicted ${p}`)
    row[p] = (row[p] ?? 0) + 1
  }
  return m
}

export interface ClassScore {
  precision: number
  recall: number
  f1: number
  support: number // true examples of this class
  present: boolean // in the truth or in the predictions
}

/** Precision, recall and F1 per class from a confusion matrix (0 where undefined). */
export function perClassScores(confusion: number[][]): ClassScore[] {
  const k = confusion.length
  return confusion.map((row, c) => {
    const tp = row[c] ?? 0
    const support = row.reduce((a, b) => a + b, 0)
    let predicted = 0
    for (let r = 0; r < k; r++) predicted += confusion[r]?.[c] ?? 0
    const precision = predicted > 0 ? tp / predicted : 0
    const recall = support > 0 ? tp / support : 0
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0
    return { precision, recall, f1, support, present: support > 0 || predicted > 0 }
  })
}

/** Unweighted mean F1 over the classes that occur in the truth or the predictions. Classes
 *  absent from both say nothing about the model (e.g. a small validation split missing a
 *  rare class) and would drag the mean down with an arbitrary 0, so they are left out;
 *  a class predicted but never true, or true but never predicted, counts with F1 = 0. */
export function macroF1(confusion: number[][]): number {
  const present = perClassScores(confusion).filter((s) => s.present)
  if (present.length === 0) return 0
  return present.reduce((a, s) => a + s.f1, 0) / present.length
}

export function meanAbsoluteError(pred: Nums, target: Nums): number {
  checkSameLength(pred, target)
  if (pred.length === 0) return 0
  let s = 0
  for (let i = 0; i < pred.length; i++) s += Math.abs((pred[i] ?? 0) - (target[i] ?? 0))
  return s / pred.length
}

export function rootMeanSquaredError(pred: Nums, target: Nums): number {
  checkSameLength(pred, target)
  if (pred.length === 0) return 0
  let s = 0
  for (let i = 0; i < pred.length; i++) s += ((pred[i] ?? 0) - (target[i] ?? 0)) ** 2
  return Math.sqrt(s / pred.length)
}

/** exp(mean negative log-likelihood per token, in nats). */
export function perplexity(meanNll: number): number {
  return Math.exp(meanNll)
}
