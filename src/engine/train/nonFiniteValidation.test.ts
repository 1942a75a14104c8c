import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { explainEngineError } from '../engineErrors'
import { causalMask, TinyGpt } from '../models/tinyGpt'
import { classification } from '../tasks'
import { fineTune, Tuning } from './fineTune'
import { ImpossibleLossError } from './impossibleLoss'
import { RunControl } from './runControl'
import { TOY_CFG as cfg, toyClassification } from './toyClassificationRows'
import { BatchSource } from './batchSource'
import { gatherBatch, planCache } from './forward'

// A validation loss that is not a number, while every step loss was finite. What produces it
// here is real arithmetic, nothing hand-set: the loop reads a step's loss from the weights
// *before* that step's update, so with a learning rate so large that one Adam update (about
// lr · sign(g) per weight) takes the weights past float32's range (3.4e38), the step's loss is
// an ordinary ~ln 2 while the evaluation that follows multiplies weights of ±1e38: the logits
// overflow to ±Infinity and the softmax cross-entropy is NaN. With one step an epoch, that
// last update is the epoch's only one, so the divergence check on step losses never sees it.

beforeAll(async () => {
  await tf.setBackend('cpu')
})


// 8 training rows at batch 8: one step an epoch.
const base: Settings = { ...DEFAULTS, method: 'full', optimizer: 'adam', batchSize: 8, accumSteps: 1, epochs: 1, warmupSteps: 0, seqLen: cfg.seqLen, dropout: 0, schedule: 'constant', clipNorm: 0, weightDecay: 0 }

async function run(s: Settings, prepare?: (model: TinyGpt, tuning: Tuning) => void) {
  const model = new TinyGpt(cfg, undefined, 3)
  const tuning = new Tuning(model, s, 2)
  prepare?.(model, tuning)
  const before = await Promise.all(model.params.map((p) => p.variable.data()))
  causalMask(cfg.seqLen) // made once and kept for every model: before the count
  const tensors = tf.memory().numTensors
  const steps: number[] = []
  const epochs: { val: number; weights: Float32Array[] }[] = []
  let result: Awaited<ReturnType<typeof fineTune>> | null = null
  let error: unknown = null
  try {
    result = await fineTune(model, tuning, { train: toyClassification(8), val: toyClassification(16) }, s, new RunControl(), {
      onStep: (e) => void steps.push(e.loss),
      onEpoch: async (e) => void epochs.push({ val: e.val.loss, weights: (await Promise.all(model.params.map((p) => p.variable.data()))) as Float32Array[] }),
    })
  } catch (e) {
    error = e
  }
  const after = await Promise.all(model.params.map((p) => p.variable.data()))
  const leaked = tf.memory().numTensors - tensors
  tuning.dispose()
  model.dispose()
  return { result, error: error as Error | null, before, after, steps, epochs, leaked }
}

