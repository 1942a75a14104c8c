import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { TinyGpt, type TinyGptConfig } from '../models/tinyGpt'
import { DEFAULT_PRETRAIN, evaluateLm, lmLoss, pretrainLm, warmupCosine, type StepInfo } from './pretrainLm'

const config: TinyGptConfig = { vocabSize: 32, seqLen: 16, dModel: 32, nLayers: 1, nHeads: 2, dFF: 64 }
// A learnable stream: a repeating pattern with a little noise.
const stream = Array.from({ length: 4000 }, (_, i) => (i % 7 === 0 && i % 5 === 0 ? 3 : 3 + ((i * 5) % 11)))

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('warmupCosine', () => {
  const cfg = { learningRate: 1e-3, minLearningRate: 1e-4, warmupSteps: 10 }
  it('warms up linearly, then decays by a cosine to the floor', () => {
    expect(warmupCosine(0, 110, cfg)).toBeCloseTo(1e-4, 10)
    expect(warmupCosine(9, 110, cfg)).toBeCloseTo(1e-3, 10)
    expect(warmupCosine(10, 110, cfg)).toBeCloseTo(1e-3, 10)
    expect(warmupCosine(60, 110, cfg)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 10) // halfway: cos = 0
    expect(warmupCosine(110, 110, cfg)).toBeCloseTo(1e-4, 10)
    expect(warmupCosine(500, 110, cfg)).toBeCloseTo(1e-4, 10)
  })
})

describe('pretrainLm', () => {
  it('starts near ln(vocab) and the loss falls within 20 steps', async () => {
    const model = new TinyGpt(config, undefined, 3)
    try {
      const initial = tf.tidy(() => lmLoss(model, tf.tensor2d([stream.slice(0, 17), stream.slice(100, 117)], undefined, 'int32')).dataSync()[0] ?? NaN)
      expect(Math.abs(initial - Math.log(config.vocabSize))).toBeLessThan(0.3)
      const before = await evaluateLm(model, stream.slice(3000), 16, 8)
      const steps: StepInfo[] = []
      const tensorsBefore = tf.memory().numTensors
      const result = await pretrainLm(
        model,
        stream.slice(0, 3000),
        { ...DEFAULT_PRETRAIN, steps: 20, batchSize: 8, seqLen: 16, learningRate: 1e-2, minLearningRate: 1e-3, warmupSteps: 3, logEvery: 5, weightDecay: 0.01 },
        { onStep: (s) => void steps.push(s) },
      )
      expect(tf.memory().numTensors).toBe(tensorsBefore) // no leaks per step (optimizer state disposed)
      expect(result.steps).toBe(20)
      expect(result.tokensSeen).toBe(20 * 8 * 16)
      expect(steps.map((s) => s.step)).toEqual([5, 10, 15, 20])
      expect(steps.at(-1)?.loss).toBeLessThan((steps[0]?.loss ?? 0) * 0.8)
      const after = await evaluateLm(model, stream.slice(3000), 16, 8)
      expect(after.loss).toBeLessThan(before.loss - 0.5)
      expect(after.perplexity).toBeCloseTo(Math.exp(after.loss), 6)
      expect(after.tokens).toBe(Math.floor(999 / 16) * 16)
    } finally {
      model.dispose()
    }
  })

  it('stops on request and fits the step count to a time budget', async () => {
    const model = new TinyGpt(config, undefined, 4)
    try {
      let n = 0
      const stopped = await pretrainLm(model, stream, { ...DEFAULT_PRETRAIN, steps: 50, batchSize: 2, seqLen: 8, logEvery: 1 }, { shouldStop: () => ++n >= 3 })
      expect(stopped.steps).toBe(3)
      const plans: number[] = []
      const budget = await pretrainLm(
        model,
        stream,
        { ...DEFAULT_PRETRAIN, steps: 100_000, batchSize: 2, seqLen: 8, warmupSteps: 3, logEvery: 1, timeBudgetMs: 1 },
        { onStep: (s) => void plans.push(s.totalSteps) },
      )
      expect(budget.steps).toBe(3) // fitted after 3 steps: a 1 ms budget is already spent
      expect(plans.at(-1)).toBe(3)
    } finally {
      model.dispose()
    }
  })

  it('rejects a window longer than the model context', async () => {
    const model = new TinyGpt(config, undefined, 5)
    await expect(pretrainLm(model, stream, { ...DEFAULT_PRETRAIN, seqLen: 32 })).rejects.toThrow('exceeds')
    model.dispose()
  })
})
