import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { TinyGpt } from '../models/tinyGpt'
import { lmLoss } from './pretrainLm'
import { zeroShotClassify, zeroShotScores } from './zeroShot'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

/** Characters as ids (3 + code − 32): enough of a tokenizer for a hand-made LM. */
const charTok = {
  padId: 0,
  bosId: 1,
  encode: (text: string) => Array.from(text, (ch) => 3 + Math.min(95, Math.max(0, ch.charCodeAt(0) - 32))),
}
const cfg = { vocabSize: 100, seqLen: 24, dModel: 32, nLayers: 1, nHeads: 2, dFF: 64 }
const withBos = (text: string) => [charTok.bosId, ...charTok.encode(text)]

describe('zero-shot label scoring', () => {
  it('scores a class as the mean log-probability of its tokens after the prompt', async () => {
    const model = new TinyGpt(cfg, undefined, 5)
    const text = withBos('ab')
    const scores = await zeroShotScores(model, charTok, [text], ['xy', 'z'], { suffix: ':' })
    // By hand: one full forward of "<bos>ab: xy" and the log-probs of " ", "x", "y" at their positions.
    const seq = [...text, ...charTok.encode(': xy')]
    const lp = tf.tidy(() => tf.logSoftmax(model.lmLogits(model.forward(tf.tensor2d([seq], [1, seq.length], 'int32')))))
    const all = (await lp.array()) as number[][][]
    lp.dispose()
    const promptLen = text.length + 1 // through ":"
    const label = charTok.encode(' xy')
    const expected = label.reduce((sum, id, k) => sum + all[0]![promptLen - 1 + k]![id]!, 0) / label.length
    expect(scores[0]).toBeCloseTo(expected, 4)
    model.dispose()
  })

  it('picks the label the LM was trained to prefer after each kind of text', async () => {
    const model = new TinyGpt(cfg, undefined, 7)
    // "aaa…\nLabel: cat" and "bbb…\nLabel: dog", a few dozen Adam steps on whole windows.
    const examples = ['aaaa', 'aaa', 'aaaaa', 'bbbb', 'bbb', 'bbbbb']
    const gold = examples.map((t) => (t[0] === 'a' ? 0 : 1))
    const classes = ['cat', 'dog']
    const T = 16
    const windows = examples.map((t, i) => {
      const ids = [...withBos(t), ...charTok.encode(`\nLabel: ${classes[gold[i]!]}`)]
      return [...ids, ...new Array<number>(T + 1 - ids.length).fill(charTok.padId)].slice(0, T + 1)
    })
    const before = await zeroShotClassify(model, charTok, encodedOf(examples, gold, classes))
    const opt = tf.train.adam(1e-2)
    const vars = model.params.map((p) => p.variable)
    const batch = tf.tensor2d(windows.flat(), [windows.length, T + 1], 'int32')
    for (let step = 0; step < 60; step++) {
      const { value, grads } = tf.variableGrads(() => lmLoss(model, batch), vars)
      opt.applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name]! })))
      tf.dispose([value, ...Object.values(grads)])
    }
    batch.dispose()
    opt.dispose()
    const raw = await zeroShotClassify(model, charTok, encodedOf(examples, gold, classes), { calibrate: false })
    expect(raw.predictions).toEqual(gold) // plain argmax of the label likelihood
    expect(Array.from(raw.prior)).toEqual([0, 0])
    const after = await zeroShotClassify(model, charTok, encodedOf(examples, gold, classes))
    expect(Array.from(after.scores)).toEqual(Array.from(raw.scores))
    // Calibrated: argmax of score − score after an empty text.
    expect(after.predictions).toEqual(examples.map((_, i) => (after.scores[i * 2 + 1]! - after.prior[1]! > after.scores[i * 2]! - after.prior[0]! ? 1 : 0)))
    expect(after.predictions).toEqual(gold)
    expect(after.metrics.accuracy).toBe(1)
    expect(after.metrics.macroF1).toBe(1)
    // The trained LM prefers the right label by a wide margin on every example.
    for (let i = 0; i < examples.length; i++) {
      const right = after.scores[i * 2 + gold[i]!]!
      const wrong = after.scores[i * 2 + 1 - gold[i]!]!
      expect(right - wrong).toBeGreaterThan(1)
    }
    expect(after.metrics.accuracy!).toBeGreaterThan(before.metrics.accuracy! - 1e-9)
    model.dispose()
  })

  it('leaves no tensors behind', async () => {
    const model = new TinyGpt(cfg, undefined, 9)
    const run = () => zeroShotScores(model, charTok, [withBos('hello'), withBos('hi')], ['yes', 'no', 'maybe'], { batchSize: 2 })
    await run() // the model caches one causal mask per sequence length
    const n0 = tf.memory().numTensors
    await run()
    expect(tf.memory().numTensors).toBe(n0)
    model.dispose()
  })
})

/** Encoded-like rows: BOS + text ids, padded to a fixed length. */
function encodedOf(texts: string[], labels: number[], classes: string[]) {
  const seqLen = 8
  const tokens = new Int32Array(texts.length * seqLen)
  const mask = new Float32Array(texts.length * seqLen)
  texts.forEach((t, r) => {
    withBos(t).slice(0, seqLen).forEach((id, k) => {
      tokens[r * seqLen + k] = id
      mask[r * seqLen + k] = 1
    })
  })
  return { n: texts.length, seqLen, tokens, mask, labels: Int32Array.from(labels), classes }
}

describe('zero-shot reads what the fine-tuned model reads', () => {
  it('scores the whole encoded row (not only its first 32 tokens), and says when the prompt cuts it', async () => {
    const model = new TinyGpt({ ...cfg, seqLen: 64 }, undefined, 9)
    // Two texts equal in their first 40 characters, different after: only a reader of more than 32 tokens tells them apart.
    const head = 'the same opening words for both of them, '
    const texts = [`${head}then red`, `${head}then sky`]
    const set = encodedOf48(texts, [0, 1], ['a', 'b'])
    const read = await zeroShotClassify(model, charTok, set)
    expect(read.textTokens).toBe(48) // 48 ≤ 64 − "\nLabel:" (7) − " a" (2)
    const row = (k: number) => Array.from(read.scores.slice(2 * k, 2 * k + 2))
    expect(row(0)).not.toEqual(row(1))
    // The old default, 32 tokens, cannot see the difference.
    const short = await zeroShotClassify(model, charTok, set, { maxTextTokens: 32 })
    expect(short.textTokens).toBe(32)
    expect(Array.from(short.scores.slice(0, 2))).toEqual(Array.from(short.scores.slice(2, 4)))
    model.dispose()
    // A 24-token context leaves 24 − 7 − 2 = 15 text tokens: fewer than the rows hold, and reported.
    const small = new TinyGpt(cfg, undefined, 9)
    expect((await zeroShotClassify(small, charTok, { ...encodedOf48(texts, [0, 1], ['a', 'b']) })).textTokens).toBe(15)
    small.dispose()
  })
})

function encodedOf48(texts: string[], labels: number[], classes: string[]) {
  const seqLen = 48
  const tokens = new Int32Array(texts.length * seqLen)
  const mask = new Float32Array(texts.length * seqLen)
  texts.forEach((t, r) => {
    withBos(t).slice(0, seqLen).forEach((id, k) => {
      tokens[r * seqLen + k] = id
      mask[r * seqLen + k] = 1
    })
  })
  return { n: texts.length, seqLen, tokens, mask, labels: Int32Array.from(labels), classes }
}
