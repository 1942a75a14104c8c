import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseCsvText } from '../../data/csv'
import { loadTinyGpt } from '../../models/modelFile'
import { zeroShotClassify } from '../../train/zeroShot'
import { averageLabels, balanceClasses, checkClassNames, labelPromptExamples, confidenceHistogram, pseudoLabelAccuracy, pseudoLabelsFromScores, selectConfident, thresholdForShare, zeroShotPseudoLabels } from './pseudoLabel'

const root = resolve(__dirname, '../../../..')

// Three rows, classes (spam, ham). Calibrated score differences ln 3, −ln 9, 0.
const scores = Float32Array.from([Math.log(3) - 1, -1, -2 - Math.log(9), -2, -0.5, -0.5])
const prior = Float32Array.from([0, 0])
const p = pseudoLabelsFromScores(scores, prior, ['spam', 'ham'])

describe('pseudo-labels from zero-shot scores', () => {
  it('confidence is the softmax of the calibrated scores (hand values 3/4, 9/10, 1/2)', () => {
    expect(p.labels).toEqual([0, 1, 0])
    expect(p.confidence[0]).toBeCloseTo(0.75, 6)
    expect(p.confidence[1]).toBeCloseTo(0.9, 6)
    expect(p.confidence[2]).toBeCloseTo(0.5, 6)
    // A prior (the class's score after an empty text) is subtracted before the softmax.
    const cal = pseudoLabelsFromScores(Float32Array.from([0, 0]), Float32Array.from([0, Math.log(3)]), ['a', 'b'])
    expect(cal.labels).toEqual([0])
    expect(cal.confidence[0]).toBeCloseTo(0.75, 6)
  })

  it('histogram over [1/C, 1] split by class, threshold selection with rows kept per class', () => {
    const h = confidenceHistogram(p, 5)
    expect(h.edges.map((e) => +e.toFixed(2))).toEqual([0.5, 0.6, 0.7, 0.8, 0.9])
    expect(h.counts).toEqual([1, 0, 1, 0, 1])
    expect(h.perClass).toEqual([[1, 0], [0, 0], [1, 0], [0, 0], [0, 1]])
    const s = selectConfident(p, 0.7)
    expect(s.rows).toEqual([0, 1])
    expect(s.perClass).toEqual({ spam: 1, ham: 1 })
    expect(selectConfident(p, 0.8).emptyClasses).toEqual(['spam'])
    expect(thresholdForShare(p, 2 / 3)).toBeCloseTo(0.75, 6)
  })

  it('class-balanced selection keeps each class down to the smallest, most confident first, in row order', () => {
    // Hand-made labels: class 0 on rows 0, 2, 3, 5 (confidences .9 .6 .8 .7), class 1 on rows 1, 4 (.95 .65).
    const p = { classes: ['a', 'b'], labels: [0, 1, 0, 0, 1, 0], confidence: [0.9, 0.95, 0.6, 0.8, 0.65, 0.7], probs: new Float32Array(12) }
    const b = balanceClasses(p, selectConfident(p, 0.5))
    expect(b.rows).toEqual([0, 1, 3, 4]) // class a: its two most confident (rows 0 and 3); class b: both
    expect(b.perClass).toEqual({ a: 2, b: 2 })
    const c = balanceClasses(p, selectConfident(p, 0.7)) // kept: a rows 0, 3, 5; b row 1
    expect(c.rows).toEqual([0, 1])
    expect(c.perClass).toEqual({ a: 1, b: 1 })
  })

  it('no row above the threshold is refused naming the threshold, the highest confidence and what to do', () => {
    expect(() => selectConfident(p, 0.95)).toThrow('No row has a confidence of at least 0.95 (the highest is 0.90): lower the threshold to 0.90 or below, or rephrase the class names, or add a few labelled rows.')
    expect(() => checkClassNames(['spam'])).toThrow(/at least two class names \(got 1\)/)
    expect(() => checkClassNames(['spam', ' spam '])).toThrow('The class name "spam" is typed twice: give each class its own name.')
  })

  it('accuracy against a labelled validation set, over all rows or the kept ones; unknown labels named', () => {
    expect(pseudoLabelAccuracy(p, ['spam', 'ham', 'ham'])).toBeCloseTo(2 / 3, 6)
    expect(pseudoLabelAccuracy(p, ['spam', 'ham', 'ham'], [0, 1])).toBe(1)
    expect(() => pseudoLabelAccuracy(p, ['spam', 'junk', 'ham'])).toThrow('The validation label "junk" (row 2) is not one of the class names "spam", "ham": type the class names as the validation file spells them.')
  })
})

