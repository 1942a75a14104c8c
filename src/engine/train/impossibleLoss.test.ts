import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { explainEngineError } from '../engineErrors'
import { causalMask, TinyGpt } from '../models/tinyGpt'
import { classification, dpoTask, languageModelling, multitask, regression, sft } from '../tasks'
import { dpoLoss } from '../tasks/dpo/dpo'
import { fineTune, Tuning } from './fineTune'
import { ImpossibleLossError, impossibleLossMessage, impossibleLossWhy } from './impossibleLoss'
import { maskedTokenCrossEntropy, softmaxCrossEntropy } from './losses'
import { RunControl } from './runControl'
import { TOY_CFG as cfg, toyClassification } from './toyClassificationRows'

// The loop's check of losses no objective can produce. The fault it is for was measured in a
// real page (e2e/webgpu-binding-split.spec.ts): WebGPU with a 135 MB embedding bound over the
// adapter's 128 MiB limit gave a held-out loss of 0 and step losses 0 and -1e9, no error, and
// "Training complete". Here: the rule on real losses, and the loop on a backend with one wrong
// kernel (Neg hands back its input, the kind of driver fault the start-up self-test names),
// which turns every cross-entropy negative while the rest of the model computes correctly.

const BAD = 'bad-neg'
let fault = false

beforeAll(async () => {
  await tf.setBackend('cpu')
  const Cpu = tf.engine().findBackend('cpu')!.constructor as new () => tf.KernelBackend
  tf.registerBackend(BAD, () => new Cpu())
  for (const k of tf.getKernelsForBackend('cpu')) if (k.kernelName !== 'Neg') tf.registerKernel({ ...k, backendName: BAD })
  const neg = tf.getKernel('Neg', 'cpu')!.kernelFunc
  const identity = tf.getKernel('Identity', 'cpu')!.kernelFunc
  tf.registerKernel({ kernelName: 'Neg', backendName: BAD, kernelFunc: (args) => (fault ? identity(args) : neg(args)) })
})
afterAll(async () => {
  await tf.setBackend('cpu')
  tf.removeBackend(BAD)
})

