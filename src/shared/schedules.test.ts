import { describe, expect, it } from 'vitest'
import { learningRateAt, scheduleCurve, type ScheduleSettings } from './schedules'

const total = 100
const base: ScheduleSettings = { learningRate: 0.01, schedule: 'constant', warmupSteps: 10, stepEvery: 30, stepGamma: 0.1 }
const at = (step: number, s: Partial<ScheduleSettings>) => learningRateAt(step, total, { ...base, ...s })
// Sample steps: 0, mid-warm-up, last warm-up step, first step after, middle, last.
const [first, midWarm, endWarm, afterWarm, middle, last] = [0, 4, 9, 10, 55, 99]

describe('learningRateAt', () => {
  it('warms up linearly from lr/warmup to lr, for every schedule', () => {
    for (const schedule of ['constant', 'linear', 'cosine', 'step'] as const) {
      expect(at(first, { schedule })).toBeCloseTo(0.01 * (1 / 10), 12)
      expect(at(midWarm, { schedule })).toBeCloseTo(0.01 * (5 / 10), 12)
      expect(at(endWarm, { schedule })).toBeCloseTo(0.01, 12)
    }
  })

  it('constant', () => {
    for (const step of [afterWarm, middle, last]) expect(at(step, { schedule: 'constant' })).toBe(0.01)
  })

  it('linear: lr · (1 − p), p = (step − 10) / 90', () => {
    const s = { schedule: 'linear' } as const
    expect(at(afterWarm, s)).toBeCloseTo(0.01, 12)
    expect(at(middle, s)).toBeCloseTo(0.01 * (1 - 45 / 90), 12)
    expect(at(last, s)).toBeCloseTo(0.01 * (1 - 89 / 90), 12)
    expect(at(last, s)).toBeGreaterThan(0)
  })

  it('cosine: min + (lr − min) · ½(1 + cos πp)', () => {
    const s = { schedule: 'cosine' } as const
    const cos = (p: number, min = 0) => min + (0.01 - min) * 0.5 * (1 + Math.cos(Math.PI * p))
    expect(at(afterWarm, s)).toBeCloseTo(0.01, 12)
    expect(at(40, s)).toBeCloseTo(cos(30 / 90), 12) // = 0.0075
    expect(at(40, s)).toBeCloseTo(0.0075, 12)
    expect(at(middle, s)).toBeCloseTo(0.005, 12)
    expect(at(last, s)).toBeCloseTo(cos(89 / 90), 12)
    expect(at(last, { ...s, minLrRatio: 0.1 })).toBeCloseTo(cos(89 / 90, 0.001), 12)
    expect(at(last, { ...s, minLrRatio: 0.1 })).toBeGreaterThan(0.001)
  })

  it('step: lr · gamma^floor(step / stepEvery)', () => {
    const s = { schedule: 'step' } as const
    expect(at(afterWarm, s)).toBeCloseTo(0.01, 12)
    expect(at(29, s)).toBeCloseTo(0.01, 12)
    expect(at(30, s)).toBeCloseTo(0.001, 12)
    expect(at(middle, s)).toBeCloseTo(0.001, 12)
    expect(at(last, s)).toBeCloseTo(0.01 * 0.1 ** 3, 12)
    expect(at(last, { ...s, minLrRatio: 0.01 })).toBeCloseTo(0.0001, 12)
    expect(at(last, { ...s, stepEvery: 0 })).toBe(0.01)
  })

  it('without warm-up starts at the full rate', () => {
    expect(learningRateAt(0, total, { ...base, warmupSteps: 0, schedule: 'cosine' })).toBe(0.01)
  })
})

describe('scheduleCurve', () => {
  it('samples first to last step with values from learningRateAt', () => {
    const s = { ...base, schedule: 'cosine' } as const
    const curve = scheduleCurve(1000, s, 200)
    expect(curve).toHaveLength(200)
    expect(curve[0]).toEqual({ step: 0, lr: learningRateAt(0, 1000, s) })
    expect(curve.at(-1)?.step).toBe(999)
    for (const p of curve) expect(p.lr).toBe(learningRateAt(p.step, 1000, s))
  })

  it('gives every step when there are fewer steps than points', () => {
    const curve = scheduleCurve(50, base)
    expect(curve.map((p) => p.step)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(scheduleCurve(0, base)).toEqual([])
  })
})
