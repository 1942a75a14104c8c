import type { TokenizerLike } from '../data/textBatches'
import type { ForwardHooks, TinyGpt } from '../models/tinyGpt'
import type { Metrics } from '../types/metrics'
import { logitRows, passesOf, PASS_LOGITS, vocabOf } from './logitBudget'
import { accuracy, confusionMatrix, macroF1 } from './metrics'
import { labelLogProbRows, type PassSplit } from './inferencePasses'

/**
 * Zero-shot text classification with the pretrained language model: each class name is
 * scored as a continuation of "<text>\nLabel:" by its mean token log-probability, less the
 * same score after an empty text (calibration), and the best-scoring class is the prediction. It is what the base model can do before any
 * training, so it is a fairer baseline than an untrained head's chance level.
 */

export interface ZeroShotOptions {
  /** Text between the example and the class name (the class gets a leading space). */
  suffix?: string
  /** Sequences per forward pass (fewer when their label reads' logits would pass `logitFloats`). */
  batchSize?: number
  /** Logits one pass may hold, in floats: each label token read is one position's logits over
   *  the vocabulary (logitBudget.ts; Infinity: no bound, as before a 50,257-token GPT-2 needed one). */
  logitFloats?: number
  /** Text tokens kept per example (BOS included): the cost grows with it. zeroShotClassify
   *  reads as many as the fine-tuned model does (the encoded rows' length), so the two
   *  compare on the same text; the prompt's context may cut it shorter (see textTokens). */
  maxTextTokens?: number
  /** Subtract each class's score after an empty text (contextual calibration, Zhao et al.
   *  2021): a small LM's prior for one class name otherwise decides every example. */
  calibrate?: boolean
  /** The forward pass's hooks (a run's LoRA or adapters), to score with the tuned model. */
  hooks?: ForwardHooks
  /** A run on two workers (train/dataParallel.ts): each batch's rows are halved between them
   *  (without hooks: the replica holds the base model, not the loop's tuning). */
  split?: PassSplit | null
}

export interface ZeroShotResult {
  /** [n * C] mean log-probability of each class's tokens, row-major (before calibration). */
  scores: Float32Array
  /** [C] the same after an empty text: the prior that calibration removes (zeros when off). */
  prior: Float32Array
  predictions: number[]
  metrics: Metrics
  seconds: number
  /** Text tokens each example was scored on at most (BOS included). */
  textTokens: number
}

export const DEFAULT_SUFFIX = '\nLabel:'
const DEFAULT_TEXT_TOKENS = 32

/**
 * texts: per example its token ids, BOS first (already truncated as the loop sees them).
 * A class whose tokens are [l0..lk] is scored from the input prompt + [l0..l(k-1)]; inputs
 * that coincide (every single-token class of one example) run once, so two one-token
 * labels cost one forward pass per example, not two.
 */
export async function zeroShotScores(
  model: TinyGpt,
  tokenizer: TokenizerLike,
  texts: readonly (readonly number[])[],
  classes: readonly string[],
  options: ZeroShotOptions = {},
): Promise<Float32Array> {
  const suffix = tokenizer.encode(options.suffix ?? DEFAULT_SUFFIX)
  const labelIds = classes.map((c) => tokenizer.encode(` ${c}`))
  const textBudget = zeroShotTextTokens(model, tokenizer, classes, options)

  // One input per distinct (example, label prefix); each class reads log-probs from one input.
  const inputs = new Map<string, { ids: number[]; reads: { cls: number; example: number; pos: number; target: number }[] }>()
  texts.forEach((text, example) => {
    const prompt = [...text.slice(0, textBudget), ...suffix]
    labelIds.forEach((label, cls) => {
      if (label.length === 0) return
      const ids = [...prompt, ...label.slice(0, -1)]
      const key = ids.join(',')
      const entry = inputs.get(key) ?? { ids, reads: [] }
      label.forEach((target, k) => entry.reads.push({ cls, example, pos: prompt.length - 1 + k, target }))
      inputs.set(key, entry)
    })
  })

  const sums = new Float64Array(texts.length * classes.length)
  const list = [...inputs.values()].sort((a, b) => a.ids.length - b.ids.length) // similar lengths share a batch
  const batchSize = options.batchSize ?? 32
  // a pass holds one position's logits per read: as many reads as the shared budget allows
  const readsPerPass = logitRows(vocabOf(model), 1, Number.MAX_SAFE_INTEGER, options.logitFloats ?? PASS_LOGITS)
  for (const batch of passesOf(list, batchSize, (inp) => inp.reads.length, readsPerPass)) {
    const T = batch[batch.length - 1]!.ids.length
    const tokens = new Int32Array(batch.length * T).fill(tokenizer.padId) // right padding: causal attention never sees it
    const rows: number[] = []
    const targets: number[] = []
    batch.forEach((inp, b) => {
      tokens.set(inp.ids, b * T)
      for (const r of inp.reads) {
        rows.push(b * T + r.pos)
        targets.push(r.target)
      }
    })
    // Each read's log-probability (inferencePasses.ts; its picks are in row order).
    const values = await labelLogProbRows(model, tokens, [batch.length, T], Int32Array.from(rows), Int32Array.from(targets), options.hooks, options.split)
    let m = 0
    for (const inp of batch) for (const r of inp.reads) sums[r.example * classes.length + r.cls]! += values[m++]!
  }
  const scores = new Float32Array(sums.length)
  for (let i = 0; i < texts.length; i++) {
    labelIds.forEach((label, c) => {
      scores[i * classes.length + c] = label.length ? sums[i * classes.length + c]! / label.length : -Infinity
    })
  }
  return scores
}

