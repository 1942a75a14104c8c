import { describe, expect, it } from 'vitest'
import {
  accuracy,
  argmaxRows,
  confusionMatrix,
  macroF1,
  meanAbsoluteError,
  perClassScores,
  perplexity,
  rootMeanSquaredError,
} from './metrics'

describe('classification metrics', () => {
  const yTrue = [0, 0, 1, 1, 2, 2]
  const yPred = [0, 1, 1, 1, 0, 2]

  it('accuracy and confusion matrix', () => {
    expect(accuracy(yTrue, yPred)).toBeCloseTo(4 / 6, 12)
    expect(confusionMatrix(yTrue, yPred, 4)).toEqual([
      [1, 1, 0, 0],
      [0, 2, 0, 0],
      [1, 0, 1, 0],
      [0, 0, 0, 0],
    ])
    expect(() => confusionMatrix([5], [0], 4)).toThrow(/out of range/)
  })

  it('macro-F1 by hand, leaving out the class absent from truth and predictions', () => {
    // class 0: P 1/2, R 1/2 → 0.5; class 1: P 2/3, R 1 → 0.8; class 2: P 1, R 1/2 → 2/3; class 3 absent
    const cm = confusionMatrix(yTrue, yPred, 4)
    const scores = perClassScores(cm)
    expect(scores.map((s) => s.f1)).toEqual([0.5, expect.closeTo(0.8, 12), expect.closeTo(2 / 3, 12), 0])
    expect(scores[3]!.present).toBe(false)
    expect(macroF1(cm)).toBeCloseTo((0.5 + 0.8 + 2 / 3) / 3, 12)
  })

  it('a class predicted but never true counts with F1 = 0', () => {
    expect(macroF1(confusionMatrix([0, 0], [0, 1], 3))).toBeCloseTo((2 / 3 + 0) / 2, 12)
  })

  it('argmaxRows', () => {
    expect(argmaxRows(new Float32Array([0.1, 0.9, 0.0, 3, 1, 2]), 3)).toEqual([1, 0])
  })
})

describe('regression and language metrics', () => {
  it('MAE, RMSE, perplexity', () => {
    expect(meanAbsoluteError([1, 2, 3], [2, 2, 1])).toBeCloseTo(1, 12)
    expect(rootMeanSquaredError([1, 2, 3], [2, 2, 1])).toBeCloseTo(Math.sqrt(5 / 3), 12)
    expect(perplexity(Math.log(50))).toBeCloseTo(50, 9)
  })
})
