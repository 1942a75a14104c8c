/**
 * Text generation with a Hugging Face decoder (GPT-2, Llama): greedy decoding and sampling
 * (temperature, top-k, top-p) with the repetition penalty, the settings read from the model's
 * generation_config.json (and config.json / the tokenizer for the end-of-sequence ids), prompts
 * as plain text or as a conversation through the model's chat template.
 *
 * The prompt is run once; after that each new token costs one position (a `KvCache` of every
 * block's keys and values). Logits are read back for the last position only and processed here in
 * plain JavaScript, in the order Hugging Face's `generate` applies them: repetition penalty, then
 * (sampling only) temperature, top-k, top-p. Every step runs in a tf.tidy; the tensor count stays
 * flat while generating and returns to where it was when `generate` ends.
 *
 *   const result = await generateText(bundle, [{ role: 'user', content: 'Hi' }], { maxNewTokens: 40, onToken })
 *
 * One sequence at a time (the playground's case): no batch, so no padding; `padTokenId` is
 * resolved for callers that pad (generation_config.json's, else config.json's, else eos).
 */
import * as tf from '@tensorflow/tfjs'
import { KvCache, type HfModel } from './hfModel'
import type { GenerationConfig } from './hfLoad'
import type { ChatMessage, HfTokenizer } from './hfTokenizer'
import { mulberry32 } from '../data/rng'
import { checkNextTokenLogits } from '../infer/outputCheck'

export interface GenerateOptions {
  /** Tokens to add at most (default: generation_config's max_new_tokens, else 20). */
  maxNewTokens?: number
  /** Sample instead of taking the most likely token (default: generation_config's do_sample, else false). */
  doSample?: boolean
  /** Divides the logits before sampling (default 1; 0 means greedy). */
  temperature?: number
  /** Sample among the k most likely tokens only (default 50 as in Hugging Face; 0 turns it off). */
  topK?: number
  /** Sample among the most likely tokens whose probabilities add up to p (default 1: off). */
  topP?: number
  /** > 1 makes tokens already in the text less likely (default 1: off). */
  repetitionPenalty?: number
  /** Ids that end generation (they are included in the output). */
  eosTokenIds?: number[]
  /** Seed of the sampling random numbers: the same seed gives the same text. */
  seed?: number
  /** false: recompute the whole prefix for every token (slow; only to check the cache). */
  useCache?: boolean
  /** Called after every new token; return false to stop there. */
  onToken?: (id: number, index: number) => boolean | void
  /** An AbortSignal (or anything with `aborted`): generation stops before the next token. */
  signal?: { readonly aborted: boolean }
}

export type StopReason = 'eos' | 'length' | 'context' | 'stopped'

export interface GenerateResult {
  /** The new tokens only. */
  ids: number[]
  stoppedBy: StopReason
  /** Wall time of the prompt pass and of the tokens after it. */
  promptMs: number
  perTokenMs: number
}

/** Settings for `generate` from the model's files: generation_config.json first, then config.json
 *  (eos_token_id, pad_token_id) and the tokenizer's eos token; `overrides` (the playground's
 *  controls) win over all. */
export function generationSettings(generation: GenerationConfig, opts: { configText?: string; tokenizer?: Pick<HfTokenizer, 'eosId'> } = {}, overrides: GenerateOptions = {}): GenerateOptions & { padTokenId: number | null } {
  let cfg: Record<string, unknown> = {}
  try {
    cfg = opts.configText ? (JSON.parse(opts.configText) as Record<string, unknown>) : {}
  } catch {
    cfg = {}
  }
  const ids = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is number => Number.isInteger(x)) : Number.isInteger(v) ? [v as number] : [])
  let eos = generation.eosTokenIds.length ? generation.eosTokenIds : ids(cfg.eos_token_id)
  if (!eos.length && opts.tokenizer?.eosId != null) eos = [opts.tokenizer.eosId]
  const pad = generation.padTokenId ?? (ids(cfg.pad_token_id)[0] ?? eos[0] ?? null)
  const s: GenerateOptions & { padTokenId: number | null } = { eosTokenIds: eos, padTokenId: pad }
  if (generation.maxNewTokens !== undefined) s.maxNewTokens = generation.maxNewTokens
  if (generation.doSample !== undefined) s.doSample = generation.doSample
  if (generation.temperature !== undefined) s.temperature = generation.temperature
  if (generation.topK !== undefined) s.topK = generation.topK
  if (generation.topP !== undefined) s.topP = generation.topP
  if (generation.repetitionPenalty !== undefined) s.repetitionPenalty = generation.repetitionPenalty
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v
  return s
}

