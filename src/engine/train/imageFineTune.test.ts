import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { encodeImageSplit, rgbaRows } from '../data/imageEncode'
import type { Rgba } from '../data/images/types'
import { TinyCnn, type TinyCnnConfig } from '../models/tinyCnn'
import { fineTune, Tuning } from './fineTune'
import type { EncodedImages } from './imageBatches'
import { RunControl } from './runControl'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const CFG: TinyCnnConfig = { imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 }, { channels: 8, stride: 2 }, { channels: 8, stride: 1 }] }

/** 8×8 RGBA: a red square on the left (class 1) or right (class 0), transparent elsewhere. */
function toyRgba(n: number, seed: number): { images: Rgba[]; labels: number[] } {
  let s = seed
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648)
  const images: Rgba[] = []
  const labels: number[] = []
  for (let i = 0; i < n; i++) {
    const y = i % 2
    const x0 = y ? Math.floor(rnd() * 2) : 5 + Math.floor(rnd() * 2)
    const y0 = Math.floor(rnd() * 6)
    const data = new Uint8ClampedArray(8 * 8 * 4)
    for (let py = y0; py < y0 + 2; py++) for (let px = x0; px < x0 + 2; px++) data.set([220, 30, 20, 255], (py * 8 + px) * 4)
    images.push({ width: 8, height: 8, data })
    labels.push(y)
  }
  return { images, labels }
}

function settings(over: Partial<Settings>): Settings {
  return { ...DEFAULTS, batchSize: 8, epochs: 4, warmupSteps: 1, dropout: 0, learningRate: 1e-2, ...over }
}

async function run(over: Partial<Settings>, data: { train: EncodedImages; val: EncodedImages }) {
  const model = new TinyCnn(CFG, undefined, 3)
  const s = settings(over)
  const tuning = new Tuning(model, s, 2)
  const losses: number[] = [] // training loss per epoch (step windows depend on the machine's speed)
  const result = await fineTune(model, tuning, data, s, new RunControl(), { onEpoch: (e) => void losses.push(e.train.loss) })
  return { model, tuning, result, losses }
}

function inMemory(n: number, seed: number): EncodedImages {
  const { images, labels } = toyRgba(n, seed)
  const split = encodeImageSplit(rgbaRows(images, labels, ['right', 'left'], 8), { size: 8, valSplit: 0, seed: 1 })
  return split.train
}

async function materialise(set: EncodedImages): Promise<EncodedImages> {
  const pixels = await set.loadBatch!(Array.from({ length: set.n }, (_, i) => i))
  const { loadBatch: _drop, ...rest } = set
  return { ...rest, pixels }
}

