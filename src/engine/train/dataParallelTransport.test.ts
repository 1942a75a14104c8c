/**
 * How a split step travels between the two workers (dataParallel.ts): a half's changed weights
 * are transferred, not copied (halfTransfer), equal halves are combined as (g₀ + g₁)/2, and
 * every split step leaves its timeline (recentSteps) for the bench. Built-in text transformer,
 * real spam/ham sample, wasm backend, as dataParallel.test.ts.
 *
 * Expected values: a transferred request must give the run bit for bit the weights a copied
 * one gives (the replica computes the same numbers from the same weights); a worker lost after
 * the weights went to it must leave the run bit for bit as the run that never lost it (the
 * loop's own replica is set up from the loop's variables); for 4 + 4 rows, (g₀ + g₁)/2 must
 * equal the rows-weighted (4·g₀ + 4·g₁)/8 bit for bit (scaling by a power of two is exact).
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { trainableVariables } from '../tuning/freeze'
import { BatchSource } from './batchSource'
import { differingBits, runWithPeer } from './tinyLmSpamHamFixture'
import { tinyLmOnSpamHamFiles } from './tinyLmSpamHam.testSetup'
import { benchSwitch } from '../benchSwitches'
import { DataParallel, GradientReplica, halfSeed, halfTransfer, recentSteps, type GradientPeer, type HalfRequest, type HalfResult, type ReplicaSetup } from './dataParallel'
import { FeatureCache } from './featureCache'
import { Tuning } from './fineTune'
import { gatherBatch } from './forward'

// 24 training rows: 3 batches of 8 an epoch.
const lm = tinyLmOnSpamHamFiles({ train: 24, val: 8 })

// The transferred arrays, the path where SharedArrayBuffer is not available (a page that is not
// cross-origin isolated): dataParallelShared.test.ts tests the shared regions Node would take.
beforeEach(() => {
  benchSwitch.transferredArrays = true
})

afterEach(() => {
  benchSwitch.legacyTransport = false
  benchSwitch.transferredArrays = false
})

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, batchSize: 8, epochs: 2, seqLen: 32, learningRate: 1e-3, dropout: 0, loraDropout: 0, backend: 'wasm', method: 'full', ...over })

/** The replica behind a message boundary as worker/gradientPeer.ts posts to it: the request
 *  structured-cloned with its weights' buffers transferred (`transfer`), or copied. A failing
 *  half fails after its message went (the buffers are gone with it). */
class MessagePeer implements GradientPeer {
  readonly replica = new GradientReplica()
  halves = 0
  /** Per half: the request's weight bytes after it was posted (0 once transferred). */
  left: number[] = []
  constructor(private readonly transfer: boolean, private readonly failAt = -1) {}
  async setup(s: ReplicaSetup) {
    await this.replica.setup(structuredClone(s))
  }
  async half(r: HalfRequest): Promise<HalfResult> {
    const sent = structuredClone(r, { transfer: this.transfer ? halfTransfer(r) : [] })
    this.left.push(r.weights.reduce((a, w) => a + w.data.byteLength, 0))
    if (++this.halves === this.failAt) throw new Error('the second worker stopped (out of memory)')
    const out = await this.replica.half(sent)
    return structuredClone(out, { transfer: [out.grads.buffer as ArrayBuffer] })
  }
  // Inference passes (where the engine splits them over the replica too): copied, as the app does.
  async infer(r: never): Promise<never> {
    if (this.halves >= this.failAt && this.failAt > 0) throw new Error('the second worker stopped (out of memory)')
    return structuredClone(await (this.replica as unknown as { infer(r: unknown): Promise<never> }).infer(structuredClone(r)))
  }
}

const run = (s: Settings, peer: GradientPeer) => runWithPeer(lm, s, peer)
const sameBits = differingBits

