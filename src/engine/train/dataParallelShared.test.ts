/**
 * The two workers' changed weights and gradients through regions of one SharedArrayBuffer
 * (dataParallel.ts sharedExchange), the path of the app's cross-origin isolated page and of Node:
 * the messages carry views of it, nothing of it is transferred or handed back. Built-in text
 * transformer, real spam/ham sample, wasm backend, as dataParallelArrays.test.ts.
 *
 * Expected values: a run through the shared regions must end bit for bit as the run with the
 * copies as they were (benchSwitch.tensorCopies: every tensor read with data() into fresh arrays,
 * each message with its own), the old path, not the code under test; a region must hold nothing
 * either worker reads after its message was answered: the weights region filled with NaN as soon
 * as the replica answered, the gradient region filled with NaN before the replica writes it, the
 * run stays bit for bit the same; a worker lost after the weights went to it leaves the run bit
 * for bit as the run that kept it.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { differingBits, runWithPeer } from './tinyLmSpamHamFixture'
import { expectSameRun, tinyLmOnSpamHamFiles } from './tinyLmSpamHam.testSetup'
import { benchSwitch } from '../benchSwitches'
import { GradientReplica, halfResultTransfer, halfTransfer, inferTransfer, recentSteps, sharedExchange, type GradientPeer, type HalfRequest, type HalfResult, type InferRequest, type InferResult, type ReplicaSetup } from './dataParallel'

// 24 training rows: 3 batches of 8 an epoch.
const lm = tinyLmOnSpamHamFiles({ train: 24, val: 8 })

afterEach(async () => {
  benchSwitch.tensorCopies = false
  benchSwitch.transferredArrays = false
  delete (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm')
})

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, batchSize: 8, epochs: 2, seqLen: 32, learningRate: 1e-3, dropout: 0, loraDropout: 0, backend: 'wasm', method: 'full', ...over })
const isShared = (a: ArrayBufferView | undefined) => a !== undefined && a.buffer instanceof SharedArrayBuffer

/** As worker/gradientPeer.ts and gradientWorker.ts: every message structured-cloned with the
 *  app's transfer lists (a SharedArrayBuffer in one would throw: it can only be shared). What
 *  each request and answer carried is kept; `poison`: the weights' views filled with NaN once the
 *  replica answered, the gradient view before the replica writes into it; `failAt`: that half's
 *  message goes, then the worker is lost. */
class MessagePeer implements GradientPeer {
  readonly replica = new GradientReplica()
  readonly seen: { weights: Float32Array[]; gradBuffer?: Float32Array; grads: Float32Array; weightBuffer?: Float32Array }[] = []
  halves = 0
  constructor(private readonly opts: { poison?: boolean; failAt?: number } = {}) {}
  async setup(s: ReplicaSetup) {
    await this.replica.setup(structuredClone(s))
  }
  async half(r: HalfRequest): Promise<HalfResult> {
    const sent = structuredClone(r, { transfer: halfTransfer(r) })
    if (++this.halves === this.opts.failAt) throw new Error('the second worker stopped (out of memory)')
    if (this.opts.poison) sent.gradBuffer?.fill(NaN)
    const out = await this.replica.half(sent)
    if (this.opts.poison) for (const w of sent.weights) w.data.fill(NaN)
    this.seen.push({ weights: r.weights.map((w) => w.data), gradBuffer: r.gradBuffer, grads: out.grads, weightBuffer: out.weightBuffer })
    return structuredClone(out, { transfer: halfResultTransfer(out) })
  }
  async infer(r: InferRequest): Promise<InferResult> {
    const sent = structuredClone(r, { transfer: inferTransfer(r) })
    const out = await this.replica.infer(sent)
    if (this.opts.poison) for (const w of sent.weights) w.data.fill(NaN)
    return structuredClone(out)
  }
}

const run = (s: Settings, peer: GradientPeer) => runWithPeer(lm, s, peer)

