import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../data/rng'
import { argmax, sampleToken, samplingDistribution, softmax } from './sampling'

const logits = [0.3, 2.1, -1, 1.9, 0.5, 2.05]

describe('sampling', () => {
  it('softmax sums to 1 and keeps the order of the logits', () => {
    for (const t of [0.1, 0.7, 1, 3]) {
      const p = softmax(logits, t)
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
      expect(argmax(p)).toBe(1)
    }
    // hand computation for two logits: e^1 / (e^0 + e^1)
    expect(softmax([0, 1])[1]).toBeCloseTo(Math.E / (1 + Math.E), 12)
  })

  it('the sampling distribution sums to 1 and is zero outside the top k', () => {
    const p = samplingDistribution(logits, { temperature: 1, topK: 3 })
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    expect([...p].map((x) => x > 0)).toEqual([false, true, false, true, false, true])
    const all = samplingDistribution(logits, { temperature: 1, topK: 0 })
    expect([...all].every((x) => x > 0)).toBe(true)
  })

  it('top-k = 1 is greedy and deterministic whatever the random source says', () => {
    const rand = mulberry32(7)
    for (let i = 0; i < 50; i++) expect(sampleToken(logits, { temperature: 1.5, topK: 1 }, rand)).toBe(1)
    expect(sampleToken(logits, { temperature: 1, topK: 1 }, () => 0.999999)).toBe(1)
  })

  it('temperature → 0 equals argmax', () => {
    const rand = mulberry32(3)
    for (const t of [0, 1e-7]) for (let i = 0; i < 30; i++) expect(sampleToken(logits, { temperature: t, topK: 0 }, rand)).toBe(argmax(logits))
    // a small but positive temperature concentrates nearly all mass on the argmax
    expect(samplingDistribution(logits, { temperature: 0.01, topK: 0 })[1]).toBeGreaterThan(0.99)
  })

  it('draws follow the distribution and stay inside the top k', () => {
    const rand = mulberry32(11)
    const counts = new Array<number>(logits.length).fill(0)
    const n = 20000
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: 1, topK: 3 }, rand)]!++
    const p = samplingDistribution(logits, { temperature: 1, topK: 3 })
    counts.forEach((c, i) => expect(c / n).toBeCloseTo(p[i]!, 1))
    expect(counts[0]! + counts[2]! + counts[4]!).toBe(0)
  })
})
