import { describe, expect, it } from 'vitest'
import { DEFAULTS, SCHEMA } from '../../settings/schema'
import { changedFromDefault } from './changedSettings'

const keys = (s: typeof DEFAULTS) => changedFromDefault(SCHEMA, s).map((spec) => spec.key)

describe('changedFromDefault', () => {
  it('is empty at the defaults', () => {
    expect(keys({ ...DEFAULTS })).toEqual([])
  })
  it('lists changed settings in schema order', () => {
    expect(keys({ ...DEFAULTS, seed: 7, warmupSteps: 25 })).toEqual(['warmupSteps', 'seed'])
  })
  it('leaves out a changed setting that does nothing with these settings', () => {
    // LoRA rank only matters for LoRA: changed under "freeze" it is not listed, under LoRA it is.
    expect(keys({ ...DEFAULTS, method: 'freeze', loraRank: 4 })).toEqual([])
    expect(keys({ ...DEFAULTS, method: 'lora', loraRank: 4 })).toEqual(['method', 'loraRank'])
  })
})