// ---- logits processing (Hugging Face's LogitsProcessors, on one row) ----------------------

/** RepetitionPenaltyLogitsProcessor: each token already in `seen` has its logit divided by the
 *  penalty when positive, multiplied when negative. In place. */
export function applyRepetitionPenalty(logits: Float32Array, seen: Iterable<number>, penalty: number): void {
  if (penalty === 1) return
  for (const id of new Set(seen)) {
    const x = logits[id]!
    logits[id] = x < 0 ? x * penalty : x / penalty
  }
}

/** The index of the largest value (the first one on ties, as torch.argmax). */
export function argMax(logits: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i
  return best
}

/** Sampling probabilities after temperature, top-k (TopKLogitsWarper: every token at least as
 *  likely as the k-th stays) and top-p (TopPLogitsWarper: the most likely tokens, in order, until
 *  their probabilities reach p; the token that crosses p stays, and at least one always does).
 *  Returns a full-length array, 0 for removed tokens. */
export function samplingProbabilities(logits: Float32Array, opts: { temperature?: number; topK?: number; topP?: number }): Float64Array {
  const n = logits.length
  const temp = opts.temperature ?? 1
  const scaled = new Float64Array(n)
  for (let i = 0; i < n; i++) scaled[i] = logits[i]! / temp
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scaled[b]! - scaled[a]! || a - b)
  const keep = new Uint8Array(n).fill(1)
  const k = opts.topK ?? 50
  if (k > 0 && k < n) {
    const kth = scaled[order[k - 1]!]!
    for (let i = 0; i < n; i++) if (scaled[i]! < kth) keep[i] = 0
  }
  const probsOf = () => {
    let max = -Infinity
    for (let i = 0; i < n; i++) if (keep[i] && scaled[i]! > max) max = scaled[i]!
    const p = new Float64Array(n)
    let sum = 0
    for (let i = 0; i < n; i++) if (keep[i]) sum += p[i] = Math.exp(scaled[i]! - max)
    for (let i = 0; i < n; i++) p[i]! /= sum
    return p
  }
  const topP = opts.topP ?? 1
  if (topP < 1) {
    const p = probsOf()
    let before = 0
    for (const i of order) {
      if (!keep[i]) continue
      if (before >= topP) keep[i] = 0 // the tokens more likely than this one already reach p
      before += p[i]!
    }
  }
  return probsOf()
}

/** The sampler's seeded uniform numbers: the studio's one generator (data/rng.ts). */
export { mulberry32 as seededRandom } from '../data/rng'

/** One draw from a probability vector. */
export function sampleFrom(probs: ArrayLike<number>, random: () => number): number {
  const u = random()
  let c = 0
  let last = 0
  for (let i = 0; i < probs.length; i++) {
    if (probs[i]! <= 0) continue
    c += probs[i]!
    last = i
    if (u < c) return i
  }
  return last
}

// ---- the decoding loop --------------------------------------------------------------------

/** The most positions a decoder may read: GPT-2's learned positions end at n_positions; Llama's
 *  rotary positions at max_position_embeddings, as Hugging Face's generate limits them. */
export function contextLength(model: HfModel): number {
  const hf = model.hf
  if (hf.modelType === 'gpt2') return hf.nPositions
  if (hf.modelType === 'llama') return hf.maxPositions
  throw new Error(`A ${hf.modelType} encoder does not generate text: choose a GPT-2 or Llama model for the playground`)
}

/** Logits [V] of the position after `ids` (with a cache: `ids` are only the positions it has not
 *  seen yet). The caller disposes the result. */
