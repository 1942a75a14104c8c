/**
 * A split step's halves built apart (dataParallel.ts HalvesApart, fineTune.ts halvesApart): the
 * replica's half is posted from the host rows (batchSource.ts hostBatchData) before the training
 * worker uploads its own half, instead of the whole batch being uploaded, sliced and the second
 * half read back. The replica must get the very rows it got before, in the same order, and the
 * run must compute the same numbers, bit for bit (the same kernels on the same halves).
 * Compared against benchSwitch.wholeBatchSplit (the old way) in the same process, wasm backend.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { TinyCnn, type TinyCnnConfig } from '../models/tinyCnn'
import { mulberry32 } from '../data/rng'
import { benchSwitch } from '../benchSwitches'
import { DataParallel, GradientReplica, halfSeed, type GradientPeer, type HalfRequest, type HalfResult, type InferRequest, type InferResult, type ReplicaSetup, type TensorData } from './dataParallel'
import { fineTune, Tuning, type Encoded } from './fineTune'
import { gatherBatch } from './forward'
import { RunControl } from './runControl'
import { splitStepFixture } from './tinyLmSpamHamFixture'
import { tinyLmOnSpamHamFiles } from './tinyLmSpamHam.testSetup'

const lm = tinyLmOnSpamHamFiles({ train: 36, val: 16 })

afterEach(() => {
  benchSwitch.wholeBatchSplit = false
})

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, batchSize: 8, epochs: 2, seqLen: 32, learningRate: 1e-3, dropout: 0, loraDropout: 0, backend: 'wasm', ...over })

/** The replica behind a cloned message boundary, keeping every half batch it was sent and, per
 *  request, the engine's tensor count when it was posted. */
class RecordingPeer implements GradientPeer {
  readonly replica = new GradientReplica()
  readonly batches: Record<string, TensorData>[] = []
  readonly tensorsAtPost: number[] = []
  onHalf?: () => void
  async setup(s: ReplicaSetup) {
    await this.replica.setup(structuredClone(s))
  }
  async half(r: HalfRequest): Promise<HalfResult> {
    this.tensorsAtPost.push(tf.memory().numTensors)
    this.onHalf?.()
    this.batches.push(structuredClone(r.batch))
    return structuredClone(await this.replica.half(structuredClone(r)))
  }
  async infer(r: InferRequest): Promise<InferResult> {
    return structuredClone(await this.replica.infer(structuredClone(r)))
  }
}

/** Each row of a sent half equals one row of the set with that row's label (independent of the
 *  batch code: read straight from the set's arrays). */
function rowsOfSet(set: Extract<Encoded, { kind: 'classification' }> | Extract<Encoded, { kind: 'image' }>, b: Record<string, TensorData>): void {
  const width = set.kind === 'image' ? set.height * set.width * 3 : set.seqLen
  const all = set.kind === 'image' ? set.pixels! : set.tokens
  const rows = b.input!.shape[0]!
  expect(b.labels!.shape).toEqual([rows])
  for (let i = 0; i < rows; i++) {
    const row = b.input!.data.subarray(i * width, (i + 1) * width)
    let found = false
    for (let r = 0; r < set.n && !found; r++) {
      if (set.labels[r] !== b.labels!.data[i]) continue
      found = all.subarray(r * width, (r + 1) * width).every((v, k) => v === row[k])
    }
    expect(found, `sent row ${i} is a row of the set with its label`).toBe(true)
  }
}

