import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { TinyGpt } from '../models/tinyGpt'
import { FeatureCache } from '../train/featureCache'
import { evaluate, fineTune, Tuning, type Encoded } from '../train/fineTune'
import { RunControl } from '../train/runControl'
import { bestAlpha, sweepAlphas, sweepBlend, TunedBlend } from './blend'
import { disposeWeights, snapshotWeights } from './interpolate'
import { bitsEqual } from './testUtils'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const cfg = { vocabSize: 24, seqLen: 8, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }

/** Repeating token patterns: an LM learns them within a few epochs. */
function toyLm(n: number, seed: number): Encoded {
  const T = cfg.seqLen
  const tokens = new Int32Array(n * (T + 1))
  for (let i = 0; i < n; i++) for (let t = 0; t <= T; t++) tokens[i * (T + 1) + t] = 3 + ((i * seed + t * 3) % 7)
  return { kind: 'lm', n, seqLen: T, tokens }
}

describe('TunedBlend and the α sweep', () => {
  for (const method of ['lora', 'full', 'adapter'] as const) {
    it(`${method}: α = 0 gives the base model's metrics, α = 1 the tuned ones, and the tuned weights survive`, async () => {
      const model = new TinyGpt(cfg, undefined, 3)
      const base = snapshotWeights(model.params)
      const s: Settings = { ...DEFAULTS, method, loraRank: 2, adapterSize: 4, batchSize: 8, epochs: 3, warmupSteps: 0, learningRate: 1e-2, seqLen: cfg.seqLen, dropout: 0, loraDropout: 0, restoreBest: false }
      const tuning = new Tuning(model, s, null)
      const data = { train: toyLm(32, 1), val: toyLm(16, 2) }
      const result = await fineTune(model, tuning, data, s, new RunControl())
      const tunedWeights = snapshotWeights([...model.params, ...(tuning.lora?.params ?? []), ...(tuning.adapters?.params ?? [])])
      const blend = new TunedBlend(model, base, tuning)
      const measure = () => evaluate(model, tuning, data.val, new FeatureCache(0, false, { train: 0, val: data.val.n }), 'val')
      const progress: number[] = []
      const points = await sweepBlend(blend, 11, measure, (done) => progress.push(done))
      expect(points.map((p) => p.alpha)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
      expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
      expect(points[0]!.loss).toBeCloseTo(result.summary.baseline.loss, 6)
      expect(points[0]!.perplexity).toBeCloseTo(result.summary.baseline.perplexity!, 4)
      expect(points[10]!.loss).toBeCloseTo(result.summary.best.loss, 6)
      expect(points[10]!.loss).toBeLessThan(points[0]!.loss - 0.05) // the run did learn something
      // The sweep put the tuned weights back, bit for bit.
      for (const p of [...model.params, ...(tuning.lora?.params ?? []), ...(tuning.adapters?.params ?? [])]) {
        expect(await bitsEqual(p.variable, tunedWeights.get(p.name)!), p.name).toBe(true)
      }
      // α = 0.5 lies strictly between for the body (or the scaled LoRA/adapter weights).
      blend.apply(0.5)
      const mid = await measure()
      expect(mid.loss).not.toBe(points[0]!.loss)
      expect(mid.loss).not.toBe(points[10]!.loss)
      expect(() => blend.apply(1.5)).toThrow(/α must be between 0 and 1/)
      blend.dispose()
      disposeWeights(tunedWeights)
      disposeWeights(base)
      tuning.dispose()
      model.dispose()
    })
  }

  it('sweep points and the best α', () => {
    expect(sweepAlphas(3)).toEqual([0, 0.5, 1])
    expect(sweepAlphas(1)).toEqual([0, 1])
    expect(bestAlpha([{ alpha: 0, loss: 1, accuracy: 0.5 }, { alpha: 0.5, loss: 1, accuracy: 0.8 }, { alpha: 1, loss: 1, accuracy: 0.7 }])).toBe(0.5)
    expect(bestAlpha([{ alpha: 0, loss: 3, perplexity: 20 }, { alpha: 1, loss: 2, perplexity: 7 }])).toBe(1)
    expect(bestAlpha([])).toBeNull()
  })
})
