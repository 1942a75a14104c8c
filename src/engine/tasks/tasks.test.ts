import { describe, expect, it } from 'vitest'
import * as tf from '@tensorflow/tfjs'
import { classification, languageModelling, multitask, regression, taskFor } from './index'
import type { Encoded } from '../train/encoded'
import type { Tuning } from '../train/fineTune'
import { Tuning as RealTuning } from '../train/fineTune'
import { bodyKindOf } from '../bodies'
import { TabularMlp, DEFAULT_TABULAR } from '../models/tabularMlp'
import { DEFAULTS } from '../../settings/schema'
import type { RunSummary } from '../types/run'

tf.setBackend('cpu')

const labelled = (labels: number[], classes: string[]) => ({ labels: Int32Array.from(labels), classes })
const cls = (labels: number[], classes: string[], tasks?: { name: string; labels: number[]; classes: string[] }[]): Encoded => ({
  kind: 'classification',
  n: labels.length,
  seqLen: 1,
  tokens: new Int32Array(labels.length),
  mask: new Float32Array(labels.length),
  ...labelled(labels, classes),
  ...(tasks ? { tasks: tasks.map((t) => ({ name: t.name, ...labelled(t.labels, t.classes) })) } : {}),
})
const noMulti = { multi: null } as unknown as Tuning

describe('taskFor picks the module the encoded data asks for', () => {
  it('one per kind of target', () => {
    expect(taskFor(cls([0, 1], ['a', 'b']), noMulti)).toBe(classification)
    expect(taskFor({ kind: 'lm', n: 1, seqLen: 2, tokens: new Int32Array(3) }, noMulti)).toBe(languageModelling)
    expect(taskFor({ kind: 'regression', n: 1, seqLen: 1, tokens: new Int32Array(1), mask: new Float32Array(1), values: new Float32Array(1), scale: { name: 'y', mean: 0, std: 1 } }, noMulti)).toBe(regression)
    const tab = { kind: 'tabular' as const, n: 1, dim: 1, features: new Float32Array(1), columns: ['x'], standardizer: { columns: ['x'], mean: Float64Array.of(0), std: Float64Array.of(1) } }
    expect(taskFor({ ...tab, values: new Float32Array(1), scale: { name: 'y', mean: 0, std: 1 } }, noMulti)).toBe(regression)
    expect(taskFor({ ...tab, labels: new Int32Array(1), classes: ['a', 'b'] }, noMulti)).toBe(classification)
    const two = cls([0], ['a', 'b'], [{ name: 'A', labels: [0], classes: ['a', 'b'] }, { name: 'B', labels: [1], classes: ['x', 'y'] }])
    expect(taskFor(two, { multi: { weights: [1, 1] } } as unknown as Tuning)).toBe(multitask)
    expect(taskFor(two, noMulti)).toBe(classification) // no head per column: one head
  })
})

