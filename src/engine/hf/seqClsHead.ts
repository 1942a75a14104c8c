/**
 * Classification and regression heads exactly as Hugging Face's *ForSequenceClassification
 * classes apply and save them, so a head trained here loads with
 * AutoModelForSequenceClassification (and one saved there loads here):
 *   GPT2ForSequenceClassification / LlamaForSequenceClassification: `score.weight` [labels, d],
 *     no bias, on the hidden state of each row's last real token;
 *   BertForSequenceClassification: the pooler tanh(`bert.pooler.dense`·h[CLS]) then `classifier`;
 *   DistilBertForSequenceClassification: relu(`pre_classifier`·h[CLS]) then `classifier`.
 * Weights are kept in the HF layout [out, in] (heads are small; no transposition on export).
 */
import * as tf from '@tensorflow/tfjs'
import type { HfConfig } from './config'
import type { HfModel } from './hfModel'
import { MODULE_PREFIX } from './peftAdapter'
import { writeSafetensors, type LoadedTensor, type TensorToWrite } from './safetensors'
import { hfCheckpointTensors } from './hfLoad'
import { ModelLoadError } from '../models/modelLoadError'

export const SEQ_CLS_ARCHITECTURE: Readonly<Record<HfConfig['modelType'], string>> = {
  gpt2: 'GPT2ForSequenceClassification',
  llama: 'LlamaForSequenceClassification',
  bert: 'BertForSequenceClassification',
  distilbert: 'DistilBertForSequenceClassification',
}

/** Head weight names and shapes for `labels` outputs. */
export function headShapes(cfg: HfConfig, labels: number): Map<string, number[]> {
  const d = cfg.modelType === 'gpt2' ? cfg.nEmbd : cfg.hiddenSize
  if (cfg.modelType === 'gpt2' || cfg.modelType === 'llama') return new Map([['score.weight', [labels, d]]])
  const pre = cfg.modelType === 'bert' ? 'bert.pooler.dense' : 'pre_classifier'
  return new Map([
    [`${pre}.weight`, [d, d]],
    [`${pre}.bias`, [d]],
    ['classifier.weight', [labels, d]],
    ['classifier.bias', [labels]],
  ])
}

export class SeqClsHead {
  readonly weights = new Map<string, tf.Variable>()

  private constructor(
    readonly cfg: HfConfig,
    readonly labels: number,
  ) {}

  /** A fresh head: normal(0, 0.02) weights and zero biases, as HF initialises them. A BERT
   *  checkpoint's own pooler is used when `pretrained` has it (BertModel checkpoints do). */
  static init(cfg: HfConfig, labels: number, seed = 1, pretrained?: ReadonlyMap<string, LoadedTensor>): SeqClsHead {
    const h = new SeqClsHead(cfg, labels)
    let s = seed
    for (const [name, shape] of headShapes(cfg, labels)) {
      const own = pretrained?.get(name) ?? pretrained?.get(name.replace(/^bert\./, ''))
      const t = own && own.shape.join() === shape.join() ? tf.tensor(own.data, shape) : name.endsWith('.bias') ? tf.zeros(shape) : tf.randomNormal(shape, 0, 0.02, 'float32', s++)
      h.weights.set(name, tf.variable(t, true))
      t.dispose()
    }
    return h
  }

  /** The head from a *ForSequenceClassification checkpoint's tensors (or a head-only file). */
  static fromTensors(cfg: HfConfig, tensors: ReadonlyMap<string, LoadedTensor>, file = 'model.safetensors'): SeqClsHead {
    const w = tensors.get(cfg.modelType === 'gpt2' || cfg.modelType === 'llama' ? 'score.weight' : 'classifier.weight')
    if (!w) throw new ModelLoadError(`${file}: has no classification head (score.weight or classifier.weight). Choose a checkpoint saved by a …ForSequenceClassification model, or train a new head.`, file)
    const labels = w.shape[0]!
    const want = headShapes(cfg, labels)
    for (const [name, shape] of want) {
      const t = tensors.get(name)
      if (!t) throw new ModelLoadError(`${file}: has no tensor "${name}", which a ${SEQ_CLS_ARCHITECTURE[cfg.modelType]} head needs.`, file)
      if (t.shape.join() !== shape.join()) throw new ModelLoadError(`${file}: tensor "${name}" has shape [${t.shape.join(', ')}] but the head needs [${shape.join(', ')}].`, file)
    }
    const h = new SeqClsHead(cfg, labels)
    for (const [name, shape] of want) {
      const t = tf.tensor(tensors.get(name)!.data, shape)
      h.weights.set(name, tf.variable(t, true))
      t.dispose()
    }
    return h
  }