describe('a validation loss that is not a number stops the run as divergence', () => {
  it('one epoch: the step loss is finite, the evaluation after the update is NaN; diverged, weights from before the run kept', async () => {
    const r = await run({ ...base, learningRate: 1e39 / 2 })
    expect(r.error).toBeNull()
    // the one step's loss was read from the untrained weights: two balanced classes, about ln 2
    expect(r.steps).toHaveLength(1)
    expect(Math.abs(r.steps[0]! - Math.log(2))).toBeLessThan(0.3)
    expect(r.epochs).toEqual([]) // the epoch never counted: no epoch event, no checkpoint
    expect(r.result!.reason).toBe('diverged')
    expect(r.result!.message).toBe(
      'Training diverged in epoch 1: its training losses were finite, but the validation loss after it was NaN, so the weights its last updates made no longer give finite outputs. The weights from before the run were kept. Lower the learning rate (now 5e+38) or turn on gradient clipping.',
    )
    expect(r.result!.message).not.toMatch(/Training complete/)
    expect(r.after).toEqual(r.before)
    expect(r.leaked).toBe(0)
  })

  it('two epochs: epoch 1 trains normally, a step schedule multiplies the rate by 1e38 for epoch 2; the weights after epoch 1 are kept', async () => {
    // 'step' decays by stepGamma every stepEvery epochs; a gamma of 1e38 makes epoch 2's rate
    // 1e-3 · 1e38 = 1e35, and epoch 2's one Adam update (~1e35 per weight, on weights ~0.1 after
    // epoch 1) still leaves finite weights whose products (16 of them summed in a dot product,
    // then more layers) overflow: the validation after epoch 2 is not finite.
    const r = await run({ ...base, epochs: 2, learningRate: 1e-3, schedule: 'step', stepEvery: 1, stepGamma: 1e38 })
    expect(r.error).toBeNull()
    expect(r.steps).toHaveLength(2)
    expect(r.steps.every((l) => Number.isFinite(l) && l > 0 && l < 2)).toBe(true)
    expect(r.epochs).toHaveLength(1)
    expect(Number.isFinite(r.epochs[0]!.val)).toBe(true)
    expect(r.result!.reason).toBe('diverged')
    expect(r.result!.message).toMatch(/^Training diverged in epoch 2: its training losses were finite, but the validation loss after it was (NaN|Infinity|-Infinity), .* The weights after epoch 1, the last good one, were kept\. Lower the learning rate \(now 0\.001\) or turn on gradient clipping\.$/)
    expect(r.after).toEqual(r.epochs[0]!.weights) // put back to the last good epoch's
    expect(r.after).not.toEqual(r.before) // epoch 1 did train
    expect(r.result!.summary.epochs).toBe(1)
    expect(Number.isFinite(r.result!.summary.best.loss)).toBe(true)
    expect(r.leaked).toBe(0)
  })

  it('a model whose weights overflowed before the run: the held-out loss before training is NaN; stopped before step 1 with words, nothing changed', async () => {
    // The base model comes from an earlier update that overflowed (plain SGD at 1e39 on its real
    // gradients, outside the loop): its held-out loss is NaN before the run trains anything.
    const r = await run({ ...base, learningRate: 1e-3 }, (model, tuning) => {
      const set = toyClassification(8)
      const s = { ...base, learningRate: 1e39 }
      const cache = planCache(model, tuning, set, set, s, 0, null)
      const source = BatchSource.host(set)
      const vars = model.params.map((p) => p.variable)
      tf.tidy(() => {
        const batch = gatherBatch(source, cache, 'train', [0, 1, 2, 3, 4, 5, 6, 7])
        const { grads } = tf.variableGrads(() => classification.loss(model, tuning, batch, cache, s, false), vars)
        for (const v of vars) if (grads[v.name]) v.assign(tf.sub(v, tf.mul(grads[v.name]!, s.learningRate)))
      })
      source.dispose()
      cache.dispose()
    })
    expect(r.error).toBeInstanceOf(ImpossibleLossError)
    expect(r.error!.message).toBe(
      'The model before training gave a held-out loss of NaN on the validation rows, so there is nothing to train from. The run was stopped before its first step; nothing was changed. Either the plain JavaScript on the CPU backend computes wrongly on this device (choose WebAssembly in the Backend setting and train again), or the weights the run starts from are not finite numbers (load the model again, or start from a built-in one).',
    )
    // the page shows these words as they are (the worker records the run as failed)
    expect(explainEngineError(r.error, { doing: 'training', backend: 'cpu' }).message).toBe(r.error!.message)
    expect(r.steps).toEqual([])
    expect(r.after).toEqual(r.before)
    expect(r.leaked).toBe(0)
  })

  it('a run with an ordinary rate still completes', async () => {
    const r = await run({ ...base, epochs: 2, learningRate: 1e-3 })
    expect(r.error).toBeNull()
    expect(r.result!.reason).toBe('finished')
    expect(r.result!.message).toMatch(/^Training complete/)
    expect(r.leaked).toBe(0)
  })
})

