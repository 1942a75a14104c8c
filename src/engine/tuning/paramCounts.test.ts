import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { TinyGpt } from '../models/tinyGpt'
import { Adapters } from './adapters'
import { Head } from './heads'
import { Lora } from './lora'
import { paramCounts } from './paramCounts'
import { freezeSettings as fs, smallModel, useCpu } from './testUtils'

let model: TinyGpt
beforeAll(useCpu)
afterEach(() => model?.dispose())

// By hand for SMALL (V 50, T 8, D 16, 2 blocks, dFF 32):
const EMB = 50 * 16 + 8 * 16 // 928
const BLOCK = 2 * 16 + (16 * 48 + 48) + (16 * 16 + 16) + 2 * 16 + (16 * 32 + 32) + (32 * 16 + 16) // 2224
const LNF = 2 * 16
const BODY = EMB + 2 * BLOCK + LNF // 5408
const HEAD = 16 * 3 + 3
const LORA_R2 = 2 * 2 * ((16 + 48) + (16 + 16) + (16 + 32) + (32 + 16)) // rank 2, all kinds, 2 blocks: 768
const ADAPTER_M4 = 2 * (16 * 4 + 4 + 4 * 16 + 16) // 2 blocks: 296

describe('paramCounts', () => {
  it('adds body, head, LoRA and adapters up, split by what trains', () => {
    model = smallModel()
    expect(model.parameterCount()).toBe(BODY)
    const head = new Head({ name: 't', kind: 'classification', inputDim: 16, numClasses: 3 })
    const lora = new Lora(model, { rank: 2, alpha: 2 })
    const adapters = new Adapters(model, { size: 4 })
    expect(paramCounts(model, fs({ method: 'full' }), 0, { head })).toEqual({ total: BODY + HEAD, trainable: BODY + HEAD, frozen: 0 })
    expect(paramCounts(model, fs({ method: 'head' }), 0, { head })).toEqual({ total: BODY + HEAD, trainable: HEAD, frozen: BODY })
    expect(paramCounts(model, fs({ method: 'freeze', freezeFirst: 1 }), 0, { head })).toEqual({
      total: BODY + HEAD,
      trainable: BLOCK + LNF + HEAD,
      frozen: EMB + BLOCK,
    })
    expect(paramCounts(model, fs({ method: 'lora' }), 0, { head, tuning: [lora] })).toEqual({
      total: BODY + HEAD + LORA_R2,
      trainable: HEAD + LORA_R2,
      frozen: BODY,
    })
    expect(paramCounts(model, fs({ method: 'adapter', headFirstEpochs: 1 }), 0, { head, tuning: [adapters] })).toEqual({
      total: BODY + HEAD + ADAPTER_M4,
      trainable: HEAD,
      frozen: BODY + ADAPTER_M4,
    })
    expect(paramCounts(model, fs({ method: 'full' }), 0)).toEqual({ total: BODY, trainable: BODY, frozen: 0 })
    head.dispose()
    lora.dispose()
    adapters.dispose()
  })
})