  /** Final hidden states [B, T, D] and the attention mask [B, T] (right padding) → [B, labels]. */
  apply(hidden: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
    const [b, t, d] = hidden.shape
    const lin = (x: tf.Tensor2D, name: string) => {
      const y = tf.matMul(x, this.weights.get(`${name}.weight`)!, false, true)
      const bias = this.weights.get(`${name}.bias`)
      return (bias ? tf.add(y, bias) : y) as tf.Tensor2D
    }
    if (this.cfg.modelType === 'gpt2' || this.cfg.modelType === 'llama') {
      // one-hot of each row's last real token, as a [B, 1, T] × [B, T, D] product (gradient-safe)
      const last = tf.sub(tf.sum(mask.toInt(), 1), 1).toInt() as tf.Tensor1D
      const pick = tf.oneHot(last, t).toFloat().reshape([b, 1, t])
      const pooled = tf.matMul(pick, hidden).reshape([b, d]) as tf.Tensor2D
      return lin(pooled, 'score')
    }
    const cls = hidden.slice([0, 0, 0], [b, 1, d]).reshape([b, d]) as tf.Tensor2D
    if (this.cfg.modelType === 'bert') return lin(tf.tanh(lin(cls, 'bert.pooler.dense')), 'classifier')
    return lin(tf.relu(lin(cls, 'pre_classifier')), 'classifier')
  }

  /** Logits for token ids through the body and this head. */
  logits(model: HfModel, ids: tf.Tensor2D, mask: tf.Tensor2D, tokenTypeIds?: tf.Tensor2D): tf.Tensor2D {
    return this.apply(model.forward(ids, { attentionMask: mask, ...(tokenTypeIds ? { tokenTypeIds } : {}) }), mask)
  }

  async tensors(): Promise<TensorToWrite[]> {
    const out: TensorToWrite[] = []
    for (const [name, v] of this.weights) out.push({ name, shape: v.shape, data: (await v.data()) as Float32Array })
    return out
  }

  /** config.json for the body + head: the architecture, labels and (for regression) the problem
   *  type, and a pad token id for the decoders (HF needs one to find the last token). */
  configJson(baseConfigText: string, opts: { labelNames?: string[]; regression?: boolean; padTokenId?: number | null }): string {
    return seqClsConfig(baseConfigText, this.cfg, this.labels, opts)
  }

  dispose(): void {
    for (const v of this.weights.values()) v.dispose()
    this.weights.clear()
  }
}

/** The prefix a *ForSequenceClassification checkpoint puts before the body's weights. */
export const seqClsBodyPrefix = (cfg: HfConfig) => MODULE_PREFIX[cfg.modelType]

/** config.json of a *ForSequenceClassification checkpoint: the body's config with the
 *  architecture, num_labels (as id2label / label2id), problem_type and, for the decoders, the
 *  pad token id that class needs to find each row's last real token. */
export function seqClsConfig(baseConfigText: string, cfg: HfConfig, labels: number, opts: { labelNames?: string[]; regression?: boolean; padTokenId?: number | null; extra?: Record<string, unknown> }): string {
  const c = JSON.parse(baseConfigText) as Record<string, unknown>
  const names = opts.labelNames && opts.labelNames.length === labels ? opts.labelNames : Array.from({ length: labels }, (_, i) => `LABEL_${i}`)
  c.architectures = [SEQ_CLS_ARCHITECTURE[cfg.modelType]]
  c.id2label = Object.fromEntries(names.map((n, i) => [String(i), n]))
  c.label2id = Object.fromEntries(names.map((n, i) => [n, i]))
  c.problem_type = opts.regression ? 'regression' : 'single_label_classification'
  if (opts.padTokenId != null && c.pad_token_id == null) c.pad_token_id = opts.padTokenId
  Object.assign(c, opts.extra ?? {})
  return JSON.stringify(c, null, 2) + '\n'
}

/** What the checkpoint writer needs of a head the studio trained with the body's
 *  `headStructure` (tuning/heads.ts: `head.task.pre.kernel` / `.pre.bias` [in, out], then
 *  `head.task.kernel` [D, C] and `head.task.bias`). */
