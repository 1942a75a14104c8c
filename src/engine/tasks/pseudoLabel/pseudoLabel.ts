import type { TokenizerLike } from '../../data/textBatches'
import type { TinyGpt } from '../../models/tinyGpt'
import type { SftExample } from '../sft/data'
import { DEFAULT_SUFFIX, zeroShotScores, type ZeroShotOptions } from '../../train/zeroShot'

/**
 * Learning without labels, first round: the pretrained LM's zero-shot scores for the
 * class names the user typed (train/zeroShot.ts, calibrated by the scores after an empty
 * text) become pseudo-labels with a confidence (softmax over the calibrated class scores);
 * a histogram of confidences lets the user pick a threshold, and the rows at or above it
 * are the training set of the next round.
 */

export interface PseudoLabels {
  classes: string[]
  /** Per row: the predicted class index. */
  labels: number[]
  /** Per row: the predicted class's probability, in [1/C, 1]. */
  confidence: number[]
  /** Per row × class, row-major: softmax of the calibrated scores. */
  probs: Float32Array
}

/** Softmax of calibrated scores (score − prior) per row → labels and confidences. */
export function pseudoLabelsFromScores(scores: Float32Array, prior: Float32Array, classes: readonly string[]): PseudoLabels {
  const C = classes.length
  const n = scores.length / C
  const probs = new Float32Array(scores.length)
  const labels: number[] = []
  const confidence: number[] = []
  for (let i = 0; i < n; i++) {
    let max = -Infinity
    for (let c = 0; c < C; c++) max = Math.max(max, scores[i * C + c]! - prior[c]!)
    let z = 0
    for (let c = 0; c < C; c++) z += Math.exp(scores[i * C + c]! - prior[c]! - max)
    let best = 0
    let bestP = -1
    for (let c = 0; c < C; c++) {
      const pc = Math.exp(scores[i * C + c]! - prior[c]! - max) / z
      probs[i * C + c] = pc
      if (pc > bestP) {
        best = c
        bestP = pc
      }
    }
    labels.push(best)
    confidence.push(bestP) // in double precision: the histogram and threshold read it
  }
  return { classes: [...classes], labels, confidence, probs }
}

/** Checks the typed class names: at least two, none empty, no duplicates. */
export function checkClassNames(raw: readonly string[]): string[] {
  const classes = raw.map((c) => c.trim())
  if (classes.length < 2) throw new Error(`Learning without labels needs at least two class names (got ${classes.length}): type them separated by commas, e.g. "spam, ham".`)
  const empty = classes.findIndex((c) => c === '')
  if (empty >= 0) throw new Error(`Class name ${empty + 1} is empty: type a word or short phrase for each class.`)
  const dup = classes.find((c, i) => classes.indexOf(c) !== i)
  if (dup !== undefined) throw new Error(`The class name "${dup}" is typed twice: give each class its own name.`)
  return classes
}

/** Zero-shot pseudo-labels for token-id rows (BOS first) with the built-in LM. */
export async function zeroShotPseudoLabels(
  model: TinyGpt,
  tokenizer: TokenizerLike,
  rows: readonly (readonly number[])[],
  classNames: readonly string[],
  options: ZeroShotOptions = {},
): Promise<PseudoLabels> {
  const classes = checkClassNames(classNames)
  const C = classes.length
  const calibrate = options.calibrate ?? true
  const all = await zeroShotScores(model, tokenizer, calibrate ? [...rows, [tokenizer.bosId]] : rows, classes, options)
  const scores = all.subarray(0, rows.length * C)
  const prior = calibrate ? all.slice(rows.length * C) : new Float32Array(C)
  return pseudoLabelsFromScores(scores, prior, classes)
}

export interface Histogram {
  /** Left edges of the bins; the last bin includes its right edge 1. */
  edges: number[]
  counts: number[]
  /** counts per bin and class: perClass[b][c]. */
  perClass: number[][]
}

/** Confidence histogram over [1/C, 1] in `bins` equal bins, split by predicted class. */
export function confidenceHistogram(p: PseudoLabels, bins = 10): Histogram {
  const C = p.classes.length
  const lo = 1 / C
  const width = (1 - lo) / bins
  const edges = Array.from({ length: bins }, (_, b) => lo + b * width)
  const counts = new Array<number>(bins).fill(0)
  const perClass = Array.from({ length: bins }, () => new Array<number>(C).fill(0))
  p.confidence.forEach((conf, i) => {
    // The float32 scores leave confidences ~1e-7 off: a value on an edge goes to the bin it names.
    const b = Math.min(bins - 1, Math.max(0, Math.floor((conf - lo) / width + 1e-6)))
    counts[b]!++
    perClass[b]![p.labels[i]!]!++
  })
  return { edges, counts, perClass }
}

export interface Selection {
  threshold: number
  /** Row indices kept (confidence ≥ threshold), in row order. */
  rows: number[]
  /** Rows kept per class name. */
  perClass: Record<string, number>
  /** Classes that kept no row (the next round cannot learn them). */
  emptyClasses: string[]
}

