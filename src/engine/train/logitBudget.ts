/**
 * How many rows an inference pass of a causal LM takes when it materialises logits over the
 * vocabulary: a body's rows per pass (`Body.rowsPerPass`, evalBatch) bounds its activations,
 * but a row's logits cost positions × vocabulary floats, which for GPT-2's 50,257 tokens is 800
 * times a 64-wide hidden state. 64 rows of 96 positions' GPT-2 logits (1.2 GB) aborted
 * WebAssembly's heap. Every pass that holds logits — language modelling's, SFT's and DPO's
 * evaluation (forward.lmEvalRows), the zero-shot scorer that learning without labels and the
 * baseline use (zeroShot.ts) — takes its rows from here.
 */
import type { Body } from '../models/body'

/** Logits one pass may hold, in floats (the log-softmax and the picked targets take about as
 *  much again): 2^24, 64 MB. */
export const PASS_LOGITS = 1 << 24

/** Rows one pass may take when each row holds `positions` positions' logits over `vocab` tokens:
 *  at most `cap` (the body's own rows per pass), at least 1; `cap` when the vocabulary or the
 *  positions are unknown. */
export function logitRows(vocab: number | undefined, positions: number, cap: number, budget = PASS_LOGITS): number {
  if (!vocab || !(positions > 0)) return cap
  return Math.max(1, Math.min(cap, Math.floor(budget / (positions * vocab))))
}

/** The size of a body's vocabulary when it has one (a language model). */
export const vocabOf = (model: Pick<Body, 'config'>): number | undefined => (model.config as { vocabSize?: number }).vocabSize

/** `items` in order, cut into passes of at most `maxItems` items whose summed `weight` stays
 *  within `maxWeight` (an item heavier than that alone is a pass of its own). */
export function passesOf<T>(items: readonly T[], maxItems: number, weight: (item: T) => number, maxWeight: number): T[][] {
  const passes: T[][] = []
  let cur: T[] = []
  let sum = 0
  for (const item of items) {
    const w = weight(item)
    if (cur.length && (cur.length >= maxItems || sum + w > maxWeight)) {
      passes.push(cur)
      cur = []
      sum = 0
    }
    cur.push(item)
    sum += w
  }
  if (cur.length) passes.push(cur)
  return passes
}
