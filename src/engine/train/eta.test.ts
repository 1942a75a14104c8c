import { describe, expect, it } from 'vitest'
import { EtaEstimator } from './eta'

describe('EtaEstimator', () => {
  it('prices a head-only run by phase: caching steps at their cost, cached steps at the cost without caching', () => {
    // 10 steps per epoch, 10 epochs; epoch 1 fills the cache: 0.9 s of caching + 0.1 s of training per step.
    const eta = new EtaEstimator()
    for (let i = 0; i < 5; i++) eta.step(1.0, 0.9)
    // 95 steps left: 5 still caching (1 s each), 90 cached (0.1 s each), no validation measured yet.
    expect(eta.remaining(95, 5, 10)).toBeCloseTo(5 * 1.0 + 90 * 0.1, 9) // 14 s, where one rate for all said 95 s
    // After the first epoch (with a 0.5 s validation pass), cached steps take 0.1 s.
    for (let i = 0; i < 5; i++) eta.step(1.0, 0.9)
    eta.evaluation(0.5)
    eta.step(0.1, 0)
    expect(eta.remaining(89, 0, 9)).toBeCloseTo(89 * 0.1 + 9 * 0.5, 9)
  })

  it('smooths changing step times and ignores impossible inputs', () => {
    const eta = new EtaEstimator(0.5)
    eta.step(0.2, 0)
    eta.step(0.4, 0) // 0.5·0.2 + 0.5·0.4
    expect(eta.remaining(10, 0, 0)).toBeCloseTo(3, 9)
    expect(eta.remaining(10, 20, 0)).toBeCloseTo(3, 9) // no fill measured: caching steps cost what others do
    expect(eta.remaining(-1, -1, -1)).toBe(0)
  })

  it('a run whose plan changes later (gradual unfreezing) prices those epochs as caching again', () => {
    const eta = new EtaEstimator()
    eta.step(2, 1.5) // caching: 1.5 s + 0.5 s
    eta.step(0.5, 0)
    // 0.7·0.5 + 0.3·0.5 = 0.5 compute; 20 steps left, 10 of them in an epoch that must cache again.
    expect(eta.remaining(20, 10, 0)).toBeCloseTo(10 * 2 + 10 * 0.5, 9)
  })
})
