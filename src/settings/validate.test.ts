import { describe, expect, it } from 'vitest'
import { DEFAULTS } from './schema'
import type { Settings } from './types'
import { validateSettings, type ValidationContext } from './validate'

// The built-in tiny model on the sample data: 4 blocks, width 64, a classification head.
const ctx: ValidationContext = { trainSize: 480, nLayers: 4, dModel: 64, hasHead: true }
const check = (patch: Partial<Settings>, c: Partial<ValidationContext> = {}) =>
  validateSettings({ ...DEFAULTS, ...patch }, { ...ctx, ...c })
const fields = (patch: Partial<Settings>, c: Partial<ValidationContext> = {}) =>
  check(patch, c).map((p) => p.field)

describe('validateSettings', () => {
  it('accepts the defaults on the built-in model, with or without a head', () => {
    expect(check({})).toEqual([])
    expect(check({}, { hasHead: false })).toEqual([])
  })

  it('refuses a learning rate of 0 and says what to set', () => {
    const [p, ...rest] = check({ learningRate: 0 })
    expect(p?.field).toBe('learningRate')
    expect(p?.message).toMatch(/1e-3/)
    expect(rest).toEqual([]) // one message per field, not a second range complaint
  })

  it('refuses a batch larger than the training set', () => {
    const [p] = check({ batchSize: 32 }, { trainSize: 20 })
    expect(p).toEqual({ field: 'batchSize', message: expect.stringMatching(/20 or less/) })
    expect(check({ batchSize: 20 }, { trainSize: 20 })).toEqual([])
  })

  it('refuses accumulation that needs more examples than there are', () => {
    const [p] = check({ batchSize: 16, accumSteps: 4 }, { trainSize: 40 })
    expect(p?.field).toBe('accumSteps')
    expect(p?.message).toMatch(/64 examples/)
    expect(p?.message).toMatch(/to 2 or less/)
    expect(check({ batchSize: 16, accumSteps: 2 }, { trainSize: 40 })).toEqual([])
  })

  it('refuses an empty training set, pointing at the split', () => {
    expect(fields({}, { trainSize: 0 })).toEqual(['valSplit'])
  })

  it('refuses a LoRA rank wider than the layers, only when LoRA is the method', () => {
    expect(fields({ method: 'lora', loraRank: 64 }, { dModel: 32 })).toEqual(['loraRank'])
    expect(check({ method: 'lora', loraRank: 32 }, { dModel: 32 })).toEqual([])
    expect(check({ method: 'freeze', loraRank: 64 }, { dModel: 32 })).toEqual([])
  })

  it('refuses adapters wider than the layers', () => {
    expect(fields({ method: 'adapter', adapterSize: 128 })).toEqual(['adapterSize'])
  })

  it('refuses freezing every block when there is no head to train', () => {
    const [p] = check({ method: 'freeze', freezeFirst: 4 }, { hasHead: false })
    expect(p?.field).toBe('freezeFirst')
    expect(p?.message).toMatch(/nothing would train/)
    expect(p?.message).toMatch(/3 or less/)
    // With a head, freezing every block is a linear probe: allowed.
    expect(check({ method: 'freeze', freezeFirst: 4 }, { hasHead: true })).toEqual([])
    expect(fields({ method: 'freeze', freezeFirst: 6 })).toEqual(['freezeFirst'])
  })

  it('refuses head-only training on a model without a head', () => {
    expect(fields({ method: 'head' }, { hasHead: false })).toEqual(['method'])
  })

  it('refuses a head-first stage that uses every epoch, or has no head', () => {
    expect(fields({ headFirstEpochs: 4, epochs: 4 })).toEqual(['headFirstEpochs'])
    expect(fields({ headFirstEpochs: 1 }, { hasHead: false })).toEqual(['headFirstEpochs'])
    expect(check({ headFirstEpochs: 1, epochs: 4 })).toEqual([])
  })

  it('refuses early stopping and plateau halving without a validation set', () => {
    expect(fields({ valSplit: 0, earlyStopPatience: 2, plateauPatience: 1 })).toEqual([
      'earlyStopPatience',
      'plateauPatience',
    ])
    expect(check({ valSplit: 0 })).toEqual([])
  })

  it('refuses sequences longer than the position table, when known', () => {
    expect(fields({ seqLen: 128 }, { maxSeqLen: 64 })).toEqual(['seqLen'])
    expect(check({ seqLen: 64 }, { maxSeqLen: 64 })).toEqual([])
  })

  it('catches out-of-range values from code, but not in hidden controls', () => {
    expect(fields({ dropout: 1.5, epochs: Number.NaN })).toEqual(['epochs', 'dropout'])
    expect(fields({ method: 'lora', loraTargets: '' })).toEqual(['loraTargets'])
    expect(check({ method: 'freeze', loraTargets: '' })).toEqual([])
  })
})
