import { describe, expect, it } from 'vitest'
import { atMost, pairedRatio, ratioInterval } from './stats'

describe('paired ratios and their interval', () => {
  it('pairs each studio run with the geometric mean of the reference runs around it', () => {
    const e = pairedRatio([110, 90], [100, 100, 100])
    expect(e.pairs).toEqual([1.1, 0.9])
    // geometric mean of 1.1 and 0.9
    expect(e.ratio).toBeCloseTo(Math.sqrt(1.1 * 0.9), 12)
    // a drift of the machine (references slowing from 100 to 121) is cancelled
    expect(pairedRatio([110], [100, 121]).ratio).toBeCloseTo(1, 12)
  })

  it('gives the Student-t 90 % interval on the log scale', () => {
    const pairs = [1.02, 0.98, 1.05, 0.97, 1.01]
    const logs = pairs.map(Math.log)
    const mean = logs.reduce((a, b) => a + b) / 5
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / 4)
    const e = ratioInterval(pairs)
    expect(e.lo).toBeCloseTo(Math.exp(mean - (2.132 * sd) / Math.sqrt(5)), 12)
    expect(e.hi).toBeCloseTo(Math.exp(mean + (2.132 * sd) / Math.sqrt(5)), 12)
    expect(e.lo).toBeLessThan(e.ratio)
    expect(e.hi).toBeGreaterThan(e.ratio)
  })

  it('decides a limit only when the whole interval is on one side of it', () => {
    expect(atMost(ratioInterval([0.99, 1.0, 1.01, 1.0]), 1.05)).toBe('met')
    expect(atMost(ratioInterval([1.1, 1.12, 1.09, 1.11]), 1.05)).toBe('not met')
    expect(atMost(ratioInterval([0.9, 1.2, 1.0]), 1.05)).toBe('undecided')
    expect(atMost(ratioInterval([0.5]), 1.05)).toBe('undecided') // one pair: no interval
  })

  it('refuses mismatched run counts', () => {
    expect(() => pairedRatio([1, 2], [1, 2])).toThrow(/one more reference run/)
  })
})
