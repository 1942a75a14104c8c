import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { frozenBlockIds, frozenBlocksText, parseFrozenBlocks } from '../../settings/frozenBlocks'
import { DEFAULTS } from '../../settings/schema'
import { validateSettings } from '../../settings/validate'
import type { Settings } from '../../settings/types'
import { fineTune, Tuning, type Encoded } from '../train/fineTune'
import { RunControl } from '../train/runControl'
import { frozenPrefixBlocks, trainableBlocks } from './freeze'
import { bitsEqual, freezeSettings as fs, smallModel, useCpu } from './testUtils'

beforeAll(useCpu)

const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b)

describe('frozenBlocks setting', () => {
  it('accepts emb, block numbers, ranges and norm, and writes them canonically', () => {
    expect(parseFrozenBlocks('norm, 2,0,1 ,EMB')).toBe('emb,0-2,norm')
    expect(parseFrozenBlocks('3,1')).toBe('1,3')
    expect(parseFrozenBlocks('')).toBe('')
    expect(parseFrozenBlocks('0-1,1-3')).toBe('0-3')
    for (const bad of ['head', '1;2', '3-1', '-1', '99', 'emb,,1', '1.5']) expect(parseFrozenBlocks(bad), bad).toBeNull()
  })

  it('maps to engine block ids for a model of n blocks and back', () => {
    expect(sorted(frozenBlockIds('emb,1,norm', 3))).toEqual([-1, 1, 3])
    expect(sorted(frozenBlockIds('0-9', 2))).toEqual([0, 1]) // blocks the model lacks are ignored here
    expect(frozenBlocksText([3, -1, 0, 1], 3)).toBe('emb,0-1,norm')
  })

  it('is refused by validation when it names a block the model lacks', () => {
    const s: Settings = { ...DEFAULTS, method: 'custom', frozenBlocks: '0,5' }
    const [p] = validateSettings(s, { trainSize: 100, nLayers: 4, dModel: 128, hasHead: true })
    expect(p?.field).toBe('frozenBlocks')
    expect(p?.message).toContain('block 5')
  })
})

describe("method 'custom'", () => {
  it('trains every unit not listed, in any pattern, and caches only a wholly frozen prefix', () => {
    const custom = (frozenBlocks: string) => fs({ method: 'custom', frozenBlocks })
    expect(sorted(trainableBlocks(3, custom('emb,1,norm'), 0))).toEqual([0, 2])
    expect(sorted(trainableBlocks(3, custom(''), 0))).toEqual([-1, 0, 1, 2, 3])
    const model = smallModel({ nLayers: 3 })
    expect(frozenPrefixBlocks(model, custom('emb,1,norm'), 0)).toBe(0) // block 0 trains
    expect(frozenPrefixBlocks(model, custom('emb,0,1'), 0)).toBe(2)
    expect(frozenPrefixBlocks(model, custom('0-2'), 0)).toBe(0) // embeddings train: nothing to cache
    expect(frozenPrefixBlocks(model, custom('emb,0-2,norm'), 0)).toBe(3)
    // The list caps gradual unfreezing: a listed unit never thaws.
    const sched = fs({ method: 'custom', frozenBlocks: 'emb,2', unfreezeEvery: 1 })
    expect([0, 1, 2, 3, 4].map((e) => sorted(trainableBlocks(3, sched, e)))).toEqual([[], [3], [1, 3], [0, 1, 3], [0, 1, 3]])
    model.dispose()
  })

  it('leaves exactly the chosen blocks bit-identical through a real fine-tuning run', async () => {
    const model = smallModel({ nLayers: 3, vocabSize: 24 }, 4)
    const s: Settings = { ...DEFAULTS, method: 'custom', frozenBlocks: 'emb,1,norm', batchSize: 8, epochs: 2, warmupSteps: 0, learningRate: 1e-2, seqLen: 8, dropout: 0 }
    const before = new Map(model.params.map((p) => [p.name, tf.keep(p.variable.clone())] as const))
    const tuning = new Tuning(model, s, 2)
    const counts = tuning.counts(0)
    const result = await fineTune(model, tuning, { train: toy(32, 1), val: toy(16, 2) }, s, new RunControl())
    expect(result.reason).toBe('finished')
    const frozen = new Set([-1, 1, 3])
    let expectedTrainable = tuning.head!.params.reduce((n, p) => n + p.variable.size, 0)
    for (const p of model.params) {
      const same = await bitsEqual(p.variable, before.get(p.name)!)
      expect(same, `${p.name} (block ${p.block})`).toBe(frozen.has(p.block))
      if (!frozen.has(p.block)) expectedTrainable += p.variable.size
    }
    expect(counts.trainable).toBe(expectedTrainable)
    tuning.dispose()
    before.forEach((t) => t.dispose())
    model.dispose()
  })
})

/** Class 1 rows contain token 5, class 0 rows token 6. */
function toy(n: number, seed: number): Encoded {
  const T = 8
  const tokens = new Int32Array(n * T)
  const mask = new Float32Array(n * T)
  const labels = new Int32Array(n)
  let r = seed
  const rnd = () => ((r = (r * 1103515245 + 12345) % 2147483648) / 2147483648)
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2
    for (let t = 0; t < 6; t++) {
      tokens[i * T + t] = t === 1 ? (i % 2 ? 5 : 6) : 7 + Math.floor(rnd() * 16)
      mask[i * T + t] = 1
    }
  }
  return { kind: 'classification', n, seqLen: T, tokens, mask, labels, classes: ['a', 'b'] }
}