/** The rows at or above the threshold; refuses a threshold no row reaches, saying what to do. */
export function selectConfident(p: PseudoLabels, threshold: number): Selection {
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`The confidence threshold must be between 0 and 1, got ${threshold}`)
  const rows: number[] = []
  const perClass: Record<string, number> = Object.fromEntries(p.classes.map((c) => [c, 0]))
  p.confidence.forEach((conf, i) => {
    if (conf >= threshold) {
      rows.push(i)
      perClass[p.classes[p.labels[i]!]!]!++
    }
  })
  if (rows.length === 0) {
    const best = Math.max(...p.confidence)
    throw new Error(
      `No row has a confidence of at least ${threshold.toFixed(2)} (the highest is ${best.toFixed(2)}): lower the threshold to ${(Math.floor(best * 100 + 1e-6) / 100).toFixed(2)} or below, or rephrase the class names, or add a few labelled rows.`,
    )
  }
  return { threshold, rows, perClass, emptyClasses: p.classes.filter((c) => perClass[c] === 0) }
}

/**
 * Class-balanced selection (as class-balanced self-training, Zou et al. 2018): a zero-shot
 * model that favours one class puts most confident rows in it, and a classifier trained on
 * them learns the favourite. Each class keeps at most as many rows as the smallest non-empty
 * class, its most confident first; rows stay in row order.
 */
export function balanceClasses(p: PseudoLabels, sel: Selection): Selection {
  const byClass = p.classes.map((_, c) => sel.rows.filter((i) => p.labels[i] === c).sort((a, b) => p.confidence[b]! - p.confidence[a]! || a - b))
  const counts = byClass.map((r) => r.length).filter((n) => n > 0)
  const cap = Math.min(...counts)
  const rows = byClass.flatMap((r) => r.slice(0, cap)).sort((a, b) => a - b)
  const perClass: Record<string, number> = Object.fromEntries(p.classes.map((c, k) => [c, Math.min(cap, byClass[k]!.length)]))
  return { threshold: sel.threshold, rows, perClass, emptyClasses: sel.emptyClasses }
}

/** The threshold that keeps (at least) the given share of rows: the confidence of the row at that rank. */
export function thresholdForShare(p: PseudoLabels, share: number): number {
  if (!(share > 0 && share <= 1)) throw new RangeError(`The share of rows to keep must be in (0, 1], got ${share}`)
  const sorted = [...p.confidence].sort((a, b) => b - a)
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)]!
}

/** Accuracy of pseudo-labels against true label names of the same rows. Truth names must be class names. */
export function pseudoLabelAccuracy(p: PseudoLabels, truth: readonly string[], rows?: readonly number[]): number {
  const idx = rows ?? truth.map((_, i) => i)
  if (idx.length === 0) return NaN
  let right = 0
  for (const i of idx) {
    const t = truth[i]
    if (t === undefined) throw new RangeError(`Row ${i} has no true label`)
    if (!p.classes.includes(t)) throw new Error(`The validation label "${t}" (row ${i + 1}) is not one of the class names ${p.classes.map((c) => `"${c}"`).join(', ')}: type the class names as the validation file spells them.`)
    if (p.classes[p.labels[i]!] === t) right++
  }
  return right / idx.length
}

/**
 * Self-training of the model's own label scores (as zero-shot self-training does with the
 * zero-shot model itself, Gera et al. 2022, and iPET with a pattern's verbalizer, Schick and
 * Schütze 2021): each kept row becomes the prompt zero-shot scores, "<text>\nLabel:", with its
 * pseudo-label's name as the answer, " <class>", and only the answer's tokens count in the loss
 * (the SFT task). After the round the tuned model labels every row the zero-shot way.
 * rows: token ids, BOS first (cut to `textTokens`, as zero-shot reads them).
 */
export function labelPromptExamples(
  tokenizer: TokenizerLike,
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  classes: readonly string[],
  textTokens: number,
): { examples: SftExample[]; seqLen: number } {
  const suffix = tokenizer.encode(DEFAULT_SUFFIX)
  const names = classes.map((c) => tokenizer.encode(` ${c}`))
  const seqLen = textTokens + suffix.length + Math.max(...names.map((n) => n.length))
  const examples = rows.map((row, i) => {
    const answer = names[labels[i]!]!
    const prompt = [...row.slice(0, textTokens), ...suffix]
    return { row: i + 1, ids: [...prompt, ...answer], mask: [...prompt.map(() => 0), ...answer.map(() => 1)], promptCut: 0 }
  })
  return { examples, seqLen }
}

/**
 * The average of two labellings' class probabilities, row by row; `weight` is the second's
 * share. Self-training averages the zero-shot labels with each round's tuned labels, so a
 * round cannot drift far from what the model knew before it (a teacher-student ensemble).
 */
export function averageLabels(a: PseudoLabels, b: PseudoLabels, weight = 0.5): PseudoLabels {
  if (a.probs.length !== b.probs.length || a.classes.join('\u0000') !== b.classes.join('\u0000')) throw new RangeError('averageLabels: the two labellings cover different rows or classes')
  const C = a.classes.length
  const probs = new Float32Array(a.probs.length)
  const labels: number[] = []
  const confidence: number[] = []
  for (let i = 0; i < a.labels.length; i++) {
    let best = 0
    let bestP = -1
    for (let c = 0; c < C; c++) {
      const p = (1 - weight) * a.probs[i * C + c]! + weight * b.probs[i * C + c]!
      probs[i * C + c] = p
      if (p > bestP) {
        best = c
        bestP = p
      }
    }
    labels.push(best)
    confidence.push(bestP)
  }
  return { classes: [...a.classes], labels, confidence, probs }
}
