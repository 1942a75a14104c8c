/**
 * A Hugging Face checkpoint (GPT-2, Llama, BERT/DistilBERT: engine/hf/hfModel.ts) as a `Body`,
 * so the studio's loop trains it as it trains its own models: language modelling through
 * `lmLogits`, classification and regression heads on pooled features (BERT's [CLS] token or
 * the mean over real tokens), frozen leading blocks cached, full / freeze / LoRA.
 *
 * Blocks: -1 = embeddings, 0..n-1 = the transformer blocks, n = the final norm and an untied
 * LM head. LoRA targets the projections by their Hugging Face module paths
 * ("h.0.attn.c_attn", "layers.3.self_attn.q_proj", "encoder.layer.1.attention.self.query"),
 * the names PEFT writes in an adapter.
 */
import * as tf from '@tensorflow/tfjs'
import type { Body } from '../models/body'
import type { ForwardOptions, Param } from '../models/tinyGpt'
import type { HfForwardOptions, HfModel } from '../hf/hfModel'
import type { HfTokenizer } from '../hf/hfTokenizer'
import type { TokenizerLike } from '../data/textBatches'
import type { HeadStructure } from '../tuning/heads'
import type { PoolingChoice } from '../../settings/types'
import { recomputed } from '../hf/recompute'

/** The studio's LoRA target kinds (settings: qkv, proj, fc, out) as each family's module
 *  names inside a block, named as Hugging Face names them. */
