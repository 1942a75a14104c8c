/**
 * Next-token scores no language model produces, caught before they become text. A backend can
 * compute garbage without raising anything (measured in a real page: WebGPU on lavapipe with a
 * 135 MB token embedding bound over the adapter's 128 MiB limit, the binding split switched off,
 * wrote the greedy text "!!!!!!", token 0 six times, with no error). Training has its guard
 * (train/impossibleLoss.ts); this is the playground's, for both decoders' generation loops
 * (infer/playground.ts for the built-in LM, hf/generate.ts for Hugging Face models).
 *
 * Two things cannot come from a working backend:
 * - a score that is not a number (NaN or ±Infinity): the scores are dot products of finite
 *   hidden states with finite output weights (a run whose weights overflow is stopped by the
 *   loop's divergence rule; a loaded file with weights that are not numbers is the other
 *   cause, and the words say so); and
 * - the same score for every token of a vocabulary: the scores are h · wᵢ for the vocabulary's
 *   output rows wᵢ, all different in any trained model, so one value for all of them means
 *   the hidden state or the table came back as zeros (a buffer the backend never filled).
 * The check reads the row the loop already has in JavaScript: it costs one pass over it.
 */
import { BACKEND_WORDS, type BackendName } from '../backend'

/** Generation stopped on impossible scores; its message is for the person and passes
 *  through engineErrors.explainEngineError unchanged. */
export class ImpossibleOutputError extends Error {
  override name = 'ImpossibleOutputError'
}

/** What is impossible about a row of scores, in words; `notNumbers` when some are NaN or ±Infinity. */
export interface ImpossibleLogits {
  why: string
  notNumbers: boolean
}

/** Why `logits` (one position's next-token scores) cannot come from a working backend, or null. */
export function impossibleLogitsWhy(logits: ArrayLike<number>): ImpossibleLogits | null {
  const n = logits.length
  if (n === 0) return null
  let bad = 0
  let firstBad = NaN
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number
    if (!Number.isFinite(v)) {
      if (bad === 0) firstBad = v
      bad++
      continue
    }
    if (v < min) min = v
    if (v > max) max = v
  }
  const tokens = `${n.toLocaleString('en-US')} token${n === 1 ? '' : 's'}`
  if (bad === n) return { why: `every one of the ${tokens} scored ${String(firstBad)}, not a number`, notNumbers: true }
  if (bad > 0) return { why: `${bad.toLocaleString('en-US')} of the ${tokens} scored ${String(firstBad)}, not a number`, notNumbers: true }
  if (n > 2 && min === max) return { why: `all ${tokens} got the same score (${String(min)}), which happens only when the backend hands back values it never computed`, notNumbers: false }
  return null
}

/** The words the page shows. `step` counts generated tokens from 1. */
export function impossibleOutputMessage(backend: string | undefined, found: ImpossibleLogits, step: number): string {
  const name = backend && backend in BACKEND_WORDS ? BACKEND_WORDS[backend as BackendName] : backend
  const engine = name ? `the ${name} backend` : 'the numerical backend'
  const other = backend === 'wasm' ? 'WebGL, or plain JavaScript on the CPU' : 'WebAssembly'
  const head = `Generation was stopped: for token ${step} of the text, ${found.why}. The text would be garbage, so none was written.`
  const choose = `choose ${other} in the Backend setting and generate again`
  return found.notNumbers
    ? `${head} Either ${engine} computes wrongly on this device (${choose}), or the model's weights are not finite numbers (load the model again, or start from a built-in one).`
    : `${head} This is ${engine} computing wrongly on this device, not your model or prompt: ${choose}.`
}

/** Throws ImpossibleOutputError when `logits` cannot come from a working backend. */
export function checkNextTokenLogits(logits: ArrayLike<number>, backend: string | undefined, step: number): void {
  const found = impossibleLogitsWhy(logits)
  if (found) throw new ImpossibleOutputError(impossibleOutputMessage(backend, found, step))
}

/** The words for a classification or regression head whose outputs are not numbers. */
export function notNumbersOutputMessage(backend: string | undefined, values: ArrayLike<number>): string {
  const name = backend && backend in BACKEND_WORDS ? BACKEND_WORDS[backend as BackendName] : backend
  const engine = name ? `the ${name} backend` : 'the numerical backend'
  const other = backend === 'wasm' ? 'WebGL, or plain JavaScript on the CPU' : 'WebAssembly'
  const shown = Array.from(values, (v) => String(v)).join(', ')
  return `The model's answer was not a number (its outputs: ${shown}), so no probabilities or value were shown. Either ${engine} computes wrongly on this device (choose ${other} in the Backend setting and try again), or the model's weights are not finite numbers (load the model again, or start from a built-in one).`
}

/** Throws ImpossibleOutputError when a head's outputs (class scores, or a regression value) are
 *  not all numbers: softmax would turn them into "NaN %" for every class. Equal scores are
 *  possible here (a new head may start at zeros), so only NaN and ±Infinity are refused. */
export function checkHeadOutput(values: ArrayLike<number>, backend: string | undefined): void {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i] as number)) throw new ImpossibleOutputError(notNumbersOutputMessage(backend, values))
}