describe('how a split step travels between the two workers', () => {
  it("a half's changed weights are transferred, not copied, and the run ends bit for bit as with copied requests", async () => {
    const s = settings({})
    const copied = new MessagePeer(false)
    const a = await run(s, copied)
    const moved = new MessagePeer(true)
    const b = await run(s, moved)
    copied.replica.dispose()
    moved.replica.dispose()
    // The first half follows the setup (no weight changed yet); every later one carries all
    // trainable weights (full fine-tuning), counted apart, unless an inference pass on the
    // replica took them first.
    const trainable = (() => {
      const t = new Tuning(lm.loaded.model, s, 2)
      const n = trainableVariables(lm.loaded.model, s, 0, t.parts).reduce((x, v) => x + v.size, 0)
      t.dispose()
      return n
    })()
    expect(copied.left.every((x) => x === 0 || x === 4 * trainable), `${copied.left}`).toBe(true)
    expect(copied.left.filter((x) => x > 0).length, 'halves whose weights are still readable here: copied').toBeGreaterThanOrEqual(4)
    expect(moved.left.every((x) => x === 0)).toBe(true) // gone with the message: transferred
    expect(b.epochs).toEqual(a.epochs)
    expect(sameBits(a.weights, b.weights), 'weights that differ in any bit').toBe(0)
  }, 120_000)

  it('a worker lost after the weights went to it: the run goes on here bit for bit as the run that kept it', async () => {
    const s = settings({})
    const steady = new MessagePeer(true)
    const a = await run(s, steady)
    const failing = new MessagePeer(true, 3) // the third half: weights changed twice, transferred, then lost
    const b = await run(s, failing)
    steady.replica.dispose()
    failing.replica.dispose()
    expect(b.lost).toEqual(['the second worker stopped (out of memory)'])
    expect(failing.halves).toBe(3)
    expect(b.epochs).toEqual(a.epochs)
    expect(sameBits(a.weights, b.weights), 'weights that differ in any bit').toBe(0)
  }, 120_000)

  it('equal halves combine as (g₀ + g₁)/2: for 4 + 4 rows bit for bit the rows-weighted mean; 4 + 3 rows keep the weighted form', async () => {
    const model = lm.loaded.model
    model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
    const s = settings({ batchSize: 8 })
    const tuning = new Tuning(model, s, 2)
    const vars = trainableVariables(model, s, 0, tuning.parts)
    const source = BatchSource.host(lm.data.train)
    const cache = new FeatureCache(0, false, { train: lm.data.train.n, val: 0 })
    const seeds = [halfSeed(s.seed, 0, 0, 0), halfSeed(s.seed, 0, 0, 1)] as const
    const step = async (rows: number[], legacy: boolean) => {
      benchSwitch.legacyTransport = legacy
      const peer = new MessagePeer(false)
      const dp = new DataParallel(peer, model, tuning, s, 'classification', 2)
      const g = await dp.gradients(vars, () => gatherBatch(source, cache, 'train', rows), cache, seeds)
      const out = { loss: (await g.value.data())[0]!, grads: await Promise.all(g.grads.map(async (t) => ((await t.data()) as Float32Array).slice())) }
      tf.dispose([g.value, ...g.grads])
      dp.dispose()
      peer.replica.dispose()
      return out
    }
    const rows8 = [3, 0, 7, 1, 20, 12, 5, 23]
    const weighted = await step(rows8, true)
    const halved = await step(rows8, false)
    expect(halved.loss).toBe(weighted.loss)
    expect(sameBits(weighted.grads, halved.grads), 'gradients that differ in any bit (8 rows)').toBe(0)
    const rows7 = rows8.slice(0, 7)
    const w7 = await step(rows7, true)
    const h7 = await step(rows7, false)
    expect(sameBits(w7.grads, h7.grads), 'gradients that differ in any bit (7 rows: both weighted)').toBe(0)
    // And (g₀ + g₁)/2 is not the same numbers by accident: the 8-row and 7-row means differ.
    expect(sameBits(halved.grads, h7.grads)).toBeGreaterThan(1000)
    cache.dispose()
    tuning.dispose()
  }, 60_000)

  it('every split step leaves its timeline: the phases of both workers in order, the bytes sent', async () => {
    const s = settings({ epochs: 1 })
    const from = recentSteps.length
    const peer = new MessagePeer(true)
    await run(s, peer)
    peer.replica.dispose()
    const steps = recentSteps.slice(from)
    expect(steps).toHaveLength(3) // 24 rows, batch 8, one epoch
    expect(steps.map((t) => t.rows)).toEqual([[4, 4], [4, 4], [4, 4]])
    expect(steps[0]!.prevEnd).toBeNull()
    for (const [i, t] of steps.entries()) {
      const r = t.replica!
      const loop = [t.start, t.split, t.serialized, t.posted, t.yielded, t.mine, t.answered, t.combined]
      expect(loop, `step ${i}: the loop's phases in order`).toEqual([...loop].sort((x, y) => x - y))
      const rep = [r.received, r.assigned, r.uploaded, r.computed, r.readOut]
      expect(rep, `step ${i}: the replica's phases in order`).toEqual([...rep].sort((x, y) => x - y))
      // Here the replica runs in this thread, inside the call: between posting and the answer.
      expect(r.received).toBeGreaterThanOrEqual(t.serialized)
      expect(r.readOut).toBeLessThanOrEqual(t.answered)
      if (i > 0) {
        expect(t.prevEnd).toBe(steps[i - 1]!.combined)
        expect(t.updated, 'the optimizer ended between the two steps').toBeGreaterThanOrEqual(t.prevEnd!)
        expect(t.updated).toBeLessThanOrEqual(t.start)
        expect(t.weightBytes).toBe(t.gradBytes) // full fine-tuning: every trainable weight changed, every one differentiated
      }
    }
    expect(steps[0]!.weightBytes).toBe(0) // right after the setup nothing changed yet
    // tiny-lm's weights and the 2-class head's ([featureDim, 2] and [2]), as floats.
    expect(steps[1]!.gradBytes).toBe(4 * (lm.loaded.model.params.reduce((x, p) => x + p.variable.size, 0) + lm.loaded.model.featureDim * 2 + 2))
  }, 60_000)
})