export interface StudioHeadWeights {
  params: readonly { name: string; variable: tf.Variable }[]
}

/**
 * The whole *ForSequenceClassification checkpoint of a body with a head the studio trained on it:
 * the body under the class's prefix (`bert.`, `distilbert.`, `transformer.`, `model.`; no LM
 * head) and the head under the class's names, nn.Linear's [out, in]: BERT's pooler as
 * `bert.pooler.dense`, DistilBERT's `pre_classifier`, the output layer as `classifier` (encoders)
 * or `score` (decoders, no bias). A regression head trained on standardised targets is written
 * in the target's own units (output × std + mean folded into the last layer); `score` has no
 * bias to hold the mean, so a decoder's is added by config's `studio_regression_offset`, which
 * the README names.
 */
export async function seqClsTensors(bodyTensors: readonly TensorToWrite[], cfg: HfConfig, head: StudioHeadWeights, opts: { regression?: { mean: number; std: number } | null } = {}): Promise<{ tensors: TensorToWrite[]; labels: number; offset: number }> {
  const decoder = cfg.modelType === 'gpt2' || cfg.modelType === 'llama'
  const byName = new Map(head.params.map((p) => [p.name.replace(/^head\.[^.]+\./, ''), p.variable] as const))
  const kernel = byName.get('kernel')
  if (!kernel || kernel.shape.length !== 2) throw new Error('The head has no output layer to export.')
  const bias = byName.get('bias') ?? null
  const pre = byName.get('pre.kernel') ?? null
  const preBias = byName.get('pre.bias') ?? null
  if (decoder && (pre || bias)) throw new Error(`This head is not ${SEQ_CLS_ARCHITECTURE[cfg.modelType]}'s: its score layer has no bias and nothing before it.`)
  if (!decoder && (!pre || !preBias || !bias)) throw new Error(`This head is not ${SEQ_CLS_ARCHITECTURE[cfg.modelType]}'s (it was trained on mean-pooled features): export it in the studio's format.`)
  const [d, labels] = kernel.shape as [number, number]
  const transposed = async (v: tf.Tensor, scale = 1): Promise<Float32Array> => {
    const t = tf.tidy(() => tf.mul(tf.transpose(v), scale))
    const out = (await t.data()) as Float32Array
    t.dispose()
    return out
  }
  const std = opts.regression?.std ?? 1
  const mean = opts.regression?.mean ?? 0
  const out = bodyTensors.filter((t) => t.name !== 'lm_head.weight')
  if (pre && preBias) {
    const name = cfg.modelType === 'bert' ? 'bert.pooler.dense' : 'pre_classifier'
    out.push({ name: `${name}.weight`, shape: [d, d], data: await transposed(pre) }, { name: `${name}.bias`, shape: [d], data: (await preBias.data()) as Float32Array })
  }
  const last = decoder ? 'score' : 'classifier'
  out.push({ name: `${last}.weight`, shape: [labels, d], data: await transposed(kernel, std) })
  if (bias) {
    const b = Float32Array.from((await bias.data()) as Float32Array, (x) => x * std + mean)
    out.push({ name: `${last}.bias`, shape: [labels], data: b })
  }
  return { tensors: out, labels, offset: bias ? 0 : mean }
}

/** model.safetensors + config.json of the *ForSequenceClassification checkpoint for `model` as
 *  it is now (merge LoRA first) and a head trained with its `headStructure`. */
export async function writeSeqClsCheckpoint(model: HfModel, head: StudioHeadWeights, baseConfigText: string, opts: { labelNames?: string[]; regression?: { mean: number; std: number } | null; padTokenId?: number | null } = {}): Promise<{ configText: string; safetensors: Uint8Array<ArrayBuffer> }> {
  const cfg = model.hf
  const { tensors, labels, offset } = await seqClsTensors(await hfCheckpointTensors(model), cfg, head, { regression: opts.regression ?? null })
  const configText = seqClsConfig(baseConfigText, cfg, labels, {
    ...(opts.labelNames ? { labelNames: opts.labelNames } : {}),
    regression: !!opts.regression,
    padTokenId: opts.padTokenId ?? null,
    ...(offset ? { extra: { studio_regression_offset: offset } } : {}),
  })
  return { configText, safetensors: writeSafetensors(tensors, { format: 'pt' }) }
}