export const HF_TARGET_MODULES: Readonly<Record<HfModel['hf']['modelType'], Readonly<Record<'qkv' | 'proj' | 'fc' | 'out', readonly string[]>>>> = {
  gpt2: { qkv: ['attn.c_attn'], proj: ['attn.c_proj'], fc: ['mlp.c_fc'], out: ['mlp.c_proj'] },
  llama: { qkv: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'], proj: ['self_attn.o_proj'], fc: ['mlp.gate_proj', 'mlp.up_proj'], out: ['mlp.down_proj'] },
  bert: { qkv: ['attention.self.query', 'attention.self.key', 'attention.self.value'], proj: ['attention.output.dense'], fc: ['intermediate.dense'], out: ['output.dense'] },
  distilbert: { qkv: ['attention.q_lin', 'attention.k_lin', 'attention.v_lin'], proj: ['attention.out_lin'], fc: ['ffn.lin1'], out: ['ffn.lin2'] },
}

/** The module path prefix of block i. */
export function hfBlockPrefix(model: HfModel, i: number): string {
  switch (model.hf.modelType) {
    case 'gpt2':
      return `h.${i}.`
    case 'llama':
      return `layers.${i}.`
    case 'bert':
      return `encoder.layer.${i}.`
    default:
      return `transformer.layer.${i}.`
  }
}

const BLOCK = /^(?:h|layers|encoder\.layer|transformer\.layer)\.(\d+)\./

/** The block a weight belongs to: -1 embeddings, i a transformer block, n the final norm / head. */
export function hfBlockOf(name: string, nLayers: number): number {
  const m = BLOCK.exec(name)
  if (m) return Number(m[1])
  if (/^(wte|wpe|embed_tokens|embeddings)\./.test(name)) return -1
  return nLayers
}

export type HfPooling = 'cls' | 'mean'

export class HfBody implements Body {
  readonly kind = 'text' as const
  readonly params: Param[]
  readonly config: { nLayers: number; dModel: number; seqLen: number; vocabSize: number }
  /** The base projections do not train in this run (LoRA, head only): their matmuls keep no
   *  copy of the kernel for the backward pass, and the LM head computes no gradient of its own
   *  (hfModel.ts). The host sets it per run. */
  frozenBase = false
  /** Recompute each block in the backward pass instead of keeping its activations (the
   *  `recompute` setting, hf/recompute.ts): training keeps only the blocks' inputs. The host
   *  sets it per run; it needs the pass's trainable variables (`ForwardOptions.trainable`). */
  recompute = false
  /** How an encoder pools for a head: [CLS] (BERT's own classifier reads it) or the mean
   *  (sentence encoders; the head is then the studio's own, not a Hugging Face class's). The
   *  pooling of the run whose head the model carries: set per run from the `pooling` setting
   *  (hfFamily.beforeRun, a checkpoint restore); the export and the playground read it. */
  pooling: HfPooling
  /** What the checkpoint's own files say a head should read (sentence-transformers' pooling
   *  config: hfLoad.sentencePooling), which the setting's 'auto' means; null: they say nothing,
   *  and 'auto' is [CLS], as *ForSequenceClassification reads it. */
  suggestedPooling: { pooling: HfPooling; why: string } | null = null
  /** The checkpoint's BERT pooler (`pooler.dense`, as [in, out]), which
   *  BertForSequenceClassification's head starts from; null when it has none. */
  pooler: { kernel: Float32Array; bias: Float32Array } | null = null

  constructor(
    readonly model: HfModel,
    tokenizer: Pick<HfTokenizer, 'maxLength'> | null = null,
  ) {
    const n = model.config.nLayers
    const hf = model.hf
    const seqLen = hf.modelType === 'gpt2' ? hf.nPositions : hf.modelType === 'llama' ? Math.min(hf.maxPositions, tokenizer?.maxLength ?? hf.maxPositions) : hf.maxPositions
    this.config = { nLayers: n, dModel: model.config.dModel, seqLen, vocabSize: hf.vocabSize }
    this.pooling = this.isEncoder ? 'cls' : 'mean'
    this.params = model.entries().map(([name, variable]) => ({
      name,
      layer: name.slice(0, name.lastIndexOf('.')),
      block: hfBlockOf(name, n),
      variable,
      // projections' kernels decay; embeddings, biases and norm gains do not
      decay: name.endsWith('.kernel'),
    }))
  }

  get isEncoder(): boolean {
    return this.model.hf.modelType === 'bert' || this.model.hf.modelType === 'distilbert'
  }

  get featureDim(): number {
    return this.config.dModel
  }

  /** Rows per inference pass: a real-size model's activations are large. */
  get rowsPerPass(): number {
    return this.config.dModel >= 512 ? 8 : 64
  }

  get(name: string): tf.Variable {
    return this.model.get(name)
  }

  private opts(o: ForwardOptions = {}): HfForwardOptions {
    const mask = (o as ForwardOptions & { attentionMask?: tf.Tensor2D }).attentionMask
    return {
      training: o.training ?? false,
      ...(o.hooks ? { hooks: o.hooks } : {}),
      ...(o.seed === undefined ? {} : { seed: o.seed }),
      ...(this.frozenBase ? { frozenBase: true } : {}),
      // only encoders need the mask in attention (decoders are causal and pad at the end)
      ...(mask && this.isEncoder ? { attentionMask: mask } : {}),
    }
  }

  embed(input: tf.Tensor, o: ForwardOptions = {}): tf.Tensor3D {
    return this.model.embed(input as tf.Tensor2D, this.opts(o))
  }

  prefix(input: tf.Tensor, n: number, o: ForwardOptions = {}): tf.Tensor3D {
    let x = this.embed(input, o)
    const opts = this.opts(o)
    for (let i = 0; i < n; i++) x = this.afterBlock(i, this.runBlock(i, x, opts, o), o)
    return x
  }

  forwardFrom(input: tf.Tensor, from: number, o: ForwardOptions = {}): tf.Tensor3D {
    let x = input as tf.Tensor3D
    const opts = this.opts(o)
    for (let i = from; i < this.config.nLayers; i++) x = this.afterBlock(i, this.runBlock(i, x, opts, o), o)
    return this.model.final(x)
  }

  /** Block i, recomputed in the backward pass when the run asks for it and the pass trains. */
  private runBlock(i: number, x: tf.Tensor3D, opts: HfForwardOptions, o: ForwardOptions): tf.Tensor3D {
    if (!this.recompute || !o.training || !o.trainable) return this.model.block(i, x, opts)
    // the trainable weights this block reads: its own (full, freeze) and the LoRA factors of
    // its projections, all named under the block's module path ("h.3.attn.c_attn.lora_A")
    const prefix = hfBlockPrefix(this.model, i)
    const vars: tf.Variable[] = []
    for (const [v, name] of o.trainable) if (name.startsWith(prefix)) vars.push(v)
    const mask = opts.attentionMask
    return recomputed((y, [m]) => this.model.block(i, y, m ? { ...opts, attentionMask: m as tf.Tensor2D } : opts), x, vars, mask ? [mask] : [])
  }

  private afterBlock(i: number, x: tf.Tensor3D, o: ForwardOptions): tf.Tensor3D {
    return o.hooks?.afterBlock ? o.hooks.afterBlock(i, x, o.training ?? false) : x
  }

  /** Token ids [B, T] → final hidden states [B, T, D] (the zero-shot scorer's entry). */
  forward(tokens: tf.Tensor2D, o: ForwardOptions = {}): tf.Tensor3D {
    return this.forwardFrom(this.embed(tokens, o), 0, o)
  }

  /** The pooling a setting means on this model: 'auto' is what the checkpoint suggests, else
   *  [CLS]. Decoders read their last token whatever is chosen (reported as 'cls'). */
  poolingFor(choice: PoolingChoice | undefined): HfPooling {
    if (!this.isEncoder) return 'cls'
    return choice === 'cls' || choice === 'mean' ? choice : (this.suggestedPooling?.pooling ?? 'cls')
  }

  /** As the *ForSequenceClassification classes read a sequence: an encoder's [CLS] token (or
   *  the mean over real tokens, as `how` or the run's pooling says), a decoder's last real token
   *  (right padding: the mask's count). */
  pool(hidden: tf.Tensor, mask: tf.Tensor2D | null, how?: PoolingChoice): tf.Tensor2D {
    const h = hidden as tf.Tensor3D
    if (this.isEncoder) return this.model.pool(h, how === undefined ? this.pooling : this.poolingFor(how), mask ?? undefined)
    const [b, t, d] = h.shape
    const last = mask ? (tf.sub(tf.sum(mask.toInt(), 1), 1).toInt() as tf.Tensor1D) : (tf.fill([b], t - 1, 'int32') as tf.Tensor1D)
    // a one-hot [B, 1, T] times [B, T, D]: a gather whose gradient every backend has
    const pick = tf.oneHot(last, t).toFloat().reshape([b, 1, t])
    return tf.matMul(pick, h).reshape([b, d])
  }

  /** The head Hugging Face's *ForSequenceClassification class has on this model, so an export
   *  is that class's checkpoint: BERT's pooler (tanh, from the checkpoint when it has one) and
   *  DistilBERT's pre_classifier (ReLU) before the classifier; GPT-2's and Llama's `score`
   *  without a bias. Mean pooling has no Hugging Face class: the studio's dense head. */
  headStructure(how?: PoolingChoice): HeadStructure {
    const type = this.model.hf.modelType
    if (type === 'gpt2' || type === 'llama') return { outputBias: false }
    if ((how === undefined ? this.pooling : this.poolingFor(how)) === 'mean') return {}
    if (type === 'bert') return { pre: { activation: 'tanh', ...(this.pooler ? { init: this.pooler } : {}) } }
    return { pre: { activation: 'relu' } }
  }

  /** Whether the head `headStructure` gives is a Hugging Face class's (it exports as one). */
  get hfHead(): boolean {
    return !this.isEncoder || this.pooling === 'cls'
  }

  lmLogits(hidden: tf.Tensor3D): tf.Tensor3D {
    return this.model.logits(hidden, { headFrozen: this.frozenBase })
  }

  parameterCount(): number {
    return this.model.parameterCount()
  }

  dispose(): void {
    this.model.dispose()
  }
}

/** The tokenizer as the studio's text encoders use it (encodeClassification puts `bosId`
 *  first, then `encode(text)`, then `padId`s; language modelling joins texts with `bosId`):
 *  the leading special token the model's own post-processor adds (BERT's [CLS], Llama's <s>)
 *  becomes `bosId`, and the rest of what the tokenizer adds ([SEP]) stays in `encode`.
 *  GPT-2 adds nothing: its <|endoftext|> separates texts, as in its pretraining, and a
 *  classified text starts with its own first token, as GPT2ForSequenceClassification reads
 *  what GPT-2's tokenizer gives (an exported head then answers the same in transformers). */
export function hfTokenizerLike(tok: HfTokenizer): TokenizerLike & { decode(ids: number[]): string } {
  const empty = tok.encode('', { addSpecialTokens: true })
  const lead = empty.length > 0 ? empty[0]! : null
  const bosId = lead ?? tok.bosId ?? tok.eosId ?? 0
  const padId = tok.padId ?? tok.eosId ?? 0
  return {
    bosId,
    padId,
    classificationLead: lead !== null,
    encode(text: string): number[] {
      const ids = tok.encode(text, { addSpecialTokens: true })
      return lead !== null && ids[0] === lead ? ids.slice(1) : ids
    },
    decode: (ids: number[]) => tok.decode(ids, { skipSpecialTokens: true }),
  }
}
