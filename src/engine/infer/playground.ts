import * as tf from '@tensorflow/tfjs'
import { mulberry32 } from '../data/rng'
import type { TokenizerLike } from '../data/textBatches'
import { TinyGpt, type ForwardHooks } from '../models/tinyGpt'
import type { Head } from '../tuning/heads'
import { resetWeights, disposeWeights, snapshotWeights, type WeightMap } from '../tuning/interpolate'
import { checkHeadOutput, checkNextTokenLogits } from './outputCheck'
import { sampleToken, softmax, type SamplingOptions } from './sampling'

/** Trying a model by hand: class probabilities for one text, or a sampled continuation,
 *  with the base weights ("before") or the tuned ones ("after"). */
export interface Decoder extends TokenizerLike {
  decode(ids: ArrayLike<number>): string
  eosId: number
}

/** Runs `fn` with the model's weights temporarily set to `weights`, then puts the current
 *  (tuned) values back, so "before" needs no second copy of the model. */
export async function withWeights<T>(model: TinyGpt, weights: WeightMap, fn: () => Promise<T>): Promise<T> {
  const current = snapshotWeights(model.params)
  try {
    resetWeights(model, weights)
    return await fn()
  } finally {
    resetWeights(model, current)
    disposeWeights(current)
  }
}

/** Class probabilities for one text, encoded exactly as training encodes it (BOS + tokens,
 *  cut to seqLen, mean-pooled), through `head`. */
export async function classifyText(model: TinyGpt, tokenizer: TokenizerLike, head: Head, hooks: ForwardHooks | undefined, text: string, seqLen: number): Promise<number[]> {
  return Array.from(softmax(await headOutput(model, tokenizer, head, hooks, text, seqLen)))
}

/** The head's raw output for one text: logits, or a standardised number for regression. */
export async function headOutput(model: TinyGpt, tokenizer: TokenizerLike, head: Head, hooks: ForwardHooks | undefined, text: string, seqLen: number): Promise<Float32Array> {
  const ids = [tokenizer.bosId, ...tokenizer.encode(text)].slice(0, Math.min(seqLen, model.config.seqLen))
  const logits = tf.tidy(() => {
    const tokens = tf.tensor2d([ids], [1, ids.length], 'int32')
    const hidden = model.forward(tokens, { hooks })
    return head.apply(model.pool(hidden, tf.ones([1, ids.length])), false)
  })
  const values = (await logits.data()) as Float32Array
  logits.dispose()
  checkHeadOutput(values, tf.getBackend()) // NaN would show as "NaN %" for every class
  return values
}

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number
  seed: number
  hooks?: ForwardHooks
  /** Called with the whole continuation so far after each token. */
  onText?: (text: string) => void
  /** Checked before each token; true ends generation early. */
  shouldStop?: () => boolean
}

/** Samples a continuation token by token (the context is the last seqLen tokens; no KV
 *  cache: the models here are small and this keeps the forward pass the training one).
 *  Resolves to the continuation text and whether it was stopped. */
export async function generateText(model: TinyGpt, tokenizer: Decoder, prompt: string, opts: GenerateOptions): Promise<{ text: string; stopped: boolean; tokens: number[] }> {
  const random = mulberry32(opts.seed)
  const context = [tokenizer.bosId, ...tokenizer.encode(prompt)]
  const out: number[] = []
  const T = model.config.seqLen
  for (let i = 0; i < opts.maxTokens; i++) {
    if (opts.shouldStop?.()) return { text: tokenizer.decode(out), stopped: true, tokens: out }
    const window = context.slice(-T)
    const last = tf.tidy(() => {
      const tokens = tf.tensor2d([window], [1, window.length], 'int32')
      const hidden = model.forward(tokens, opts.hooks ? { hooks: opts.hooks } : {})
      const h = hidden.slice([0, window.length - 1, 0], [1, 1, model.config.dModel]) as tf.Tensor3D
      return model.lmLogits(h).reshape([model.config.vocabSize])
    })
    const logits = await last.data()
    last.dispose()
    // scores no working backend gives stop here in words, instead of becoming text (outputCheck.ts)
    checkNextTokenLogits(logits, tf.getBackend(), out.length + 1)
    // Never emit padding or BOS: they mean nothing inside running text.
    logits[tokenizer.padId] = -Infinity
    logits[tokenizer.bosId] = -Infinity
    const next = sampleToken(logits, opts, random)
    if (next === tokenizer.eosId) break
    out.push(next)
    context.push(next)
    opts.onText?.(tokenizer.decode(out))
  }
  return { text: tokenizer.decode(out), stopped: false, tokens: out }
}
