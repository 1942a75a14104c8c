import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { TinyGpt } from '../models/tinyGpt'
import { Adapters } from './adapters'
import { frozenPrefixBlocks, hasSchedule, trainableBlocks, trainableBodyParams, trainableVariables, tuningParamsTrain } from './freeze'
import { Head } from './heads'
import { Lora } from './lora'
import { bitsEqual, freezeSettings as fs, lmLoss, smallModel, tokens, useCpu } from './testUtils'

let model: TinyGpt | undefined
beforeAll(useCpu)
afterEach(() => {
  model?.dispose()
  model = undefined
})

/** Sorted block ids for readable expectations (-1 embeddings, 2 final norm for nLayers 2). */
const blocks = (s: Parameters<typeof trainableBlocks>[1], epoch: number, n = 2) => [...trainableBlocks(n, s, epoch)].sort((a, b) => a - b)

describe('trainableBlocks', () => {
  it('follows the method', () => {
    expect(blocks(fs({ method: 'full' }), 0)).toEqual([-1, 0, 1, 2])
    expect(blocks(fs({ method: 'freeze', freezeFirst: 0 }), 0)).toEqual([-1, 0, 1, 2])
    expect(blocks(fs({ method: 'freeze', freezeFirst: 1 }), 0)).toEqual([1, 2])
    expect(blocks(fs({ method: 'freeze', freezeFirst: 2 }), 0)).toEqual([2])
    expect(blocks(fs({ method: 'freeze', freezeFirst: 9 }), 0)).toEqual([2]) // clamped
    for (const method of ['head', 'lora', 'adapter'] as const) expect(blocks(fs({ method }), 0)).toEqual([])
  })

  it('unfreezes one more unit from the top every K epochs (gradual unfreezing)', () => {
    const s = fs({ method: 'full', unfreezeEvery: 2 })
    const schedule = Array.from({ length: 9 }, (_, e) => blocks(s, e))
    expect(schedule).toEqual([[], [], [1, 2], [1, 2], [0, 1, 2], [0, 1, 2], [-1, 0, 1, 2], [-1, 0, 1, 2], [-1, 0, 1, 2]])
    // 'freeze' caps the schedule at its boundary.
    const capped = fs({ method: 'freeze', freezeFirst: 1, unfreezeEvery: 1 })
    expect(Array.from({ length: 5 }, (_, e) => blocks(capped, e))).toEqual([[], [1, 2], [1, 2], [1, 2], [1, 2]])
    // A deeper model: one block per epoch, top down.
    const deep = fs({ method: 'full', unfreezeEvery: 1 })
    expect(Array.from({ length: 6 }, (_, e) => blocks(deep, e, 4))).toEqual([[], [3, 4], [2, 3, 4], [1, 2, 3, 4], [0, 1, 2, 3, 4], [-1, 0, 1, 2, 3, 4]])
  })

  it('trains the head alone for the first headFirstEpochs (two-stage), then the method', () => {
    const s = fs({ method: 'freeze', freezeFirst: 1, headFirstEpochs: 2 })
    expect([0, 1, 2, 3].map((e) => blocks(s, e))).toEqual([[], [], [1, 2], [1, 2]])
    expect([0, 1, 2].map((e) => tuningParamsTrain(fs({ method: 'lora', headFirstEpochs: 2 }), e))).toEqual([false, false, true])
    // With gradual unfreezing too, the head-first stage replaces its first head-only stage.
    const both = fs({ method: 'full', headFirstEpochs: 2, unfreezeEvery: 1 })
    expect([0, 1, 2, 3, 4].map((e) => blocks(both, e))).toEqual([[], [], [1, 2], [0, 1, 2], [-1, 0, 1, 2]])
    expect(hasSchedule(both)).toBe(true)
    expect(hasSchedule(fs({ method: 'lora', unfreezeEvery: 3 }))).toBe(false)
  })
})

