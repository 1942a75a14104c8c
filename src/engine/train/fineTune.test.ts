import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { TinyGpt } from '../models/tinyGpt'
import { fineTune, Tuning, type Encoded } from './fineTune'
import { RunControl } from './runControl'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const cfg = { vocabSize: 24, seqLen: 8, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }

/** Class 1 texts contain token 5, class 0 texts token 6: learnable by any method. */
function toyClassification(n: number, seed: number): Encoded {
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

function settings(over: Partial<Settings>): Settings {
  return { ...DEFAULTS, batchSize: 8, epochs: 3, warmupSteps: 2, seqLen: cfg.seqLen, dropout: 0, ...over }
}

async function run(over: Partial<Settings>) {
  const model = new TinyGpt(cfg, undefined, 3)
  const s = settings(over)
  const tuning = new Tuning(model, s, 2)
  const losses: number[] = []
  const counts: number[] = []
  const epochLosses: number[] = []
  const result = await fineTune(model, tuning, { train: toyClassification(64, 1), val: toyClassification(32, 2) }, s, new RunControl(), {
    onStep: (e) => losses.push(e.loss),
    onEpoch: (e) => {
      counts.push(tf.memory().numTensors)
      epochLosses.push(e.train.loss, e.val.loss)
    },
  })
  return { model, tuning, result, losses, counts, epochLosses }
}

describe('fineTune', () => {
  it('beats the untrained baseline and keeps the tensor count flat across epochs', async () => {
    const { model, tuning, result, counts } = await run({ method: 'full', learningRate: 3e-3, epochs: 4 })
    expect(result.reason).toBe('finished')
    expect(result.summary.best.accuracy!).toBeGreaterThan(0.9)
    expect(result.summary.best.loss).toBeLessThan(result.summary.baseline.loss)
    expect(new Set(counts.slice(1)).size).toBe(1) // epoch 2.. same count as epoch 1
    expect(result.message).toMatch(/Training complete — 4 epochs, best validation accuracy/)
    tuning.dispose()
    model.dispose()
  })

  it('fills the frozen-prefix cache in epoch 1 and then holds the tensor count flat', async () => {
    for (const method of ['freeze', 'head'] as const) {
      // Head only on this random body needs a higher rate to beat the line (the class prior's loss here).
      const { model, tuning, result, counts } = await run({ method, freezeFirst: 1, learningRate: method === 'head' ? 3e-2 : 3e-3, epochs: 4 })
      expect(result.summary.best.loss, method).toBeLessThan(result.summary.baseline.loss)
      expect(counts[1], method).toBe(counts[3])
      expect(counts[2], method).toBe(counts[3])
      tuning.dispose()
      model.dispose()
    }
  })

  it('leaves frozen blocks bit-identical (freeze first block)', async () => {
    const model = new TinyGpt(cfg, undefined, 3)
    const before = await Promise.all(model.params.map((p) => p.variable.data()))
    const s = settings({ method: 'freeze', freezeFirst: 1, learningRate: 1e-2 })
    const tuning = new Tuning(model, s, 2)
    await fineTune(model, tuning, { train: toyClassification(32, 1), val: toyClassification(16, 2) }, s, new RunControl())
    const after = await Promise.all(model.params.map((p) => p.variable.data()))
    model.params.forEach((p, i) => {
      const same = Array.from(before[i]!).every((v, j) => Object.is(v, after[i]![j]))
      expect(same, p.name).toBe(p.block < 1)
    })
    tuning.dispose()
    model.dispose()
  })

  it('gives the same losses for the same seed, and LoRA leaves the base weights alone', async () => {
    const a = await run({ method: 'lora', loraRank: 2, learningRate: 5e-3, epochs: 2, dropout: 0.1 })
    const b = await run({ method: 'lora', loraRank: 2, learningRate: 5e-3, epochs: 2, dropout: 0.1 })
    // Step events are grouped by wall-clock windows; epoch means are the deterministic record.
    expect(a.epochLosses).toEqual(b.epochLosses)
    expect(a.epochLosses.every(Number.isFinite)).toBe(true)
    const fresh = new TinyGpt(cfg, undefined, 3)
    for (let i = 0; i < fresh.params.length; i++) {
      expect(Array.from(await a.model.params[i]!.variable.data())).toEqual(Array.from(await fresh.params[i]!.variable.data()))
    }
    for (const r of [a, b]) {
      r.tuning.dispose()
      r.model.dispose()
    }
    fresh.dispose()
  })

  it('posts the run\'s first step at once, so a run faster than one chart window still draws its first and last steps', async () => {
    // 24 rows at batch 8: 3 steps, well inside one 0.25 s window on this tiny model, where only
    // the epoch's last step would be posted.
    const model = new TinyGpt(cfg, undefined, 3)
    const s = settings({ epochs: 1, warmupSteps: 0 })
    const tuning = new Tuning(model, s, 2)
    const posted: { step: number; loss: number }[] = []
    const t0 = Date.now()
    await fineTune(model, tuning, { train: toyClassification(24, 1), val: toyClassification(8, 2) }, s, new RunControl(), {
      onStep: (e) => posted.push({ step: e.step, loss: e.loss }),
    })
    const ms = Date.now() - t0
    expect(posted[0]?.step).toBe(1)
    expect(posted.at(-1)?.step).toBe(3)
    expect(posted.every((p) => Number.isFinite(p.loss) && p.loss > 0)).toBe(true)
    if (ms < 250) expect(posted.map((p) => p.step)).toEqual([1, 3])
    tuning.dispose()
    model.dispose()
  })

  it('stops when asked, between steps', async () => {
    const model = new TinyGpt(cfg, undefined, 3)
    const s = settings({ epochs: 50, batchSize: 4 })
    const tuning = new Tuning(model, s, 2)
    const control = new RunControl()
    let steps = 0
    const result = await fineTune(model, tuning, { train: toyClassification(64, 1), val: toyClassification(16, 2) }, s, control, {
      onStep: (e) => {
        steps = e.step
        if (e.step >= 3) control.stop()
      },
    })
    expect(result.reason).toBe('stopped')
    expect(steps).toBeLessThan(20)
    tuning.dispose()
    model.dispose()
  })

  it('a run stopped partway through an epoch says where it stopped, not that the epoch was trained', async () => {
    const model = new TinyGpt(cfg, undefined, 3)
    // 64 training rows in batches of 4: 16 steps an epoch. The first step is reported at once
    // (later ones in groups), so the stop lands inside epoch 1.
    const s = settings({ epochs: 3, batchSize: 4 })
    const tuning = new Tuning(model, s, 2)
    const control = new RunControl()
    const result = await fineTune(model, tuning, { train: toyClassification(64, 1), val: toyClassification(16, 2) }, s, control, {
      onStep: () => control.stop(),
    })
    expect(result.reason).toBe('stopped')
    expect(result.message).toMatch(/^Training stopped — in epoch 1 of 3 \(none trained in full\), best validation accuracy /)
    tuning.dispose()
    model.dispose()
  })

  it('a stop inside an epoch posts the steps it did: the last step event is the last step trained', async () => {
    const model = new TinyGpt(cfg, undefined, 3)
    // 64 rows in batches of 4: 16 steps an epoch. The loop asks its control before every step;
    // this one stops at the sixth ask, so exactly 5 steps are trained, all inside epoch 1.
    const s = settings({ epochs: 3, batchSize: 4 })
    const tuning = new Tuning(model, s, 2)
    class StopAtSixthAsk extends RunControl {
      asks = 0
      override async checkpoint(onPause?: () => void, onResume?: () => void): Promise<void> {
        if (++this.asks === 6) this.stop()
        return super.checkpoint(onPause, onResume)
      }
    }
    const control = new StopAtSixthAsk()
    const posted: number[] = []
    const result = await fineTune(model, tuning, { train: toyClassification(64, 1), val: toyClassification(16, 2) }, s, control, {
      onStep: (e) => void posted.push(e.step),
    })
    expect(result.reason).toBe('stopped')
    expect(control.asks).toBe(6)
    expect(posted.at(-1)).toBe(5)
    tuning.dispose()
    model.dispose()
  })

  it('disposes the losses still being read when a run stops or diverges mid-epoch', async () => {
    const model = new TinyGpt(cfg, undefined, 3)
    const before = tf.memory().numTensors
    for (const over of [{ epochs: 5 }, { method: 'full' as const, learningRate: 1e6, optimizer: 'sgd' as const, clipNorm: 0 }]) {
      const s = settings({ batchSize: 4, ...over })
      const tuning = new Tuning(model, s, 2)
      const control = new RunControl()
      const result = await fineTune(model, tuning, { train: toyClassification(64, 1), val: toyClassification(16, 2) }, s, control, {
        onStep: (e) => void (e.step >= 5 && control.stop()),
      })
      expect(['stopped', 'diverged']).toContain(result.reason)
      tuning.dispose()
    }
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  })

  it('reports divergence instead of training garbage', async () => {
    const { result } = await run({ method: 'full', learningRate: 1e6 as number, optimizer: 'sgd', clipNorm: 0, epochs: 3 })
    expect(result.reason).toBe('diverged')
    expect(result.message).toMatch(/Lower the learning rate/)
  })
})
