import { describe, expect, it } from 'vitest'
import { mulberry32, randomInt, shuffleInPlace } from './rng'

describe('mulberry32', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const c = mulberry32(43)
    const sa = [a(), a(), a()]
    expect([b(), b(), b()]).toEqual(sa)
    expect([c(), c(), c()]).not.toEqual(sa)
  })

  it('matches the reference mulberry32 output for seed 1', () => {
    // First value of the reference implementation (bryc/code, PRNGs.md) for seed 1.
    expect(mulberry32(1)()).toBeCloseTo(0.6270739405881613, 12)
  })

  it('stays in [0, 1) and is roughly uniform', () => {
    const r = mulberry32(7)
    const bins = new Array<number>(10).fill(0)
    for (let i = 0; i < 10000; i++) {
      const x = r()
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThan(1)
      bins[Math.floor(x * 10)]!++
    }
    for (const b of bins) expect(Math.abs(b - 1000)).toBeLessThan(150)
  })
})

describe('shuffleInPlace', () => {
  it('permutes deterministically and keeps every element', () => {
    const a = shuffleInPlace([...Array(20).keys()], mulberry32(3))
    const b = shuffleInPlace([...Array(20).keys()], mulberry32(3))
    expect(a).toEqual(b)
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(20).keys()])
    expect(a).not.toEqual([...Array(20).keys()])
  })

  it('randomInt stays within [0, n)', () => {
    const r = mulberry32(9)
    for (let i = 0; i < 1000; i++) {
      const k = randomInt(5, r)
      expect(Number.isInteger(k) && k >= 0 && k < 5).toBe(true)
    }
  })
})
