import * as tf from '@tensorflow/tfjs'
import type { ForwardHooks, TinyGpt } from '../models/tinyGpt'
import type { Seed } from '../train/seeds'

/**
 * What the language-model tasks (SFT, DPO, pseudo-labelling) need of a model and its
 * tokenizer, and nothing more: token ids in, next-token logits out. The built-in TinyGpt
 * fits through tinyGptLm below; a Hugging Face causal LM fits the same way (its forward
 * pass returns [B, T, V] logits, its tokenizer encodes text and names bos/eos/pad).
 */
export interface CausalLm {
  /** Ids the logits cover. */
  readonly vocabSize: number
  /** Longest sequence one forward pass takes. */
  readonly maxLen: number
  /** ids [B, T] int32 → next-token logits [B, T, V]: row t predicts the token at t + 1. */
  logits(ids: tf.Tensor2D, opts?: LmCallOptions): tf.Tensor3D
  /** Optional shortcut: logits only at the given flat positions (b·T + t) → [M, V]. The
   *  vocabulary-wide product dominates a small model's cost, and DPO or zero-shot scoring
   *  needs it only where answer tokens are predicted. */
  logitsAt?(ids: tf.Tensor2D, positions: tf.Tensor1D, opts?: LmCallOptions): tf.Tensor2D
}

export interface LmCallOptions {
  training?: boolean
  seed?: Seed
}

export interface LmTokenizer {
  /** Text → ids without special tokens. */
  encode(text: string): number[]
  decode(ids: ArrayLike<number>): string
  readonly padId: number
  readonly bosId: number | null
  readonly eosId: number
}

export interface TinyGptLmOptions {
  /** LoRA's or adapters' hooks: a function, so a caller can switch them off for one call
   *  (the DPO reference is the same weights with the adapter off). */
  hooks?: () => ForwardHooks | undefined
  /** Residual and attention dropout while training. */
  dropout?: number
}

/** The built-in TinyGpt as a CausalLm (tied-embedding logits over every position). */
export function tinyGptLm(model: TinyGpt, options: TinyGptLmOptions = {}): CausalLm {
  return {
    vocabSize: model.config.vocabSize,
    maxLen: model.config.seqLen,
    logits(ids, opts = {}) {
      const hooks = options.hooks?.()
      const hidden = model.forward(ids, { training: opts.training ?? false, dropout: options.dropout, hooks, seed: opts.seed })
      return model.lmLogits(hidden)
    },
    logitsAt(ids, positions, opts = {}) {
      const hooks = options.hooks?.()
      const hidden = model.forward(ids, { training: opts.training ?? false, dropout: options.dropout, hooks, seed: opts.seed })
      const [b, t, d] = hidden.shape
      const picked = tf.gather(hidden.reshape([b * t, d]), positions) // [M, D]
      return model.lmLogits(picked.reshape([1, positions.shape[0], d]) as tf.Tensor3D).reshape([positions.shape[0], model.config.vocabSize]) as tf.Tensor2D
    },
  }
}
