import { describe, expect, it } from 'vitest'
import { ReduceLrOnPlateau } from './plateau'

describe('ReduceLrOnPlateau', () => {
  it('halves after `patience` epochs without improvement, then waits again', () => {
    const p = new ReduceLrOnPlateau({ patience: 2 })
    expect(p.update(1.0).reduced).toBe(false) // best
    expect(p.update(0.8).reduced).toBe(false) // best
    expect(p.update(0.9).reduced).toBe(false) // bad 1
    expect(p.update(0.85)).toEqual({ reduced: true, scale: 0.5 }) // bad 2 → reduce
    expect(p.apply(0.01)).toBeCloseTo(0.005, 12)
    expect(p.update(0.9).reduced).toBe(false)
    expect(p.update(0.9)).toEqual({ reduced: true, scale: 0.25 })
    expect(p.update(0.7).reduced).toBe(false) // improvement resets the count
    expect(p.update(0.75).reduced).toBe(false)
  })

  it("mode 'max', the min-lr floor, NaN and resume", () => {
    const p = new ReduceLrOnPlateau({ patience: 1, mode: 'max', minLr: 0.004 })
    p.update(0.5)
    expect(p.update(0.6).reduced).toBe(false)
    expect(p.update(Number.NaN).reduced).toBe(true)
    expect(p.update(0.55).reduced).toBe(true)
    expect(p.apply(0.01)).toBe(0.004) // 0.0025 floored
    const q = new ReduceLrOnPlateau({ patience: 1, mode: 'max', minLr: 0.004 })
    q.restore(p.state())
    expect(q.state()).toEqual(p.state())
  })

  it('patience 0 is off', () => {
    const p = new ReduceLrOnPlateau({ patience: 0 })
    for (let i = 0; i < 10; i++) expect(p.update(1).reduced).toBe(false)
    expect(p.apply(0.01)).toBe(0.01)
  })
})