describe('self-training the model\'s own label scores', () => {
  it('each kept row becomes the zero-shot prompt with its class name as the answer, only the answer masked in', () => {
    // A character tokenizer: each character its code, so the ids can be written by hand.
    const tok = { bosId: 1, eosId: 2, padId: 0, encode: (t: string) => [...t].map((c) => c.charCodeAt(0)), decode: (ids: number[]) => String.fromCharCode(...ids) }
    const { examples, seqLen } = labelPromptExamples(tok, [[1, 104, 105, 106], [1, 120]], [1, 0], ['a', 'bc'], 2)
    const suffix = [...'\nLabel:'].map((c) => c.charCodeAt(0))
    expect(seqLen).toBe(2 + 7 + 3) // text tokens, "\nLabel:", " bc"
    expect(examples[0]!.ids).toEqual([1, 104, ...suffix, 32, 98, 99]) // text cut to 2 tokens, class "bc"
    expect(examples[0]!.mask).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    expect(examples[1]!.ids).toEqual([1, 120, ...suffix, 32, 97])
    expect(examples[1]!.mask.filter((m) => m === 1).length).toBe(2)
  })

  it('averages two labellings\' probabilities row by row (hand values)', () => {
    const a = { classes: ['x', 'y'], labels: [0, 1], confidence: [0.9, 0.6], probs: Float32Array.from([0.9, 0.1, 0.4, 0.6]) }
    const b = { classes: ['x', 'y'], labels: [1, 0], confidence: [0.7, 0.8], probs: Float32Array.from([0.3, 0.7, 0.8, 0.2]) }
    const m = averageLabels(a, b)
    expect(m.labels).toEqual([0, 0]) // (0.9+0.3)/2 = 0.6 for x; (0.4+0.8)/2 = 0.6 vs 0.4 for x
    expect(m.confidence[0]).toBeCloseTo(0.6, 6)
    expect(m.confidence[1]).toBeCloseTo(0.6, 6)
    expect(() => averageLabels(a, { ...b, classes: ['x', 'z'] })).toThrow(/different rows or classes/)
  })
})

describe('zero-shot pseudo-labels with the built-in LM on the shipped unlabelled e-mails', () => {
  it('labels the validation e-mails as zeroShotClassify predicts them, with an accuracy against their withheld labels', async () => {
    await tf.setBackend('cpu')
    const gpt = await loadTinyGpt('/models/tiny-lm/model.json', async (url) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, '')))))
    const recs = parseCsvText(readFileSync(resolve(root, 'public/samples/lm/spam-ham-unlabelled-validation.csv'), 'utf8')).records.slice(1, 25)
    const classes = ['spam', 'ham']
    const T = 24
    const rows = recs.map((r) => [gpt.tokenizer.bosId, ...gpt.tokenizer.encode(r.cells[0]!)].slice(0, T))
    const truth = recs.map((r) => r.cells[1]!)
    const pl = await zeroShotPseudoLabels(gpt.model, gpt.tokenizer, rows, classes, { maxTextTokens: T })
    // The same rows through the existing zero-shot classifier (its own encoding of the set).
    const tokens = new Int32Array(rows.length * T)
    const mask = new Float32Array(rows.length * T)
    rows.forEach((r, i) => {
      tokens.set(r, i * T)
      mask.fill(1, i * T, i * T + r.length)
    })
    const labels = Int32Array.from(truth, (t) => classes.indexOf(t))
    const zs = await zeroShotClassify(gpt.model, gpt.tokenizer, { n: rows.length, seqLen: T, tokens, mask, labels, classes }, { maxTextTokens: T })
    expect(pl.labels).toEqual(zs.predictions)
    const acc = pseudoLabelAccuracy(pl, truth)
    expect(acc).toBeCloseTo(zs.metrics.accuracy!, 10)
    console.log(`zero-shot pseudo-labels on ${rows.length} validation e-mails: accuracy ${(acc * 100).toFixed(1)} %, mean confidence ${(pl.confidence.reduce((a, b) => a + b, 0) / rows.length).toFixed(3)}`)
    expect(pl.confidence.every((c) => c >= 0.5 && c <= 1)).toBe(true)
  }, 120_000)
})
