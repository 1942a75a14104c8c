import { describe, expect, it } from 'vitest'
import { lineToBeat, majorityClass } from './baselines'

describe('majorityClass', () => {
  it('answers the commonest training class and scores it on validation', () => {
    // Training: class 2 is commonest (3 of 6); validation has it 2 times in 5.
    const m = majorityClass([2, 0, 2, 1, 2, 0], [2, 1, 0, 2, 1], ['a', 'b', 'c'])
    expect(m.className).toBe('c')
    expect(m.metrics.accuracy).toBeCloseTo(2 / 5, 12)
    // F1 of c: precision 2/5, recall 1 → 4/7; a and b: 0. Macro: (4/7)/3.
    expect(m.metrics.macroF1).toBeCloseTo(4 / 7 / 3, 6)
    // Loss of the training frequencies (add-one, counts a 2, b 1, c 3): a 3/9, b 2/9, c 4/9 on validation labels c, b, a, c, b.
    expect(m.metrics.loss).toBeCloseTo(-(2 * Math.log(4 / 9) + 2 * Math.log(2 / 9) + Math.log(3 / 9)) / 5, 9)
  })
})

describe('lineToBeat', () => {
  const head = { loss: 1.1, accuracy: 0.3 }
  const majority = { metrics: { loss: NaN, accuracy: 0.48 }, className: 'ham' }
  it('is the majority class when it beats zero-shot and the untrained head, with every score beside it', () => {
    const b = lineToBeat(head, 3, { loss: NaN, accuracy: 0.212 }, majority)
    expect(b.name).toBe('majority class (ham)')
    expect(b.metrics.accuracy).toBe(0.48)
    expect(b.note).toContain('majority class 48.0%')
    expect(b.note).toContain('zero-shot LM label scoring 21.2%')
    expect(b.note).toContain('untrained head 30.0%')
    expect(b.note).toContain('chance level 33%')
  })
  it('is the zero-shot LM or the head when they do better', () => {
    expect(lineToBeat(head, 3, { loss: NaN, accuracy: 0.7 }, majority).name).toBe('zero-shot LM')
    expect(lineToBeat({ loss: 1, accuracy: 0.6 }, 3, { loss: NaN, accuracy: 0.5 }, majority).name).toBe('untrained head')
    expect(lineToBeat({ loss: 1, accuracy: 0.6 }, 3, null, null).name).toBe('untrained head')
  })
  it('a tie goes to the majority class (the simplest reference)', () => {
    expect(lineToBeat({ loss: 1, accuracy: 0.48 }, 3, { loss: NaN, accuracy: 0.48 }, majority).name).toBe('majority class (ham)')
  })
})
