/**
 * A *ForSequenceClassification checkpoint's head read back into the studio's head layout: the
 * inverse of seqClsHead.ts's `seqClsTensors`. What the studio's "Merged model" export writes for
 * a run with a head, and what the Hub's sequence classifiers hold:
 *   GPT2 / LlamaForSequenceClassification: `score.weight` [labels, d], no bias;
 *   BertForSequenceClassification: `bert.pooler.dense` (tanh) then `classifier`;
 *   DistilBertForSequenceClassification: `pre_classifier` (ReLU) then `classifier`.
 * HF's nn.Linear [out, in] becomes the studio's [in, out] (tuning/heads.ts: `head.task.pre.*`,
 * `head.task.kernel` [D, C], `head.task.bias`). Classes come from config's id2label in index
 * order; `problem_type: regression` (or one label and no problem type, as transformers reads
 * it) is a regression head in the checkpoint's own units, plus `studio_regression_offset` when
 * the config has one (a decoder's `score` has no bias to hold the targets' mean).
 *
 * Tensors are named as Hugging Face names them in the class; a PEFT adapter's
 * `base_model.model.` prefix is accepted too (its `modules_to_save` head).
 */
import type { HfConfig } from './config'
import type { LoadedTensor } from './safetensors'
import { SEQ_CLS_ARCHITECTURE } from './seqClsHead'
import { ModelLoadError } from '../models/modelLoadError'

/** A sequence-classification head as the studio holds it ([in, out] layouts). */
export interface LoadedSeqClsHead {
  /** The class it was saved by (GPT2ForSequenceClassification, …). */
  architecture: string
  /** Class names in output order (id2label; LABEL_i where the config names none); [] for regression. */
  labels: string[]
  regression: boolean
  /** Added to a regression output to give the target's units (config's studio_regression_offset; 0 when absent). */
  offset: number
  /** Hidden size D. */
  dim: number
  /** Outputs: the number of classes, or 1 for regression. */
  outputs: number
  /** The dense layer before the output (BERT's pooler, DistilBERT's pre_classifier): kernel [D, D] as [in, out]; null for decoders. */
  pre: { kernel: Float32Array; bias: Float32Array; activation: 'tanh' | 'relu' } | null
  /** The output layer: kernel [D, outputs] as [in, out]; bias [outputs] (null for decoders' `score`). */
  kernel: Float32Array
  bias: Float32Array | null
}

const PEFT_PREFIX = 'base_model.model.'

/** Whether config.json names a *ForSequenceClassification architecture. */
export function namesSeqCls(configText: string | null | undefined): boolean {
  if (!configText) return false
  try {
    const a = (JSON.parse(configText) as { architectures?: unknown }).architectures
    return Array.isArray(a) && a.some((x) => typeof x === 'string' && /ForSequenceClassification$/.test(x))
  } catch {
    return false
  }
}

/**
 * The checkpoint's head, or null when it has none (config names no *ForSequenceClassification
 * class and the tensors hold no `score.weight` / `classifier.weight`). A head that is named but
 * missing or misshapen, or one the studio's single-label heads cannot hold (multi-label,
 * several regression outputs), is refused by name. `pre` stands in for a BERT pooler or
 * DistilBERT pre_classifier the tensors lack (a PEFT adapter saves only `modules_to_save`:
 * the body's own then applies, as in PEFT).
 */
export function readSeqClsHead(cfg: HfConfig, configText: string | null, tensors: ReadonlyMap<string, LoadedTensor>, opts: { file?: string; pre?: { kernel: Float32Array; bias: Float32Array } | null } = {}): LoadedSeqClsHead | null {
  const file = opts.file ?? 'model.safetensors'
  const get = (name: string) => tensors.get(name) ?? tensors.get(PEFT_PREFIX + name)
  const decoder = cfg.modelType === 'gpt2' || cfg.modelType === 'llama'
  const d = cfg.modelType === 'gpt2' ? cfg.nEmbd : cfg.hiddenSize
  const arch = SEQ_CLS_ARCHITECTURE[cfg.modelType]
  const out = decoder ? 'score' : 'classifier'
  const w = get(`${out}.weight`)
  if (!w) {
    if (namesSeqCls(configText)) throw new ModelLoadError(`${file}: config.json names ${arch} but the weights have no "${out}.weight", the head that class reads. Choose the model.safetensors saved with this config.json.`, file)
    return null
  }
  const shapeError = (name: string, t: LoadedTensor, want: number[]) => new ModelLoadError(`${file}: "${name}" has shape [${t.shape.join(', ')}] but ${arch} on this model (hidden size ${d}) needs [${want.join(', ')}].`, file)
  const c = w.shape[0] ?? 0
  if (w.shape.length !== 2 || w.shape[1] !== d || c < 1) throw shapeError(`${out}.weight`, w, [c || 2, d])
  const config = parseLabels(configText)
  const regression = config.problemType === 'regression' || (config.problemType === null && c === 1)
  if (config.problemType === 'multi_label_classification') throw new ModelLoadError(`config.json: this head is multi-label (problem_type "multi_label_classification": each class a separate yes/no), and the studio's classification heads pick one class per text. Load the body alone (its config.json without the head), or a single-label classifier.`, 'config.json')
  if (regression && c !== 1) throw new ModelLoadError(`config.json: a regression head with ${c} outputs; the studio's regression heads predict one number. Choose a checkpoint with num_labels 1.`, 'config.json')
  if (!regression && c < 2) throw new ModelLoadError(`config.json: a classification head needs at least 2 labels, and "${out}.weight" has ${c}. Set problem_type "regression" for a one-number head.`, 'config.json')
  // nn.Linear [out, in] → [in, out]
  const transpose = (t: LoadedTensor, rows: number, cols: number) => {
    const o = new Float32Array(rows * cols)
    for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) o[k * rows + r] = t.data[r * cols + k]!
    return o
  }
  let bias: Float32Array | null = null
  let pre: LoadedSeqClsHead['pre'] = null
  if (decoder) {
    if (get('score.bias')) throw new ModelLoadError(`${file}: has "score.bias", which ${arch}'s score layer does not have: the checkpoint is not that class's.`, file)
  } else {
    const b = get('classifier.bias')
    if (!b) throw new ModelLoadError(`${file}: has no tensor "classifier.bias", which a ${arch} head needs.`, file)
    if (b.shape.join() !== String(c)) throw shapeError('classifier.bias', b, [c])
    bias = Float32Array.from(b.data)
    const name = cfg.modelType === 'bert' ? 'bert.pooler.dense' : 'pre_classifier'
    const activation = cfg.modelType === 'bert' ? 'tanh' : 'relu'
    const pw = get(`${name}.weight`) ?? (cfg.modelType === 'bert' ? get('pooler.dense.weight') : undefined)
    const pb = get(`${name}.bias`) ?? (cfg.modelType === 'bert' ? get('pooler.dense.bias') : undefined)
    if (pw && pb) {
      if (pw.shape.join() !== `${d},${d}`) throw shapeError(`${name}.weight`, pw, [d, d])
      if (pb.shape.join() !== String(d)) throw shapeError(`${name}.bias`, pb, [d])
      pre = { kernel: transpose(pw, d, d), bias: Float32Array.from(pb.data), activation }
    } else if (opts.pre) {
      pre = { kernel: opts.pre.kernel, bias: opts.pre.bias, activation }
    } else throw new ModelLoadError(`${file}: has no tensor "${name}.weight", which a ${arch} head needs.`, file)
  }
  const labels = regression ? [] : config.labels?.length === c ? config.labels : Array.from({ length: c }, (_, i) => `LABEL_${i}`)
  return { architecture: arch, labels, regression, offset: config.offset, dim: d, outputs: c, pre, kernel: transpose(w, c, d), bias }
}

