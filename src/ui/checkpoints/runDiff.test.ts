import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import { differingSettings, valueText } from './runDiff'

describe('differingSettings', () => {
  it('lists only the settings the runs disagree on, in the settings panel order', () => {
    const a = { settings: { ...DEFAULTS } }
    const b = { settings: { ...DEFAULTS, seed: 7, learningRate: 0.01 } }
    const c = { settings: { ...DEFAULTS, learningRate: 0.01 } }
    expect(differingSettings([a, b])).toEqual(['learningRate', 'seed'])
    expect(differingSettings([b, c])).toEqual(['seed'])
    expect(differingSettings([a, b, c])).toEqual(['learningRate', 'seed'])
  })
  it('is empty for one run or runs that agree', () => {
    expect(differingSettings([{ settings: { ...DEFAULTS, seed: 7 } }])).toEqual([])
    expect(differingSettings([{ settings: { ...DEFAULTS } }, { settings: { ...DEFAULTS } }])).toEqual([])
  })
  it('counts a setting a stored run predates as different from a set one', () => {
    const { seed: _seed, ...old } = DEFAULTS
    void _seed
    expect(differingSettings([{ settings: old }, { settings: { ...DEFAULTS } }])).toEqual(['seed'])
  })
})

describe('valueText', () => {
  it('writes a value as the settings panel does, without the label', () => {
    expect(valueText('method', 'lora')).toBe('LoRA')
    expect(valueText('warmupSteps', 25)).toBe('25 steps')
    expect(valueText('earlyStopPatience', 0)).toBe('off')
    expect(valueText('restoreBest', true)).toBe('on')
  })
})