/** Text tokens per example the prompt leaves room for: the asked-for count, cut so that the
 *  text, the suffix and the longest class name fit the model's context. */
export function zeroShotTextTokens(model: TinyGpt, tokenizer: TokenizerLike, classes: readonly string[], options: ZeroShotOptions = {}): number {
  const suffix = tokenizer.encode(options.suffix ?? DEFAULT_SUFFIX)
  const maxLabel = Math.max(1, ...classes.map((c) => tokenizer.encode(` ${c}`).length))
  const maxLen = model.config.seqLen
  const budget = Math.min(options.maxTextTokens ?? DEFAULT_TEXT_TOKENS, maxLen - suffix.length - maxLabel)
  if (budget < 1) throw new Error(`Zero-shot scoring: class names are too long for a context of ${maxLen} tokens`)
  return budget
}

/** The non-padding ids of each row of an encoded classification set (BOS first). */
export function rowsFromEncoded(set: { n: number; seqLen: number; tokens: Int32Array; mask: Float32Array }): number[][] {
  const out: number[][] = []
  for (let r = 0; r < set.n; r++) {
    const row: number[] = []
    for (let t = 0; t < set.seqLen; t++) if (set.mask[r * set.seqLen + t]! > 0) row.push(set.tokens[r * set.seqLen + t]!)
    out.push(row)
  }
  return out
}

/** Scores, predictions and metrics (no loss: it is not a trained head) on a labelled set. */
export async function zeroShotClassify(
  model: TinyGpt,
  tokenizer: TokenizerLike,
  set: { n: number; seqLen: number; tokens: Int32Array; mask: Float32Array; labels: Int32Array; classes: string[] },
  options: ZeroShotOptions = {},
): Promise<ZeroShotResult> {
  const t0 = Date.now()
  const C = set.classes.length
  const rows = rowsFromEncoded(set)
  const calibrate = options.calibrate ?? true
  // As many text tokens as the fine-tuned model reads: the same text on both sides of the comparison.
  const opts = { ...options, maxTextTokens: options.maxTextTokens ?? set.seqLen }
  // The empty text rides along as one more row, so calibration costs one batch entry per class.
  const all = await zeroShotScores(model, tokenizer, calibrate ? [...rows, [tokenizer.bosId]] : rows, set.classes, opts)
  const scores = all.subarray(0, set.n * C)
  const prior = calibrate ? all.slice(set.n * C) : new Float32Array(C)
  const predictions = Array.from({ length: set.n }, (_, i) => {
    let best = 0
    for (let c = 1; c < C; c++) if (scores[i * C + c]! - prior[c]! > scores[i * C + best]! - prior[best]!) best = c
    return best
  })
  const truth = Array.from(set.labels)
  const cm = confusionMatrix(truth, predictions, C)
  const metrics: Metrics = { loss: NaN, accuracy: accuracy(truth, predictions), macroF1: macroF1(cm), confusion: cm }
  return { scores: scores.slice(), prior, predictions, metrics, seconds: (Date.now() - t0) / 1000, textTokens: zeroShotTextTokens(model, tokenizer, set.classes, opts) }
}
