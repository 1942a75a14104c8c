import { describe, expect, it } from 'vitest'
import { EarlyStopping } from './earlyStopping'

describe('EarlyStopping', () => {
  it('tracks the best epoch and stops after `patience` bad epochs', () => {
    const es = new EarlyStopping({ patience: 2 })
    expect(es.update(0, 1.0)).toEqual({ isBest: true, stop: false })
    expect(es.update(1, 0.7)).toEqual({ isBest: true, stop: false })
    expect(es.update(2, 0.7)).toEqual({ isBest: false, stop: false }) // equal is not better
    expect(es.update(3, 0.9)).toEqual({ isBest: false, stop: true })
    expect(es.bestEpoch).toBe(1)
    expect(es.bestValue).toBe(0.7)
  })

  it("mode 'max' with minDelta; NaN never best", () => {
    const es = new EarlyStopping({ patience: 3, mode: 'max', minDelta: 0.01 })
    expect(es.update(0, Number.NaN).isBest).toBe(false)
    expect(es.update(1, 0.5).isBest).toBe(true)
    expect(es.update(2, 0.505).isBest).toBe(false)
    expect(es.update(3, 0.52).isBest).toBe(true)
    expect(es.bestEpoch).toBe(3)
  })

  it('patience 0 never stops but still tracks the best; state round-trips', () => {
    const es = new EarlyStopping({ patience: 0 })
    es.update(0, 2)
    for (let e = 1; e < 20; e++) expect(es.update(e, 3).stop).toBe(false)
    expect(es.bestEpoch).toBe(0)
    const again = new EarlyStopping({ patience: 0 })
    again.restore(es.state())
    expect(again.update(20, 1.5).isBest).toBe(true)
  })
})
