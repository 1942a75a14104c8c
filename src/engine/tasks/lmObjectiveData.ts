/**
 * SFT examples and DPO pairs (tasks/sft/data.ts, tasks/dpo/data.ts) as the loop's encoded
 * sets (tasks/lmEncoded.ts): each row padded on the right to the sequence length, ids
 * extended by one pad so inputs are ids[0..T) and targets ids[1..T], and the loss mask moved
 * to the targets (lossMask[t] = 1 when ids[t + 1] is an answer token).
 */
import type { DpoPair } from './dpo/data'
import type { PairsEncoded, SftEncoded } from './lmEncoded'
import type { SftExample } from './sft/data'

function rowsInto(examples: readonly SftExample[], seqLen: number, padId: number): { tokens: Int32Array; lossMask: Float32Array } {
  const W = seqLen + 1
  const tokens = new Int32Array(examples.length * W).fill(padId)
  const lossMask = new Float32Array(examples.length * seqLen)
  examples.forEach((e, i) => {
    if (e.ids.length > seqLen) throw new RangeError(`Row ${e.row} has ${e.ids.length} tokens, more than the sequence length ${seqLen}: encode it with this length first`)
    tokens.set(e.ids, i * W)
    for (let t = 0; t + 1 < e.ids.length; t++) lossMask[i * seqLen + t] = e.mask[t + 1]!
  })
  return { tokens, lossMask }
}

/** Encoded SFT rows (one example per row; packing happens before, in toWindows). */
export function sftEncoded(examples: readonly SftExample[], seqLen: number, padId: number): SftEncoded {
  const { tokens, lossMask } = rowsInto(examples, seqLen, padId)
  return { kind: 'sft', n: examples.length, seqLen, tokens, lossMask }
}

/** Encoded pairs; the reference log-probabilities are zero until dpoTask's referenceLogProbs fills them. */
export function pairsEncoded(pairs: readonly DpoPair[], seqLen: number, padId: number, opts: { beta: number; sftWeight?: number }): PairsEncoded {
  if (!(opts.beta > 0)) throw new RangeError(`DPO's beta must be positive, got ${opts.beta}`)
  const c = rowsInto(pairs.map((p) => p.chosen), seqLen, padId)
  const r = rowsInto(pairs.map((p) => p.rejected), seqLen, padId)
  return {
    kind: 'pairs',
    n: pairs.length,
    seqLen,
    chosen: c.tokens,
    rejected: r.tokens,
    chosenMask: c.lossMask,
    rejectedMask: r.lossMask,
    refChosen: new Float32Array(pairs.length),
    refRejected: new Float32Array(pairs.length),
    beta: opts.beta,
    sftWeight: opts.sftWeight ?? 0,
  }
}