describe('baselines and words', () => {
  it('multitask: each column answers its commonest training class, accuracies weighted like the loss', () => {
    // A: train [a a b] → always "a"; on val [a b b b] that is 1/4. B: train [y y x] → "y"; on val [y y y x] 3/4.
    const train = cls([0, 0, 1], ['a', 'b'], [{ name: 'A', labels: [0, 0, 1], classes: ['a', 'b'] }, { name: 'B', labels: [1, 1, 0], classes: ['x', 'y'] }])
    const val = cls([0, 1, 1, 1], ['a', 'b'], [{ name: 'A', labels: [0, 1, 1, 1], classes: ['a', 'b'] }, { name: 'B', labels: [1, 1, 1, 0], classes: ['x', 'y'] }])
    const tuning = { multi: { weights: [1, 3] } } as unknown as Tuning
    const b = multitask.baseline({ untrained: { loss: 0.7, accuracy: 0.5 }, train, val, tuning, zeroShot: null })
    expect(b.metrics.accuracy).toBeCloseTo((1 * 0.25 + 3 * 0.75) / 4, 10) // 0.625 beats the head's 0.5
    expect(b.name).toBe('majority class (a, y)')
  })

  it('regression: the training mean, in the target units; the end words name the target', () => {
    const val: Encoded = { kind: 'regression', n: 4, seqLen: 1, tokens: new Int32Array(4), mask: new Float32Array(4), values: Float32Array.from([1, -1, 1, -1]), scale: { name: 'price', mean: 10, std: 2 } }
    const b = regression.baseline({ untrained: { loss: 1 }, train: val, val, tuning: noMulti, zeroShot: null })
    expect(b.name).toBe('training mean')
    expect(b.metrics.rmse).toBeCloseTo(2, 6) // every target is 1 std (2) from the mean
    const summary = { epochs: 1, bestEpoch: 0, best: { loss: 0.25, rmse: 1 }, baseline: b.metrics, baselineName: b.name, seconds: 1 } as RunSummary
    expect(regression.describeBest(summary, val)).toBe('best validation RMSE 1.000 price (line to beat: training mean 2.000)')
  })

  it("regression: a person's model as loaded is the line when its RMSE is below the mean's (tie: the mean); an untrained head never is", () => {
    const val: Encoded = { kind: 'regression', n: 4, seqLen: 1, tokens: new Int32Array(4), mask: new Float32Array(4), values: Float32Array.from([1, -1, 1, -1]), scale: { name: 'price', mean: 10, std: 2 } }
    const loaded = (baseName: string | null) => ({ multi: null, head: { origin: baseName ? "my_mlp's own output layer out" : null, baseName } }) as unknown as Tuning
    // the mean's RMSE is 2 (every target 1 std of 2 from it)
    const better = regression.baseline({ untrained: { loss: 0.25, rmse: 1.5 }, train: val, val, tuning: loaded('my_mlp as loaded'), zeroShot: null })
    expect(better).toEqual({ metrics: { loss: 0.25, rmse: 1.5 }, name: 'my_mlp as loaded', note: "my_mlp's own output layer out, before fine-tuning (my_mlp as loaded RMSE 1.500; training mean RMSE 2.000)" })
    const tie = regression.baseline({ untrained: { loss: 1, rmse: 2 }, train: val, val, tuning: loaded('my_mlp as loaded'), zeroShot: null })
    expect(tie.name).toBe('training mean')
    expect(tie.note).toBe('always predicting the training mean of price (10.00); my_mlp as loaded RMSE 2.000')
    const untrained = regression.baseline({ untrained: { loss: 0.25, rmse: 1.5 }, train: val, val, tuning: loaded(null), zeroShot: null })
    expect(untrained.name).toBe('training mean')
    expect(untrained.note).toBe('always predicting the training mean of price (10.00); untrained head RMSE 1.500')
  })

  it("classification: a head from a person's own output layer is named as their model; from a checkpoint, 'checkpoint head'", () => {
    const train = cls([0, 0, 0, 1], ['a', 'b'])
    const val = cls([0, 1, 1, 1], ['a', 'b']) // the majority class "a" scores 25%
    const head = (origin: string | null, baseName: string | null) => ({ multi: null, head: { origin, baseName } }) as unknown as Tuning
    const theirs = classification.baseline({ untrained: { loss: 0.5, accuracy: 0.75 }, train, val, tuning: head("my_mlp's own output layer out", 'my_mlp as loaded'), zeroShot: null })
    expect(theirs.name).toBe('my_mlp as loaded')
    expect(theirs.note).toBe("my_mlp's own output layer out, before fine-tuning (majority class 25.0%; my_mlp as loaded 75.0%; chance level 50%)")
    expect(classification.baseline({ untrained: { loss: 0.5, accuracy: 0.75 }, train, val, tuning: head("the checkpoint's own BertForSequenceClassification head", null), zeroShot: null }).name).toBe('checkpoint head')
    expect(classification.baseline({ untrained: { loss: 0.5, accuracy: 0.75 }, train, val, tuning: head(null, null), zeroShot: null }).name).toBe('untrained head')
    // worse than the majority class: the majority class is the line, their score beside it
    const worse = classification.baseline({ untrained: { loss: 0.9, accuracy: 0.2 }, train, val, tuning: head("my_mlp's own output layer out", 'my_mlp as loaded'), zeroShot: null })
    expect(worse.name).toBe('majority class (a)')
    expect(worse.note).toContain('my_mlp as loaded 20.0%')
  })

  it('language modelling reports perplexity for its training loss; classification does not', () => {
    expect(languageModelling.trainMetrics(Math.log(8)).perplexity).toBeCloseTo(8, 6)
    expect(classification.trainMetrics(0.3)).toEqual({ loss: 0.3 })
  })

  it('language modelling writes a large perplexity with thousands separators', () => {
    const summary = { epochs: 1, bestEpoch: 0, best: { loss: 7, perplexity: 1096.633 }, baseline: { loss: 9.4, perplexity: 12345.6 }, baselineName: 'base model', seconds: 1 } as RunSummary
    const val: Encoded = { kind: 'lm', n: 1, seqLen: 2, tokens: new Int32Array(3) }
    expect(languageModelling.describeBest(summary, val)).toBe('best validation perplexity 1,096.63 (line to beat: base model 12,345.60)')
  })
})

describe('Body adapters', () => {
  it('the tabular MLP declares no place for LoRA or adapters, and Tuning refuses them by its word', () => {
    const mlp = new TabularMlp({ inputDim: 3, ...DEFAULT_TABULAR }, 1)
    try {
      const kind = bodyKindOf(mlp)
      expect(kind.adapters).toBe(false)
      expect(kind.loraPlacement(mlp, DEFAULTS)).toBeNull()
      expect(() => new RealTuning(mlp, { ...DEFAULTS, method: 'lora' }, 2)).toThrow('lora is available for the text transformer only; choose another method for this model.')
      expect(() => new RealTuning(mlp, { ...DEFAULTS, method: 'adapter' }, 2)).toThrow('adapter is available for the text transformer only')
      const t = new RealTuning(mlp, { ...DEFAULTS, method: 'full' }, 2)
      expect(t.lora).toBeNull()
      t.dispose()
    } finally {
      mlp.dispose()
    }
  })
})