function parseLabels(configText: string | null): { labels: string[] | null; problemType: string | null; offset: number } {
  let o: Record<string, unknown> = {}
  try {
    o = configText ? (JSON.parse(configText) as Record<string, unknown>) : {}
  } catch {
    // parseHfConfig has refused a config that is not JSON before the weights are read
  }
  const id2 = o.id2label && typeof o.id2label === 'object' ? (o.id2label as Record<string, unknown>) : null
  let labels: string[] | null = null
  if (id2) {
    const keys = Object.keys(id2).map(Number)
    const n = keys.length
    // index order 0..n-1 (JSON object keys are strings, and may come in any order)
    if (n > 0 && keys.every((k) => Number.isInteger(k) && k >= 0 && k < n) && new Set(keys).size === n) labels = Array.from({ length: n }, (_, i) => String(id2[String(i)]))
  }
  return {
    labels,
    problemType: typeof o.problem_type === 'string' ? o.problem_type : null,
    offset: typeof o.studio_regression_offset === 'number' && Number.isFinite(o.studio_regression_offset) ? o.studio_regression_offset : 0,
  }
}

/** Where the dataset's classes are in the head: `order[i]` is the head output of dataset class
 *  i, matched by name (exact, as id2label spells them); or, when the names differ, words that
 *  name both lists. */
export function matchClasses(head: LoadedSeqClsHead, classes: readonly string[]): { order: number[] } | { mismatch: string } {
  const list = (xs: readonly string[]) => xs.join(', ')
  if (head.regression) return { mismatch: `This checkpoint's head (${head.architecture}) predicts a number (regression), and the dataset has classes (${list(classes)}).` }
  const at = new Map(head.labels.map((n, i) => [n, i]))
  const order = classes.map((c) => at.get(c) ?? -1)
  if (classes.length === head.labels.length && order.every((i) => i >= 0) && new Set(order).size === order.length) return { order }
  return { mismatch: `This checkpoint's head (${head.architecture}) classifies ${list(head.labels)}; the dataset's classes are ${list(classes)}.` }
}

/**
 * The head's values for the studio's `Head` params (names after `head.<task>.`: `pre.kernel`,
 * `pre.bias`, `kernel`, `bias`): output columns in `order` (dataset class i ← head output
 * order[i]); a regression head in the standardised units of `scale` (the studio trains on
 * (y − mean) / std): kernel / std and (bias + offset − mean) / std. A decoder's score has no
 * bias, so there `scale.mean` must be the head's offset (the caller centres its targets there).
 */
export function studioHeadValues(head: LoadedSeqClsHead, opts: { order?: readonly number[] | null; scale?: { mean: number; std: number } | null } = {}): Map<string, Float32Array> {
  const { dim: d, outputs: c } = head
  const order = opts.order ?? Array.from({ length: c }, (_, i) => i)
  const std = opts.scale?.std ?? 1
  const mean = opts.scale?.mean ?? head.offset
  if (!head.bias && Math.abs(mean - head.offset) > 1e-12) throw new Error(`${head.architecture}'s score has no bias: its targets must be centred at its offset (${head.offset}), not ${mean}.`)
  const kernel = new Float32Array(d * order.length)
  for (let r = 0; r < d; r++) for (let j = 0; j < order.length; j++) kernel[r * order.length + j] = head.kernel[r * c + order[j]!]! / std
  const out = new Map<string, Float32Array>()
  if (head.pre) out.set('pre.kernel', head.pre.kernel).set('pre.bias', head.pre.bias)
  out.set('kernel', kernel)
  if (head.bias) out.set('bias', Float32Array.from(order, (k) => (head.bias![k]! + head.offset - mean) / std))
  return out
}
