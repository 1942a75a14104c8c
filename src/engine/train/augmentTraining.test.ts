/**
 * Image augmentation inside the real training loop (fineTune + TinyCnn, cpu backend): what
 * the model is fed is recorded by wrapping the real model's own entry points (embed for a
 * full fine-tune, prefix for the frozen body of head-only); the model still computes.
 */
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { encodeImageSplit, rgbaRows } from '../data/imageEncode'
import type { Rgba } from '../data/images/types'
import { TinyCnn, type TinyCnnConfig } from '../models/tinyCnn'
import { fineTune, Tuning } from './fineTune'
import type { EncodedImages } from './imageBatches'
import type { LoopCheckpoint } from './loopState'
import { RunControl } from './runControl'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const CFG: TinyCnnConfig = { imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 }, { channels: 8, stride: 2 }] }

/** 8×8 RGBA: a red 3×2 block at a place set by i, a green stripe in row 7, white elsewhere. */
function picture(i: number): Rgba {
  const data = new Uint8ClampedArray(8 * 8 * 4).fill(255)
  const x0 = i % 5
  const y0 = (i * 3) % 5
  for (let y = y0; y < y0 + 2; y++) for (let x = x0; x < x0 + 3; x++) data.set([220, 30, 20, 255], (y * 8 + x) * 4)
  for (let x = 0; x < 8; x++) data.set([20, 160, 40, 255], (7 * 8 + x) * 4)
  return { width: 8, height: 8, data }
}

/** An in-memory image set of n pictures (labels alternate), pixels in [-1, 1]. */
async function imageSet(n: number, first: number): Promise<EncodedImages> {
  const images = Array.from({ length: n }, (_, i) => picture(first + i))
  const labels = images.map((_, i) => i % 2)
  const { train } = encodeImageSplit(rgbaRows(images, labels, ['a', 'b'], 8), { size: 8, valSplit: 0, seed: 1 })
  const pixels = await train.loadBatch!(Array.from({ length: n }, (_, i) => i))
  const { loadBatch: _drop, ...rest } = train
  return { ...rest, pixels }
}

const AUG: Partial<Settings> = { augFlip: true, augShift: 0.2, augRotate: 15, augColor: 0.2 }

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, method: 'full', batchSize: 4, epochs: 2, warmupSteps: 0, dropout: 0, learningRate: 1e-2, ...over })

interface Seen {
  train: Float32Array[] // what the trained path was fed, step by step
  val: Float32Array[] // what evaluation was fed
}

/** One run with the real model's embed (full) or prefix (head-only) watched. */
async function run(s: Settings, data: { train: EncodedImages; val: EncodedImages }, resume?: LoopCheckpoint) {
  const model = new TinyCnn(CFG, undefined, 3)
  const seen: Seen = { train: [], val: [] }
  const embed = model.embed.bind(model)
  const prefix = model.prefix.bind(model)
  model.embed = (x, opts) => {
    if (s.method !== 'head') (opts?.training ? seen.train : seen.val).push(x.dataSync() as Float32Array)
    return embed(x, opts)
  }
  // Head-only: the frozen body runs through prefix(x, 0); a training batch has train.n rows here.
  model.prefix = (x, n, opts) => {
    if (s.method === 'head') (x.shape[0] === data.train.n ? seen.train : seen.val).push(x.dataSync() as Float32Array)
    return prefix(x, n, opts)
  }
  const tuning = new Tuning(model, s, 2)
  const epochs: { train: number; val: number }[] = []
  const checkpoints: LoopCheckpoint[] = []
  const result = await fineTune(model, tuning, data, s, new RunControl(), { onEpoch: (e) => void epochs.push({ train: e.train.loss, val: e.val.loss }), onCheckpoint: (c) => void checkpoints.push(c) }, resume)
  tuning.dispose()
  model.dispose()
  return { seen, epochs, checkpoints, result }
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i])