describe('fineTune on images (TinyCnn)', () => {
  it('splits an image source by class and decodes batches to [-1, 1] pixels', async () => {
    const { images, labels } = toyRgba(20, 5)
    const { train, val } = encodeImageSplit(rgbaRows(images, labels, ['right', 'left'], 8), { size: 8, valSplit: 0.2, seed: 2 })
    expect(train.n + val.n).toBe(20)
    expect(val.n).toBe(4) // 2 per class
    expect([...val.labels].sort()).toEqual([0, 0, 1, 1])
    const px = await train.loadBatch!([0])
    expect(px.length).toBe(8 * 8 * 3)
    expect(Math.min(...px)).toBeGreaterThanOrEqual(-1)
    expect(Math.max(...px)).toBe(1) // white background
  })

  it('trains a head on frozen features (pooled cache) from in-memory pixels and beats the baseline', async () => {
    const data = { train: await materialise(inMemory(48, 1)), val: await materialise(inMemory(24, 2)) }
    const { model, tuning, result } = await run({ method: 'head', epochs: 8, learningRate: 3e-2 }, data)
    expect(result.reason).toBe('finished')
    expect(result.summary.best.accuracy!).toBeGreaterThan(result.summary.baseline.accuracy! + 0.1)
    tuning.dispose()
    model.dispose()
  })

  it('decodes each streamed image once when the frozen features are cached (head only)', async () => {
    const counted = (set: EncodedImages) => {
      const load = set.loadBatch!
      const seen = { rows: 0 }
      return { seen, set: { ...set, loadBatch: (idx: number[]) => ((seen.rows += idx.length), load(idx)) } }
    }
    const tr = counted(inMemory(24, 8))
    const va = counted(inMemory(16, 9))
    const { model, tuning, result } = await run({ method: 'head', epochs: 3 }, { train: tr.set, val: va.set })
    expect(result.reason).toBe('finished')
    expect(tr.seen.rows).toBe(24)
    expect(va.seen.rows).toBe(16)
    tuning.dispose()
    model.dispose()
  })

  it('fine-tunes the whole CNN from a batch loader, and LoRA on its pointwise convs, lowering the loss', async () => {
    for (const method of ['full', 'lora'] as const) {
      const data = { train: inMemory(48, 3), val: inMemory(24, 4) }
      const { model, tuning, result, losses } = await run({ method, loraRank: 2, loraAlpha: 4, epochs: 10, learningRate: 3e-2 }, data)
      expect(result.reason, method).toBe('finished')
      expect(losses[losses.length - 1]!, method).toBeLessThan(losses[0]!)
      expect(result.summary.best.accuracy!, method).toBeGreaterThan(0.7)
      if (method === 'lora') expect(tuning.lora!.layers).toEqual(['b0.pw', 'b1.pw', 'b2.pw'])
      tuning.dispose()
      model.dispose()
    }
  })

  it('caches a frozen prefix of blocks (freeze method) and reports a loader that returns the wrong size', async () => {
    const data = { train: inMemory(32, 5), val: inMemory(16, 6) }
    const { model, tuning, result } = await run({ method: 'freeze', freezeFirst: 2, epochs: 2 }, data)
    expect(result.reason).toBe('finished')
    expect(Number.isFinite(result.summary.best.loss)).toBe(true)
    tuning.dispose()
    model.dispose()
    const broken = { ...inMemory(16, 7), loadBatch: async () => new Float32Array(3) }
    await expect(run({ method: 'head', epochs: 1 }, { train: broken, val: broken })).rejects.toThrow(/returned 3 values for/)
  })

  it('full fine-tuning decodes each streamed image once a run, not once an epoch, and ends with the weights in-memory pixels give', async () => {
    // Nothing is cached for full fine-tuning (every block trains): the decoded rows are kept
    // instead (imageBatches.ts, DECODED_ROWS_BUDGET), so epochs 2 and 3 decode nothing.
    const asked: number[][] = []
    const base = inMemory(24, 8)
    const streamed: EncodedImages = { ...base, loadBatch: (idx: number[]) => (asked.push([...idx]), base.loadBatch!(idx)) }
    const val = await materialise(inMemory(16, 9))
    const a = await run({ method: 'full', epochs: 3 }, { train: streamed, val })
    const b = await run({ method: 'full', epochs: 3 }, { train: await materialise(inMemory(24, 8)), val })
    const rows = asked.flat()
    expect(rows).toHaveLength(24) // 3 epochs of 24 rows: each row once
    expect(new Set(rows).size).toBe(24)
    expect(asked).toHaveLength(3) // the first epoch's 3 batches of 8
    expect(a.result.reason).toBe('finished')
    expect(a.losses).toEqual(b.losses)
    const wa = await Promise.all(a.model.params.map(async (p) => (await p.variable.data()) as Float32Array))
    const wb = await Promise.all(b.model.params.map(async (p) => (await p.variable.data()) as Float32Array))
    wa.forEach((w, i) => expect(w, a.model.params[i]!.name).toEqual(wb[i]))
    for (const r of [a, b]) {
      r.tuning.dispose()
      r.model.dispose()
    }
  })
})