describe("two workers' halves built apart from the host rows", () => {
  it('tiny-lm full fine-tuning: the replica gets the same rows as when the whole batch was sliced, the run the same numbers bit for bit, tensors flat', async () => {
    const s = settings({ method: 'full', batchSize: 6 }) // 36 rows: 6 batches of 6 an epoch (3 here + 3 there)
    const run = async (whole: boolean) => {
      benchSwitch.wholeBatchSplit = whole
      const model = lm.loaded.model
      model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
      const before = tf.memory().numTensors
      const tuning = new Tuning(model, s, 2)
      const peer = new RecordingPeer()
      const epochs: number[] = []
      await fineTune(model, tuning, lm.data, s, new RunControl(), { onEpoch: (e) => void epochs.push(e.train.loss, e.val.loss) }, undefined, { peer })
      const weights = await Promise.all([...model.params.map((p) => p.variable), ...(tuning.head?.params ?? []).map((p) => p.variable)].map(async (v) => Array.from((await v.data()) as Float32Array)))
      tuning.dispose()
      peer.replica.dispose()
      return { peer, epochs, weights, leaked: tf.memory().numTensors - before }
    }
    const old = await run(true)
    const now = await run(false)
    expect(now.peer.batches).toHaveLength(12)
    expect(now.peer.batches.map((b) => b.input!.shape[0])).toEqual(Array(12).fill(3))
    expect(now.peer.batches).toEqual(old.peer.batches) // keys, shapes, dtypes and every value
    for (const b of now.peer.batches) rowsOfSet(lm.data.train as Extract<Encoded, { kind: 'classification' }>, b)
    expect(now.epochs).toEqual(old.epochs)
    expect(now.weights).toEqual(old.weights)
    expect(now.leaked).toBe(old.leaked)
    expect(now.leaked).toBe(0)
  }, 120_000)

  it.each([
    ['pixels in memory', false],
    ['streamed from a loader (decoded rows kept for the run)', true],
  ] as [string, boolean][])('image CNN full fine-tuning, %s: the same rows sent, the same numbers bit for bit', async (_name, streamed) => {
    const cfg: TinyCnnConfig = { imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 }, { channels: 8, stride: 2 }] }
    const images = (n: number, seed: number): Extract<Encoded, { kind: 'image' }> => {
      const rnd = mulberry32(seed)
      return { kind: 'image', n, height: 8, width: 8, pixels: Float32Array.from({ length: n * 8 * 8 * 3 }, () => rnd() * 2 - 1), labels: Int32Array.from({ length: n }, () => (rnd() < 0.5 ? 1 : 0)), classes: ['a', 'b'] }
    }
    const mem = { train: images(20, 1), val: images(8, 2) }
    const loaderOf = (set: Extract<Encoded, { kind: 'image' }>): Encoded => ({
      kind: 'image', n: set.n, height: 8, width: 8, labels: set.labels, classes: set.classes,
      loadBatch: async (idx) => {
        const out = new Float32Array(idx.length * 192)
        idx.forEach((r, i) => out.set(set.pixels!.subarray(r * 192, (r + 1) * 192), i * 192))
        return out
      },
    })
    const s = settings({ method: 'full', epochs: 2, batchSize: 8, learningRate: 1e-2, restoreBest: false })
    const run = async (whole: boolean) => {
      benchSwitch.wholeBatchSplit = whole
      const before = tf.memory().numTensors
      const model = new TinyCnn(cfg, undefined, 3)
      const tuning = new Tuning(model, s, 2)
      const peer = new RecordingPeer()
      const epochs: number[] = []
      const sets = streamed ? { train: loaderOf(mem.train), val: loaderOf(mem.val) } : mem
      await fineTune(model, tuning, sets, s, new RunControl(), { onEpoch: (e) => void epochs.push(e.train.loss, e.val.loss) }, undefined, { peer })
      const weights = await Promise.all([...model.params.map((p) => p.variable), ...(tuning.head?.params ?? []).map((p) => p.variable)].map(async (v) => Array.from((await v.data()) as Float32Array)))
      tuning.dispose()
      model.dispose()
      peer.replica.dispose()
      return { peer, epochs, weights, leaked: tf.memory().numTensors - before }
    }
    const old = await run(true)
    const now = await run(false)
    expect(now.peer.batches.map((b) => b.input!.shape)).toEqual([[4, 8, 8, 3], [4, 8, 8, 3], [2, 8, 8, 3], [4, 8, 8, 3], [4, 8, 8, 3], [2, 8, 8, 3]])
    expect(now.peer.batches).toEqual(old.peer.batches)
    for (const b of now.peer.batches) rowsOfSet(mem.train, b)
    expect(now.epochs).toEqual(old.epochs)
    expect(now.weights).toEqual(old.weights)
    expect(now.leaked).toBe(0)
    expect(old.leaked).toBe(0)
  }, 120_000)

  it("the replica's request is posted before the training worker uploads its own half, and nothing is uploaded for the replica's half", async () => {
    const s = settings({ method: 'full', batchSize: 8 })
    const { model, tuning, vars, source, cache } = splitStepFixture(lm, s)
    const idx = [3, 0, 7, 1, 30, 12, 5, 33]
    const seeds = [halfSeed(s.seed, 0, 0, 0), halfSeed(s.seed, 0, 0, 1)] as const
    const log: string[] = []
    const peer = new RecordingPeer()
    peer.onHalf = () => void log.push('posted')
    const dp = new DataParallel(peer, model, tuning, s, 'classification', 2)
    // The first request also sets the replica up: done once before the steps compared.
    const warm = await dp.gradients(vars, () => gatherBatch(source, cache, 'train', idx), cache, seeds)
    tf.dispose([warm.value, ...warm.grads])
    log.length = 0
    const { hostBatchData } = await import('./batchSource')
    const start = tf.memory().numTensors
    const apart = {
      rows: idx.length,
      mine: (n0: number) => (log.push('mine built'), gatherBatch(source, cache, 'train', idx.slice(0, n0))),
      theirs: (n0: number) => (log.push('theirs built'), hostBatchData(source.set, idx.slice(n0))),
    }
    const now = await dp.gradients(vars, () => gatherBatch(source, cache, 'train', idx), cache, seeds, apart)
    expect(log).toEqual(['theirs built', 'posted', 'mine built'])
    expect(peer.tensorsAtPost.at(-1), 'tensors when the request was posted').toBe(start)
    // The old way (the switch) built and sliced the whole batch first: the measure can fail.
    benchSwitch.wholeBatchSplit = true
    log.length = 0
    const held = tf.memory().numTensors // now's loss and gradients
    const old = await dp.gradients(vars, () => gatherBatch(source, cache, 'train', idx), cache, seeds, apart)
    expect(log).toEqual(['posted'])
    expect(peer.tensorsAtPost.at(-1)!, 'the old way: its own half already uploaded when posting').toBeGreaterThan(held)
    expect(peer.batches.at(-1)).toEqual(peer.batches.at(-2))
    expect(Array.from(await now.value.data())).toEqual(Array.from(await old.value.data()))
    for (const [i, g] of now.grads.entries()) expect(Array.from(await g.data()), `gradient ${i}`).toEqual(Array.from(await old.grads[i]!.data()))
    tf.dispose([now.value, ...now.grads, old.value, ...old.grads])
    expect(tf.memory().numTensors).toBe(start)
    dp.dispose()
    peer.replica.dispose()
    cache.dispose()
    tuning.dispose()
  }, 60_000)
})