describe('image augmentation in the training loop', () => {
  it('feeds training different pixels each epoch, the same for the same seed and step, and validation its pixels as loaded', async () => {
    // Batch = the whole training set, so epoch e is step e and holds the same images each time.
    const data = { train: await imageSet(4, 0), val: await imageSet(4, 10) }
    const s = settings({ ...AUG, batchSize: 4, epochs: 3, seed: 7 })
    const a = await run(s, data)
    expect(a.result.reason).toBe('finished')
    expect(a.seen.train).toHaveLength(3)
    // Same images, in the loop's shuffled order: compare sorted values, which a reorder keeps.
    const sorted = (v: Float32Array) => Float32Array.from(v).sort()
    const raw = sorted(data.train.pixels!)
    for (const t of a.seen.train) expect(same(sorted(t), raw)).toBe(false)
    expect(same(sorted(a.seen.train[0]!), sorted(a.seen.train[1]!))).toBe(false)
    expect(same(sorted(a.seen.train[1]!), sorted(a.seen.train[2]!))).toBe(false)
    // Validation (baseline and every epoch) gets exactly the loaded pixels.
    expect(a.seen.val.length).toBeGreaterThanOrEqual(4)
    for (const v of a.seen.val) expect(same(v, data.val.pixels!)).toBe(true)

    // The same seed gives the same pixels at every step; another seed other pixels.
    const b = await run(s, data)
    b.seen.train.forEach((t, i) => expect(same(t, a.seen.train[i]!)).toBe(true))
    const c = await run({ ...s, seed: 8 }, data)
    expect(same(sorted(c.seen.train[0]!), sorted(a.seen.train[0]!))).toBe(false)

    // Off (the default), training sees the loaded pixels too.
    const off = await run(settings({ batchSize: 4, epochs: 1, seed: 7 }), data)
    expect(same(sorted(off.seen.train[0]!), raw)).toBe(true)
  })

  it('head-only: the frozen body runs on each augmented training batch; validation stays cached', async () => {
    const data = { train: await imageSet(4, 0), val: await imageSet(6, 10) }
    const s = settings({ ...AUG, method: 'head', batchSize: 4, epochs: 3, seed: 3, learningRate: 3e-2 })
    const r = await run(s, data)
    expect(r.result.reason).toBe('finished')
    expect(r.seen.train).toHaveLength(3) // one body pass per step: not cached
    expect(same(r.seen.train[0]!, r.seen.train[1]!)).toBe(false)
    expect(r.seen.val).toHaveLength(1) // the validation images once, into the cache
    expect(same(r.seen.val[0]!, data.val.pixels!)).toBe(true)
    // Without augmentation the training images go through the body once, into the cache.
    const off = await run(settings({ method: 'head', batchSize: 4, epochs: 3, seed: 3, learningRate: 3e-2 }), data)
    expect(off.seen.train).toHaveLength(1)
    expect(off.result.summary.best.loss).not.toBe(r.result.summary.best.loss)
  })

  it('a run resumed from its epoch-1 checkpoint augments as the uninterrupted run did', async () => {
    const data = { train: await imageSet(8, 0), val: await imageSet(4, 10) }
    const s = settings({ ...AUG, batchSize: 4, epochs: 3, seed: 11 })
    const full = await run(s, data)
    const resumed = await run(s, data, full.checkpoints[0])
    expect(resumed.epochs).toHaveLength(2)
    resumed.epochs.forEach((e, i) => {
      expect(Math.abs(e.train - full.epochs[i + 1]!.train)).toBeLessThan(1e-5)
      expect(Math.abs(e.val - full.epochs[i + 1]!.val)).toBeLessThan(1e-5)
    })
    // Steps 3..6 of the resumed run were fed what steps 3..6 of the full run were.
    resumed.seen.train.forEach((t, i) => expect(same(t, full.seen.train[i + 2]!)).toBe(true))
  })

  it('keeps the tensor count flat over an augmented run', async () => {
    const data = { train: await imageSet(4, 0), val: await imageSet(4, 10) }
    const before = tf.memory().numTensors
    await run(settings({ ...AUG, batchSize: 2, epochs: 2 }), data)
    expect(tf.memory().numTensors).toBe(before)
  })
})
