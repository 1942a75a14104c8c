// Inference passes that hold logits over the vocabulary take their rows from one budget
// (logitBudget.ts). The zero-shot scorer (the baseline, learning without labels) took 32
// sequences a pass whatever the vocabulary: with a 50,257-token GPT-2 and 20 one-token class
// names that is 640 positions' logits (129 MB, and twice as much again for the log-softmax and
// the picked targets) in one pass. Now a pass holds at most 2^24 / 50,257 = 333 reads, and the
// scores are the ones the unbounded pass gives.
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { HfBody, hfTokenizerLike } from '../bodies/hfBody'
import { loadHfBundle, mapSource } from '../hf/hfLoad'
import { tinyGpt2Files } from '../hf/testGpt2'
import type { TinyGpt } from '../models/tinyGpt'
import { logitRows, passesOf, PASS_LOGITS } from './logitBudget'
import { zeroShotScores } from './zeroShot'

// WebAssembly: the backend whose heap a pass of too many logits aborted (and the fastest here)
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
})

describe('logitRows', () => {
  it('by hand: 2^24 floats hold 333 one-position rows of GPT-2 logits (333·50257 = 16,735,581 ≤ 16,777,216 < 334·50257), 5 rows of 64 positions, at least 1', () => {
    expect(PASS_LOGITS).toBe(16_777_216)
    expect(logitRows(50257, 1, 10_000)).toBe(333)
    expect(logitRows(50257, 64, 64)).toBe(5)
    expect(logitRows(50257, 1024, 64)).toBe(1)
    // the built-in LM's 2,048 tokens: the cap (the body's rows per pass) wins
    expect(logitRows(2048, 128, 64)).toBe(64)
    expect(logitRows(undefined, 64, 8)).toBe(8)
    expect(logitRows(50257, 1, 10_000, Infinity)).toBe(10_000)
  })

  it('passesOf keeps the order and cuts at the item count or the weight, whichever comes first', () => {
    expect(passesOf([5, 5, 5, 5, 5], 3, (x) => x, 100)).toEqual([[5, 5, 5], [5, 5]])
    expect(passesOf([5, 5, 5, 5, 5], 10, (x) => x, 12)).toEqual([[5, 5], [5, 5], [5]])
    expect(passesOf([20, 1, 1], 10, (x) => x, 12)).toEqual([[20], [1, 1]]) // too heavy alone: a pass of its own
    expect(passesOf([], 3, (x: number) => x, 1)).toEqual([])
  })
})

describe('zero-shot scoring with a 50,257-token GPT-2', () => {
  it('20 one-token classes over 17 texts: passes of 320 and 20 reads (not one of 340), with the unbounded pass’s scores', async () => {
    const files = new Map<string, Uint8Array>()
    for (const f of tinyGpt2Files()) files.set(f.name, new Uint8Array(await f.arrayBuffer()))
    const bundle = await loadHfBundle(mapSource(files))
    const body = new HfBody(bundle.model, bundle.tokenizer)
    const tok = hfTokenizerLike(bundle.tokenizer)
    const classes = 'abcdefghijklmnopqrst'.split('')
    // each " x" is one GPT-2 token, so an example's 20 classes read from one input
    for (const c of classes) expect(tok.encode(` ${c}`)).toHaveLength(1)
    let s = 11
    const rnd = (k: number) => (s = (s * 1103515245 + 12345) % 2147483648) % k
    const texts = Array.from({ length: 17 }, () => [tok.bosId, ...Array.from({ length: 3 + rnd(6) }, () => 300 + rnd(5000))])

    const reads: number[] = [] // positions' logits per pass ([1, M, D] into the LM head)
    const lmLogits = body.lmLogits.bind(body)
    body.lmLogits = (h) => {
      reads.push(h.shape[1])
      return lmLogits(h)
    }
    const model = body as unknown as TinyGpt
    const before = tf.memory().numTensors
    const bounded = await zeroShotScores(model, tok, texts, classes)
    expect(reads).toEqual([320, 20]) // 16 inputs × 20 reads ≤ 333 < 17 × 20
    reads.length = 0
    const unbounded = await zeroShotScores(model, tok, texts, classes, { logitFloats: Infinity })
    expect(reads).toEqual([340]) // 32 inputs a pass, as before
    expect(tf.memory().numTensors).toBe(before)
    expect(bounded).toHaveLength(17 * 20)
    let worst = 0
    for (let i = 0; i < bounded.length; i++) worst = Math.max(worst, Math.abs(bounded[i]! - unbounded[i]!))
    expect(worst).toBeLessThan(1e-5)
    // the scores are log-probabilities of real tokens, not padding artefacts
    expect(Math.max(...bounded)).toBeLessThan(0)
    body.dispose()
  })
})
