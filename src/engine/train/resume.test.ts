import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { TinyGpt } from '../models/tinyGpt'
import { fineTune, Tuning, type Encoded } from './fineTune'
import type { LoopCheckpoint } from './loopState'
import { RunControl } from './runControl'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

// The toy task of fineTune.test.ts: class 1 texts contain token 5, class 0 texts token 6.
const cfg = { vocabSize: 24, seqLen: 8, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }

function toy(n: number, seed: number): Encoded {
  const T = cfg.seqLen
  const tokens = new Int32Array(n * T)
  const mask = new Float32Array(n * T)
  const labels = new Int32Array(n)
  let s = seed
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648)
  for (let i = 0; i < n; i++) {
    const y = i % 2
    labels[i] = y
    const len = 4 + Math.floor(rnd() * 4)
    for (let t = 0; t < len; t++) {
      tokens[i * T + t] = t === 1 ? (y ? 5 : 6) : 7 + Math.floor(rnd() * 16)
      mask[i * T + t] = 1
    }
  }
  return { kind: 'classification', n, seqLen: T, tokens, mask, labels, classes: ['a', 'b'] }
}

const data = () => ({ train: toy(48, 1), val: toy(16, 2) })

async function run(s: Settings, resume?: LoopCheckpoint) {
  const model = new TinyGpt(cfg, undefined, 3)
  const tuning = new Tuning(model, s, 2)
  const epochs: { epoch: number; train: number; val: number }[] = []
  const checkpoints: LoopCheckpoint[] = []
  const steps: number[] = []
  const result = await fineTune(model, tuning, data(), s, new RunControl(), {
    onStep: (e) => steps.push(e.step),
    onEpoch: (e) => {
      epochs.push({ epoch: e.epoch, train: e.train.loss, val: e.val.loss })
    },
    onCheckpoint: (c) => {
      checkpoints.push(c)
    },
  }, resume)
  tuning.dispose()
  model.dispose()
  return { epochs, checkpoints, steps, result }
}

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, batchSize: 8, epochs: 3, warmupSteps: 2, seqLen: cfg.seqLen, learningRate: 3e-3, ...over })

describe('resume from a checkpoint', () => {
  it.each([
    ['frozen first block, dropout on', { method: 'freeze', freezeFirst: 1, dropout: 0.1 }],
    ['head first, then the whole body (two optimizer groups)', { method: 'full', headFirstEpochs: 1, dropout: 0.1, plateauPatience: 1 }],
    ['LoRA', { method: 'lora', loraRank: 2, dropout: 0 }],
    // LoRA's masks once came from a counter inside the Lora object, which a resumed run
    // starts at 0: epoch-2 losses then differed from the uninterrupted run's.
    ['LoRA with LoRA dropout and body dropout', { method: 'lora', loraRank: 2, loraDropout: 0.3, dropout: 0.1 }],
  ] as [string, Partial<Settings>][])('%s: epochs 2.. match an uninterrupted run', async (_name, over) => {
    const s = settings(over)
    const full = await run(s)
    expect(full.epochs).toHaveLength(3)
    expect(full.checkpoints.map((c) => c.loop.epoch)).toEqual([1, 2, 3])
    const stepsPerEpoch = Math.ceil(48 / 8)
    expect(full.checkpoints[0]!.loop.step).toBe(stepsPerEpoch)

    const resumed = await run(s, full.checkpoints[0])
    expect(resumed.epochs.map((e) => e.epoch)).toEqual([1, 2])
    resumed.epochs.forEach((e, i) => {
      const ref = full.epochs[i + 1]!
      expect(Math.abs(e.train - ref.train), `train loss epoch ${e.epoch + 1}`).toBeLessThan(1e-5)
      expect(Math.abs(e.val - ref.val), `val loss epoch ${e.epoch + 1}`).toBeLessThan(1e-5)
    })
    // Step numbers continue from the checkpoint instead of starting at 1.
    expect(Math.min(...resumed.steps)).toBeGreaterThan(stepsPerEpoch)
    expect(resumed.result.summary.epochs).toBe(3)
    expect(resumed.result.summary.baseline.loss).toBe(full.result.summary.baseline.loss)
  })

  it('refuses weights from another model with a message naming the weight', async () => {
    const s = settings({ method: 'head' })
    const full = await run({ ...s, epochs: 1 })
    const ck = full.checkpoints[0]!
    const wrong: LoopCheckpoint = { ...ck, weights: ck.weights.map((w) => ({ ...w, shape: [w.shape[0]! + 1, ...w.shape.slice(1)] })) }
    await expect(run(s, wrong)).rejects.toThrow(/tuning\/head\.task\.\w+ is \[/)
  })
})