export function nextTokenLogits(model: HfModel, ids: readonly number[], cache?: KvCache): tf.Tensor1D {
  return tf.tidy(() => {
    const hidden = model.forward(tf.tensor2d([ids as number[]], [1, ids.length], 'int32'), cache ? { cache } : {})
    const last = hidden.slice([0, ids.length - 1, 0], [1, 1, hidden.shape[2]])
    return model.logits(last).reshape([-1]) as tf.Tensor1D
  })
}

/** Generates after `prompt` (token ids). */
export async function generate(model: HfModel, prompt: readonly number[], opts: GenerateOptions = {}): Promise<GenerateResult> {
  const ctx = contextLength(model)
  if (prompt.length === 0) throw new Error('The prompt is empty: type some text to continue')
  if (prompt.length > ctx) throw new Error(`The prompt is ${prompt.length} tokens; this model reads at most ${ctx} (its context). Shorten the prompt.`)
  const maxNew = opts.maxNewTokens ?? 20
  const eos = new Set(opts.eosTokenIds ?? [])
  const penalty = opts.repetitionPenalty ?? 1
  const sample = (opts.doSample ?? false) && (opts.temperature ?? 1) > 0
  const random = mulberry32(opts.seed ?? 0)
  const useCache = opts.useCache ?? true
  const cache = useCache ? new KvCache(model.config.nLayers) : null
  const all = [...prompt]
  const out: number[] = []
  let stoppedBy: StopReason = 'length'
  let promptMs = 0
  const t0 = performance.now()
  try {
    while (out.length < maxNew) {
      if (opts.signal?.aborted) {
        stoppedBy = 'stopped'
        break
      }
      if (all.length > ctx) {
        // the next token would be predicted from more positions than the model has
        stoppedBy = 'context'
        break
      }
      const input = cache && cache.length > 0 ? all.slice(cache.length) : all
      const logitsT = nextTokenLogits(model, input, cache ?? undefined)
      const logits = (await logitsT.data()) as Float32Array
      logitsT.dispose()
      // scores no working backend gives (NaN, or one value for the whole vocabulary) stop here
      // in words, instead of becoming text (infer/outputCheck.ts)
      checkNextTokenLogits(logits, tf.getBackend(), out.length + 1)
      if (out.length === 0) promptMs = performance.now() - t0
      applyRepetitionPenalty(logits, all, penalty)
      const id = sample ? sampleFrom(samplingProbabilities(logits, opts), random) : argMax(logits)
      all.push(id)
      out.push(id)
      const goOn = opts.onToken?.(id, out.length - 1)
      if (eos.has(id)) {
        stoppedBy = 'eos'
        break
      }
      if (goOn === false) {
        stoppedBy = 'stopped'
        break
      }
    }
  } finally {
    cache?.dispose()
  }
  const rest = out.length > 1 ? (performance.now() - t0 - promptMs) / (out.length - 1) : 0
  return { ids: out, stoppedBy, promptMs, perTokenMs: rest }
}

export interface TextGenerationResult extends GenerateResult {
  /** The prompt as the model read it (after the chat template) and its ids. */
  promptText: string
  promptIds: number[]
  /** The new tokens as text, special tokens left out. */
  text: string
}

/** Generates from text or a conversation. A string is encoded with the tokenizer's special
 *  tokens (Llama's BOS); a conversation is rendered by the chat template with the generation
 *  prompt and encoded without adding special tokens (the template writes them), as
 *  `apply_chat_template(…, tokenize=True)` does. */
export async function generateText(
  bundle: { model: HfModel; tokenizer: HfTokenizer; generation: GenerationConfig; configText?: string },
  input: string | ChatMessage[],
  overrides: GenerateOptions = {},
): Promise<TextGenerationResult> {
  const { model, tokenizer } = bundle
  const promptText = typeof input === 'string' ? input : tokenizer.applyChatTemplate(input, { addGenerationPrompt: true })
  const promptIds = tokenizer.encode(promptText, { addSpecialTokens: typeof input === 'string' })
  const settings = generationSettings(bundle.generation, { ...(bundle.configText !== undefined ? { configText: bundle.configText } : {}), tokenizer }, overrides)
  const r = await generate(model, promptIds, settings)
  return { ...r, promptText, promptIds, text: tokenizer.decode(r.ids, { skipSpecialTokens: true }) }
}
