import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { TinyGpt } from '../models/tinyGpt'
import { fineTune, Tuning, type Encoded, type EpochEvent } from './fineTune'
import type { StepEvent } from '../types/run'
import { RunControl } from './runControl'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

// An easy toy task (class 1 texts contain token 5, class 0 token 6): validation accuracy
// reaches 100 % within a couple of epochs and stays there, while the loss keeps falling.
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
    for (let t = 0; t < 6; t++) {
      tokens[i * T + t] = t === 1 ? (y ? 5 : 6) : 7 + Math.floor(rnd() * 16)
      mask[i * T + t] = 1
    }
  }
  return { kind: 'classification', n, seqLen: T, tokens, mask, labels, classes: ['a', 'b'] }
}

async function run(monitor: Settings['monitor']) {
  const s: Settings = { ...DEFAULTS, method: 'full', batchSize: 8, epochs: 6, schedule: 'constant', warmupSteps: 0, learningRate: 4e-3, weightDecay: 0, dropout: 0, seqLen: cfg.seqLen, plateauPatience: 1, earlyStopPatience: 0, restoreBest: false, monitor }
  const model = new TinyGpt(cfg, undefined, 3)
  const tuning = new Tuning(model, s, 2)
  const epochs: EpochEvent[] = []
  const steps: StepEvent[] = []
  await fineTune(model, tuning, { train: toy(48, 1), val: toy(32, 2) }, s, new RunControl(), { onEpoch: (e) => void epochs.push(e), onStep: (e) => void steps.push(e) })
  tuning.dispose()
  model.dispose()
  return { s, epochs, steps }
}

/** Halvings a patience-1, factor-0.5 plateau rule makes from the values an epoch reports:
 *  the rate for epoch e+1 halves whenever epoch e's value does not beat the best so far. */
function expectedRates(values: number[], mode: 'min' | 'max', lr: number): number[] {
  const rates = [lr]
  let best: number | null = null
  let rate = lr
  for (const v of values.slice(0, -1)) {
    const better = best === null || (mode === 'min' ? v < best : v > best)
    if (better) best = v
    else rate /= 2
    rates.push(rate)
  }
  return rates
}

describe('reduce-on-plateau follows the Monitor setting', () => {
  it('with Monitor = validation accuracy, a flat accuracy halves the rate even while the loss still falls', async () => {
    const { s, epochs, steps } = await run('val_acc')
    const acc = epochs.map((e) => e.val.accuracy!)
    // The scenario the test needs: accuracy stalls (at 100 %) while the loss improves.
    expect(acc.filter((a) => a === 1).length).toBeGreaterThanOrEqual(3)
    const rates = expectedRates(acc, 'max', s.learningRate)
    expect(rates[rates.length - 1]).toBeLessThan(s.learningRate)
    // The epoch event reports the rate its steps used (not the one after its own halving)…
    expect(epochs.map((e) => e.lr)).toEqual(rates)
    // …and every step of epoch e ran at that rate.
    for (const st of steps) expect(st.lr, `step ${st.step}`).toBe(rates[st.epoch])
  }, 60_000)

  it('with Monitor = validation loss, the same run follows the loss', async () => {
    const { s, epochs } = await run('val_loss')
    const rates = expectedRates(epochs.map((e) => e.val.loss), 'min', s.learningRate)
    expect(epochs.map((e) => e.lr)).toEqual(rates)
  }, 60_000)
})