/** The 2-epoch run with the copies as they were (the old path), through a fresh peer. */
async function copiesRun(s: Settings) {
  benchSwitch.tensorCopies = true
  const peer = new MessagePeer()
  const out = await run(s, peer)
  peer.replica.dispose()
  benchSwitch.tensorCopies = false
  expect(peer.seen.every((x) => !isShared(x.gradBuffer) && !isShared(x.grads)), 'the copies: nothing shared').toBe(true)
  return out
}

describe('the two workers share one buffer for weights and gradients', () => {
  it('only on wasm, with SharedArrayBuffer, in an isolated page, and not with the bench switch', async () => {
    expect(sharedExchange(), 'Node: SharedArrayBuffer, no crossOriginIsolated').toBe(true)
    ;(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated = false
    expect(sharedExchange(), 'a page that is not cross-origin isolated').toBe(false)
    ;(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated = true
    expect(sharedExchange(), 'a cross-origin isolated page').toBe(true)
    benchSwitch.transferredArrays = true
    expect(sharedExchange(), 'the bench switch back to transferred arrays').toBe(false)
    benchSwitch.transferredArrays = false
    await tf.setBackend('cpu')
    expect(sharedExchange(), 'cpu: a tensor keeps the array it is made from').toBe(false)
  })

  it('every half: the weights and the gradients as views of one SharedArrayBuffer, nothing handed back; the run bit for bit as with fresh copies', async () => {
    const s = settings({})
    const old = await copiesRun(s)
    const peer = new MessagePeer()
    const from = recentSteps.length
    const now = await run(s, peer)
    peer.replica.dispose()
    expectSameRun(old, now)
    // 2 epochs of 3 halves; the first half follows the setup (no weights changed), the first of
    // the second epoch follows the validation pass, which took the first epoch's last update.
    const seen = peer.seen
    expect(seen).toHaveLength(6)
    expect(seen.map((x) => x.weights.length > 0), 'halves that carried weights').toEqual([false, true, true, false, true, true])
    const buffers = new Set<ArrayBufferLike>()
    for (const x of seen) {
      expect(x.weights.every(isShared) && isShared(x.gradBuffer) && isShared(x.grads), 'views of a SharedArrayBuffer').toBe(true)
      for (const a of [...x.weights, x.gradBuffer!]) buffers.add(a.buffer)
      // The answer's gradients are the view the request named (a message makes a new object for
      // the same shared memory): the same place in a buffer of the same size.
      expect([x.grads.byteOffset, x.grads.length, x.grads.buffer.byteLength], 'the gradients where the request said').toEqual([x.gradBuffer!.byteOffset, x.gradBuffer!.length, x.gradBuffer!.buffer.byteLength])
      expect(x.weightBuffer, 'no weights array handed back').toBeUndefined()
    }
    expect(buffers.size, "the loop's one buffer for the whole run").toBe(1)
    const steps = recentSteps.slice(from)
    expect(steps.map((t) => t.shared), "the timeline's word for it (the browser test reads it)").toEqual([true, true, true, true, true, true])
  }, 120_000)

  it('a region holds nothing either worker reads once its message was answered: poisoned with NaN, the run is bit for bit the same', async () => {
    const s = settings({})
    const old = await copiesRun(s)
    const peer = new MessagePeer({ poison: true })
    const now = await run(s, peer)
    peer.replica.dispose()
    expect(now.epochs).toEqual(old.epochs)
    expect(differingBits(old.weights, now.weights), 'weights that differ in any bit').toBe(0)
    expect(peer.seen.filter((x) => x.weights.length > 0).length, 'halves whose weights were poisoned').toBe(4)
  }, 120_000)

  it('a worker lost after the weights went to it: the run goes on here bit for bit as the run that kept it', async () => {
    const s = settings({})
    const steady = new MessagePeer()
    const a = await run(s, steady)
    const failing = new MessagePeer({ failAt: 3 }) // the third half: weights in the region, then lost
    const b = await run(s, failing)
    steady.replica.dispose()
    failing.replica.dispose()
    expect(a.lost).toEqual([])
    expect(b.lost).toEqual(['the second worker stopped (out of memory)'])
    expect(b.epochs).toEqual(a.epochs)
    expect(differingBits(a.weights, b.weights), 'weights that differ in any bit').toBe(0)
  }, 120_000)
})
