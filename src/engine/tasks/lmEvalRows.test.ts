/** How many rows a causal LM's evaluation (SFT held-out loss, DPO log-probabilities) scores per
 *  pass: a large vocabulary's logits [rows, T, V] are kept near 2^24 floats (64 MB). */
import { describe, expect, it } from 'vitest'
import type { Body } from '../models/body'
import { lmEvalRows } from '../train/forward'

const body = (vocabSize: number | undefined, rowsPerPass?: number) => ({ config: { nLayers: 1, dModel: 16, ...(vocabSize ? { vocabSize } : {}) }, ...(rowsPerPass ? { rowsPerPass } : {}) }) as unknown as Body

describe('lmEvalRows', () => {
  it('GPT-2’s 50,257 tokens: 5 rows at 64 positions (5·64·50257 = 16.1 M ≤ 2^24 = 16.8 M < 6·64·50257), 1 at 1,024', () => {
    expect(lmEvalRows(body(50257), { seqLen: 64 })).toBe(5)
    expect(lmEvalRows(body(50257), { seqLen: 1024 })).toBe(1) // 0.33 rows' worth: still one
  })
  it('the built-in LM (2,048 tokens) keeps the body’s 64 rows up to its 128 positions; a body’s own smaller count wins', () => {
    expect(lmEvalRows(body(2048), { seqLen: 128 })).toBe(64)
    expect(lmEvalRows(body(2048, 8), { seqLen: 32 })).toBe(8)
  })
  it('a body without a vocabulary size, or a set without a sequence length: the body’s own count', () => {
    expect(lmEvalRows(body(undefined), { seqLen: 64 })).toBe(64)
    expect(lmEvalRows(body(50257), {})).toBe(64)
  })
})
