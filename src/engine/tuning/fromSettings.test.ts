import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { TinyGpt } from '../models/tinyGpt'
import { createTuning, type TuningSettings } from './fromSettings'
import { smallModel, useCpu } from './testUtils'

let model: TinyGpt
beforeAll(useCpu)
afterEach(() => model?.dispose())

const settings = (over: Partial<TuningSettings>): TuningSettings => ({
  method: 'full',
  loraRank: 4,
  loraAlpha: 8,
  loraDropout: 0,
  loraTargets: 'qkv,proj',
  adapterSize: 8,
  seed: 1,
  ...over,
})

describe('createTuning', () => {
  it('builds LoRA, adapters or nothing by method, and frees it all', () => {
    model = smallModel()
    const before = tf.memory().numTensors
    const lora = createTuning(model, settings({ method: 'lora' }))
    expect(lora.lora?.layers).toEqual(['h0.attn.qkv', 'h0.attn.proj', 'h1.attn.qkv', 'h1.attn.proj'])
    expect(lora.lora?.scale).toBe(2)
    expect(lora.hooks?.linearDelta).toBeDefined()
    const adapters = createTuning(model, settings({ method: 'adapter' }))
    expect(adapters.adapters?.blocks).toEqual([0, 1])
    expect(adapters.hooks?.afterBlock).toBeDefined()
    const none = createTuning(model, settings({ method: 'freeze' }))
    expect(none.owners).toEqual([])
    expect(none.hooks).toBeUndefined()
    for (const t of [lora, adapters, none]) t.dispose()
    expect(tf.memory().numTensors).toBe(before)
    expect(() => createTuning(model, settings({ method: 'lora', loraTargets: 'k' }))).toThrow(/Unknown LoRA target "k"/)
  })
})