// A validation loss that is a number but far beyond any real one: the rule the loop applies to
// step losses (train/divergence.ts: above 1e4, or not a number, is divergence) applies to it
// too. Made by real training again: one Adam update moves each weight by about the learning
// rate, so at rate r the weights and the final layer norm's gain are of order r and the logits
// of order dModel · r²: the validation cross-entropy (about the wrong class's margin) grows as
// r² while the step's loss, read before the update, stays about ln 2.
describe('a finite validation loss above the divergence limit stops the run as divergence too', () => {
  const valAt = async (learningRate: number) => {
    // epoch 1 at the ordinary rate, then a step schedule multiplies it by `learningRate / 1e-3`
    const vals: number[] = []
    const model = new TinyGpt(cfg, undefined, 3)
    const s = { ...base, epochs: 2, learningRate: 1e-3, schedule: 'step' as const, stepEvery: 1, stepGamma: learningRate / 1e-3 }
    const tuning = new Tuning(model, s, 2)
    const r = await fineTune(model, tuning, { train: toyClassification(8), val: toyClassification(16) }, s, new RunControl(), { onEpoch: (e) => void vals.push(e.val.loss) })
    tuning.dispose()
    model.dispose()
    return { r, vals }
  }

  it('one epoch at rate 100: the step loss is about ln 2, the validation after the update is above 1e4; diverged in words, weights from before the run kept', async () => {
    const r = await run({ ...base, learningRate: 100 })
    expect(r.error).toBeNull()
    expect(r.steps).toHaveLength(1)
    expect(Math.abs(r.steps[0]! - Math.log(2))).toBeLessThan(0.3)
    expect(r.epochs).toEqual([]) // the epoch never counted
    expect(r.result!.reason).toBe('diverged')
    const m = /^Training diverged in epoch 1: its training losses were below 10,000, but the validation loss after it was (\d\.\d\de\+(\d+)) \(above 10,000, where the loop stops a run\), so the weights its last updates made are far off\. The weights from before the run were kept\. Lower the learning rate \(now 100\) or turn on gradient clipping\.$/.exec(r.result!.message)
    expect(m, r.result!.message).not.toBeNull()
    // finite and over the limit: dModel · r² = 16 · 1e4 gives a margin of order 1e5
    expect(Number(m![1])).toBeGreaterThan(1e4)
    expect(Number(m![1])).toBeLessThan(1e7)
    expect(r.result!.message).not.toMatch(/Training complete/)
    expect(r.after).toEqual(r.before)
    expect(r.leaked).toBe(0)
  })

  it('the validation loss grows as the rate squared; below the limit the run completes, above it it diverges after epoch 1 and keeps epoch 1’s weights', async () => {
    // epoch 2 at rate 30: finite and below 1e4 (an awful model, but the rule is the step losses' rule)
    const low = await valAt(30)
    expect(low.r.reason).toBe('finished')
    expect(low.vals).toHaveLength(2)
    expect(low.vals[1]!).toBeGreaterThan(100)
    expect(low.vals[1]!).toBeLessThan(1e4)
    // epoch 2 at rate 300: 100 times the loss (r² from 30 to 300), over the limit
    const high = await run({ ...base, epochs: 2, learningRate: 1e-3, schedule: 'step', stepEvery: 1, stepGamma: 3e5 })
    expect(high.error).toBeNull()
    expect(high.steps).toHaveLength(2)
    expect(high.steps.every((l) => l > 0 && l < 2)).toBe(true)
    expect(high.epochs).toHaveLength(1)
    expect(high.result!.reason).toBe('diverged')
    const m = /^Training diverged in epoch 2: its training losses were below 10,000, but the validation loss after it was (\S+) \(above 10,000, where the loop stops a run\), so the weights its last updates made are far off\. The weights after epoch 1, the last good one, were kept\. Lower the learning rate \(now 0\.001\) or turn on gradient clipping\.$/.exec(high.result!.message)
    expect(m, high.result!.message).not.toBeNull()
    const ratio = Number(m![1]) / low.vals[1]!
    expect(ratio).toBeGreaterThan(100 / 3)
    expect(ratio).toBeLessThan(300)
    expect(high.after).toEqual(high.epochs[0]!.weights)
    expect(high.result!.summary.epochs).toBe(1)
    expect(high.result!.summary.best.loss).toBe(high.epochs[0]!.val)
    expect(high.leaked).toBe(0)
  })
})