describe('which losses are impossible', () => {
  it('every built-in objective says its loss is never below 0; only next-token prediction rules out 0 before training', () => {
    for (const t of [classification, regression, multitask, languageModelling, sft, dpoTask({ beta: 0.1, sftWeight: 0 })]) expect(t.lossRange?.min, t.name).toBe(0)
    expect([classification, regression, multitask, languageModelling, sft, dpoTask({ beta: 0.1, sftWeight: 0 })].filter((t) => t.lossRange?.zeroUntrained).map((t) => t.name)).toEqual(['language-modelling', 'sft'])
  })

  it('passes real losses, DPO’s with negative margins included, and a classifier’s exact 0', async () => {
    await tf.setBackend('cpu')
    const read = async (t: tf.Scalar) => (await t.data())[0]!
    // cross-entropy of random logits, with and without label smoothing
    const logits = tf.randomNormal([6, 5], 0, 3, 'float32', 7) as tf.Tensor2D
    const labels = tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32')
    const ce = await read(softmaxCrossEntropy(logits, labels))
    const smooth = await read(softmaxCrossEntropy(logits, labels, 0.1))
    expect(ce).toBeGreaterThan(0)
    expect(impossibleLossWhy(classification.lossRange, ce, { kind: 'step', step: 1, untrained: true })).toBeNull()
    expect(impossibleLossWhy(classification.lossRange, smooth, { kind: 'untrained' })).toBeNull()
    // a classifier that memorised its rows: margins of 40 give a float32 cross-entropy of exactly
    // 0, which is possible, so it stops nothing, even before training
    const sure = tf.tensor2d([[40, 0], [0, 40]])
    const zero = await read(softmaxCrossEntropy(sure, tf.tensor1d([0, 1], 'int32')))
    expect(zero).toBe(0)
    expect(impossibleLossWhy(classification.lossRange, zero, { kind: 'untrained' })).toBeNull()
    // next-token cross-entropy over a vocabulary: 0 is possible after training, not before
    const lm = await read(maskedTokenCrossEntropy(tf.randomNormal([2, 3, 11], 0, 1, 'float32', 3) as tf.Tensor3D, tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32'), tf.tensor2d([[1, 1, 1], [1, 1, 0]])))
    expect(lm).toBeGreaterThan(Math.log(11) / 4)
    expect(impossibleLossWhy(languageModelling.lossRange, lm, { kind: 'untrained' })).toBeNull()
    expect(impossibleLossWhy(languageModelling.lossRange, 0, { kind: 'step', step: 40, untrained: false })).toBeNull()
    // DPO: the policy prefers the rejected answers, so margins are negative and the loss is above ln 2
    const d = dpoLoss(tf.tensor1d([-9, -8]), tf.tensor1d([-2, -3]), tf.tensor1d([-5, -5]), tf.tensor1d([-5, -5]), 0.5)
    const margin = await read(tf.mean(tf.sub(d.chosenRewards, d.rejectedRewards)) as tf.Scalar)
    const dpo = await read(d.loss)
    expect(margin).toBeCloseTo(-3, 5) // 0.5 · ((−9 + 5) − (−2 + 5)) = −3.5 and 0.5 · ((−8 + 5) − (−3 + 5)) = −2.5
    expect(dpo).toBeGreaterThan(Math.log(2))
    expect(impossibleLossWhy(dpoTask({ beta: 0.5, sftWeight: 0 }).lossRange, dpo, { kind: 'step', step: 3, untrained: false })).toBeNull()
    // a mean squared error, and float rounding a hair below 0
    expect(impossibleLossWhy(regression.lossRange, await read(tf.losses.meanSquaredError(tf.tensor1d([1, 2]), tf.tensor1d([1.5, 2])) as tf.Scalar), { kind: 'validation', epoch: 1 })).toBeNull()
    expect(impossibleLossWhy(regression.lossRange, -1e-9, { kind: 'validation', epoch: 1 })).toBeNull()
  })

  it('stops what the page measured with the split off: a held-out loss of 0 before training and a step loss of −1e9', () => {
    expect(impossibleLossWhy(languageModelling.lossRange, 0, { kind: 'untrained' })).toBe(
      'a next-token cross-entropy over a vocabulary is exactly 0 only when every token is predicted with certainty, which no model does on real text before it is trained',
    )
    expect(impossibleLossWhy(languageModelling.lossRange, 0, { kind: 'step', step: 1, untrained: true })).not.toBeNull()
    expect(impossibleLossWhy(languageModelling.lossRange, -1e9, { kind: 'step', step: 2, untrained: false })).toBe('a next-token cross-entropy is never below 0')
    expect(impossibleLossWhy(regression.lossRange, -0.01, { kind: 'validation', epoch: 2 })).toBe('a mean squared error is never below 0')
    expect(impossibleLossWhy(undefined, -5, { kind: 'untrained' })).toBeNull() // a task that declares no range is not checked
    expect(impossibleLossWhy(languageModelling.lossRange, NaN, { kind: 'untrained' })).toBeNull() // NaN is the divergence check's
    const why = impossibleLossWhy(languageModelling.lossRange, -1e9, { kind: 'step', step: 2, untrained: false })!
    const message = impossibleLossMessage('webgpu', -1e9, { kind: 'step', step: 2, untrained: false }, why, 'the weights from before the run were kept')
    expect(message).toBe(
      'The WebGPU backend produced impossible numbers: the training loss at step 2 was -1.00e+9, but a next-token cross-entropy is never below 0. The run was stopped (the weights from before the run were kept). This is the backend computing wrongly on this device, not your data or settings: choose WebAssembly in the Backend setting and train again.',
    )
    // the page shows these words as they are, not an engine error's rewording
    expect(explainEngineError(new ImpossibleLossError(message), { doing: 'training', backend: 'webgpu' })).toEqual({ failure: null, restart: false, message })
  })
})


describe('the loop on a backend that computes impossible numbers', () => {
  const s: Settings = { ...DEFAULTS, method: 'full', batchSize: 8, epochs: 2, warmupSteps: 0, seqLen: cfg.seqLen, dropout: 0, learningRate: 3e-3 }

  async function runOnBadBackend(faultFrom: 'start' | 'first step' | 'validation') {
    await tf.setBackend(BAD)
    fault = faultFrom === 'start'
    const model = new TinyGpt(cfg, undefined, 3)
    const tuning = new Tuning(model, s, 2)
    const before = await Promise.all(model.params.map((p) => p.variable.data()))
    causalMask(cfg.seqLen) // made once and kept for every model: before the count
    const tensors = tf.memory().numTensors
    const steps: number[] = []
    let error: unknown = null
    try {
      await fineTune(model, tuning, { train: toyClassification(32), val: toyClassification(16) }, s, new RunControl(), {
        onBaseline: () => {
          if (faultFrom === 'first step') fault = true
        },
        onStep: (e) => {
          steps.push(e.loss)
          if (faultFrom === 'validation' && e.step === 4) fault = true // the last step of epoch 1 (32 rows, batch 8)
        },
      })
    } catch (e) {
      error = e
    }
    fault = false
    const after = await Promise.all(model.params.map((p) => p.variable.data()))
    const leaked = tf.memory().numTensors - tensors
    tuning.dispose()
    model.dispose()
    await tf.setBackend('cpu')
    return { error: error as Error, before, after, steps, leaked }
  }

  it('stops before the first step when the model before training scores below 0, and changes nothing', async () => {
    const r = await runOnBadBackend('start')
    expect(r.error).toBeInstanceOf(ImpossibleLossError)
    expect(r.error.message).toMatch(/^The bad-neg backend produced impossible numbers: the held-out loss of the model before training was -0\.\d+, but a cross-entropy is never below 0\. The run was stopped \(before its first step; nothing was changed\)\./)
    expect(r.steps).toEqual([])
    expect(r.after).toEqual(r.before)
    expect(r.leaked).toBe(0)
  })

  it('stops at the first step whose loss is below 0, names it and its value, and puts the weights back', async () => {
    const r = await runOnBadBackend('first step')
    expect(r.error).toBeInstanceOf(ImpossibleLossError)
    // two balanced classes: the untrained head's cross-entropy is near ln 2, here read negated
    const m = /the training loss at step 1 was (-[\d.]+), but a cross-entropy is never below 0\. The run was stopped \(the weights from before the run were kept\)/.exec(r.error.message)
    expect(m, r.error.message).not.toBeNull()
    expect(Math.abs(Number(m![1]) + Math.log(2))).toBeLessThan(0.3)
    expect(r.after).toEqual(r.before) // the update of step 1 (made before its loss was read) is undone
    expect(r.leaked).toBe(0)
  })

  it('stops on an epoch’s validation loss below 0 and keeps the last good epoch’s weights', async () => {
    const r = await runOnBadBackend('validation')
    expect(r.error).toBeInstanceOf(ImpossibleLossError)
    expect(r.error.message).toMatch(/the validation loss after epoch 1 was -[\d.]+, but a cross-entropy is never below 0\. The run was stopped \(the weights from before the run were kept\)/)
    expect(r.steps.length).toBeGreaterThan(0)
    expect(r.steps.every((l) => l > 0)).toBe(true) // epoch 1's steps were read before the fault
    expect(r.after).toEqual(r.before)
    expect(r.leaked).toBe(0)
  })
})
