import { describe, expect, it } from 'vitest'
import { niceTicks } from './LineSvg'

describe('niceTicks', () => {
  it('gives round values inside the range', () => {
    expect(niceTicks(0, 100)).toEqual([0, 25, 50, 75, 100])
    expect(niceTicks(0.41, 0.97)).toEqual([0.6, 0.8]) // step 0.2: the smallest round step giving at most 4 intervals
    const t = niceTicks(-3.2, 17.9, 5)
    expect(t.every((x) => x >= -3.2 && x <= 17.9)).toBe(true)
    expect(t).toEqual([0, 5, 10, 15])
  })
  it('handles a flat or non-finite range', () => {
    expect(niceTicks(2, 2)).toEqual([2])
    expect(niceTicks(NaN, 1)).toEqual([])
  })
})