describe('trainableBodyParams', () => {
  it('lists the top block first so the list only grows at its end while unfreezing', () => {
    model = smallModel()
    const s = fs({ method: 'full', unfreezeEvery: 1 })
    const names = (e: number) => trainableBodyParams(model!, s, e).map((p) => p.name)
    expect(names(0)).toEqual([])
    expect(names(1).slice(0, 3)).toEqual(['lnf.gamma', 'lnf.beta', 'h1.ln1.gamma'])
    for (let e = 0; e < 4; e++) expect(names(e + 1).slice(0, names(e).length)).toEqual(names(e))
    expect(names(3)).toHaveLength(model.params.length)
    expect(names(3).slice(-2)).toEqual(['wte.embeddings', 'wpe.embeddings'])
  })

  it("'freeze': a few SGD steps leave frozen weights bit-identical and move every trainable one", async () => {
    model = smallModel()
    const s = fs({ method: 'freeze', freezeFirst: 1 })
    const head = new Head({ name: 't', kind: 'classification', inputDim: 16, numClasses: 2 })
    const varList = trainableVariables(model, s, 0, { head })
    const trainable = new Set(varList)
    const before = new Map(model.params.map((p) => [p.name, tf.keep(p.variable.clone())]))
    const tok = tokens()
    for (let step = 0; step < 3; step++) {
      // Hand SGD through variableGrads with the explicit list (never all engine variables).
      const { value, grads } = tf.variableGrads(() => lmLoss(model!, tok), varList)
      tf.tidy(() => {
        for (const v of varList) {
          const g = grads[v.name]
          if (g) v.assign(tf.sub(v, tf.mul(g, 0.5)))
        }
      })
      tf.dispose([value, ...Object.values(grads)])
    }
    for (const p of model.params) {
      const same = await bitsEqual(p.variable, before.get(p.name)!)
      expect({ name: p.name, same }).toEqual({ name: p.name, same: !trainable.has(p.variable) })
    }
    expect(model.params.filter((p) => trainable.has(p.variable)).map((p) => p.block).every((b) => b >= 1)).toBe(true)
    tf.dispose([tok, ...before.values()])
    head.dispose()
  })

  it('an optimizer given the list behaves the same (tf.train.sgd)', async () => {
    model = smallModel()
    const varList = trainableVariables(model, fs({ method: 'freeze', freezeFirst: 2 }), 0)
    expect(varList).toHaveLength(2) // the final norm only
    const emb = tf.keep(model.get('wte.embeddings').clone())
    const lnf = tf.keep(model.get('lnf.gamma').clone())
    const tok = tokens()
    const opt = tf.train.sgd(0.5)
    for (let i = 0; i < 2; i++) opt.minimize(() => lmLoss(model!, tok), false, varList)
    expect(await bitsEqual(model.get('wte.embeddings'), emb)).toBe(true)
    expect(await bitsEqual(model.get('lnf.gamma'), lnf)).toBe(false)
    tf.dispose([emb, lnf, tok])
    opt.dispose()
  })
})

describe('trainableVariables', () => {
  it('orders head, then LoRA/adapters (unless head-first), then the body', () => {
    model = smallModel()
    const head = new Head({ name: 't', kind: 'regression', inputDim: 16 })
    const lora = new Lora(model, { rank: 2, alpha: 2, targets: ['qkv'] })
    const s = fs({ method: 'lora', headFirstEpochs: 1 })
    const headVars = head.params.map((p) => p.variable)
    expect(trainableVariables(model, s, 0, { head, tuning: [lora] })).toEqual(headVars)
    expect(trainableVariables(model, s, 1, { head, tuning: [lora] })).toEqual([...headVars, ...lora.params.map((p) => p.variable)])
    head.dispose()
    lora.dispose()
  })
})

describe('frozenPrefixBlocks', () => {
  it('counts leading blocks that are frozen and untouched by hooks', () => {
    model = smallModel()
    expect(frozenPrefixBlocks(model, fs({ method: 'full' }), 0)).toBe(0)
    expect(frozenPrefixBlocks(model, fs({ method: 'freeze', freezeFirst: 1 }), 0)).toBe(1)
    expect(frozenPrefixBlocks(model, fs({ method: 'freeze', freezeFirst: 2 }), 0)).toBe(2)
    expect(frozenPrefixBlocks(model, fs({ method: 'head' }), 0)).toBe(2)
    expect(frozenPrefixBlocks(model, fs({ method: 'lora' }), 0)).toBe(0) // assumes every block hooked
    expect(frozenPrefixBlocks(model, fs({ method: 'lora' }), 0, [{ blocks: [1] }])).toBe(1)
    expect(frozenPrefixBlocks(model, fs({ method: 'adapter' }), 0, [{ blocks: [] }])).toBe(2)
    const gradual = fs({ method: 'full', unfreezeEvery: 1 })
    expect([0, 1, 2, 3].map((e) => frozenPrefixBlocks(model!, gradual, e))).toEqual([2, 1, 0, 0])
  })

  it('a cached prefix plus forwardFrom gives the full forward pass bit for bit', async () => {
    model = smallModel()
    const adapters = new Adapters(model, { size: 4, blocks: [1], seed: 4 })
    for (const p of adapters.params) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 8))
    const n = frozenPrefixBlocks(model, fs({ method: 'adapter' }), 0, [adapters])
    expect(n).toBe(1)
    const tok = tokens()
    const full = model.forward(tok, { hooks: adapters.hooks })
    const cached = model.prefix(tok, n) // computed once, without hooks
    const rest = model.forwardFrom(cached, n, { hooks: adapters.hooks })
    expect(await bitsEqual(full, rest)).toBe(true)
    tf.dispose([tok, full, cached, rest])
    adapters.dispose()
  })
})
