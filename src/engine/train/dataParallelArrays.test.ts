/**
 * The arrays that carry gradients and changed weights between the two workers
 * (dataParallel.ts: readFloatsInto, pooledArrays, HalfRequest.gradBuffer, HalfResult.weightBuffer):
 * read straight from the wasm heap into one array, and handed back and forth so no fresh array is
 * made a step. Built-in text transformer, real spam/ham sample, wasm backend, as
 * dataParallelTransport.test.ts.
 *
 * Expected values: readFloatsInto's are the values the tensors were made from, typed here; a run
 * with the arrays handed back must end bit for bit as the run with the copies as they were
 * (benchSwitch.tensorCopies: every tensor read with data() into fresh arrays), the old path,
 * not the code under test; and an array once handed back must hold nothing either worker still
 * reads: filled with NaN right after, the run stays bit for bit the same.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { runWithPeer } from './tinyLmSpamHamFixture'
import { expectSameRun, tinyLmOnSpamHamFiles } from './tinyLmSpamHam.testSetup'
import { benchSwitch } from '../benchSwitches'
import { GradientReplica, halfResultTransfer, halfTransfer, pooledArrays, readFloatsInto, recentSteps, type GradientPeer, type HalfRequest, type HalfResult, type ReplicaSetup } from './dataParallel'
import { Tuning } from './fineTune'
import { hostBatchData } from './batchSource'
import { stableNames } from './loopState'

// 24 training rows: 3 batches of 8 an epoch.
const lm = tinyLmOnSpamHamFiles({ train: 24, val: 8 })

// These tests are of the arrays handed back and forth, the path where SharedArrayBuffer is not
// available (a page that is not cross-origin isolated): dataParallelShared.test.ts tests the
// shared regions, which Node would take.
beforeEach(() => {
  benchSwitch.transferredArrays = true
})

afterEach(async () => {
  benchSwitch.transferredArrays = false
  benchSwitch.tensorCopies = false
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm')
})

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, batchSize: 8, epochs: 2, seqLen: 32, learningRate: 1e-3, dropout: 0, loraDropout: 0, backend: 'wasm', method: 'full', ...over })

/** What one half's request and answer carried. */
interface Seen {
  gradBuffer: Float32Array | undefined
  weightsBuffer: ArrayBufferLike | undefined
  grads: Float32Array
  weightBuffer: Float32Array | undefined
}

/** The replica in this thread, called directly (as the loop's own replica after a loss), so the
 *  arrays keep their identity; `poison`: every array is filled with NaN as soon as it was handed
 *  over (a given-back weights' array right after the half, a given-back gradient array before
 *  the replica writes into it), so whatever still read one would compute NaN. */
class DirectPeer implements GradientPeer {
  readonly replica = new GradientReplica()
  readonly seen: Seen[] = []
  constructor(private readonly poison = false) {}
  async setup(s: ReplicaSetup) {
    await this.replica.setup(structuredClone(s))
  }
  async half(r: HalfRequest): Promise<HalfResult> {
    if (this.poison) r.gradBuffer?.fill(NaN)
    const out = await this.replica.half(r)
    this.seen.push({ gradBuffer: r.gradBuffer, weightsBuffer: r.weights[0]?.data.buffer, grads: out.grads, weightBuffer: out.weightBuffer })
    if (this.poison) out.weightBuffer?.fill(NaN)
    return out
  }
  async infer(r: never): Promise<never> {
    return (this.replica as unknown as { infer(r: unknown): Promise<never> }).infer(r)
  }
}

/** As worker/gradientPeer.ts and gradientWorker.ts: each message structured-cloned, transferring
 *  what halfTransfer and halfResultTransfer name (the buffers are gone from the sender after). */
class TransferPeer implements GradientPeer {
  readonly replica = new GradientReplica()
  detached = 0
  async setup(s: ReplicaSetup) {
    await this.replica.setup(structuredClone(s))
  }
  async half(r: HalfRequest): Promise<HalfResult> {
    if ([...r.weights.map((w) => w.data), ...(r.gradBuffer ? [r.gradBuffer] : [])].some((a) => a.buffer.byteLength === 0)) this.detached++
    const sent = structuredClone(r, { transfer: halfTransfer(r) })
    const out = await this.replica.half(sent)
    return structuredClone(out, { transfer: halfResultTransfer(out) })
  }
  async infer(r: never): Promise<never> {
    return structuredClone(await (this.replica as unknown as { infer(r: unknown): Promise<never> }).infer(structuredClone(r)))
  }
}

const run = (s: Settings, peer: GradientPeer) => runWithPeer(lm, s, peer)

/** The same 2-epoch run twice, each through a fresh peer: with the copies as they were
 *  (benchSwitch.tensorCopies), then as now; and the split steps' timeline of the second. */
async function oldAndNew<P extends GradientPeer & { replica: GradientReplica }>(make: () => P) {
  const s = settings({})
  benchSwitch.tensorCopies = true
  const copies = make()
  const old = await run(s, copies)
  copies.replica.dispose()
  benchSwitch.tensorCopies = false
  const peer = make()
  const from = recentSteps.length
  const now = await run(s, peer)
  peer.replica.dispose()
  expectSameRun(old, now)
  return { copies, peer, steps: recentSteps.slice(from) }
}

describe('the arrays between the two workers', () => {
  it('readFloatsInto: float32 tensors one after the other, from the wasm heap, into a longer array; int32 refused; the same on cpu', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend)
      const a = tf.tensor1d([1.5, -2, 3])
      const b = tf.tensor2d([[4, 5.25], [6, -7]])
      const shared = tf.reshape(b, [4]) // shares b's buffer
      const c = tf.scalar(1e-30)
      const before = tf.memory().numTensors
      const out = new Float32Array(12).fill(99)
      readFloatsInto([a, b, c, shared], out)
      expect(Array.from(out), backend).toEqual([1.5, -2, 3, 4, 5.25, 6, -7, Math.fround(1e-30), 4, 5.25, 6, -7])
      expect(tf.memory().numTensors, `${backend}: no tensor made`).toBe(before)
      expect(Array.from(await b.data()), `${backend}: the tensor left as it was`).toEqual([4, 5.25, 6, -7])
      expect(() => readFloatsInto([tf.tensor1d([1, 2], 'int32')], new Float32Array(2))).toThrow('A int32 tensor where float32 values were expected')
      expect(() => readFloatsInto([a, b], new Float32Array(6))).toThrow('too short')
      tf.dispose([a, b, shared, c])
    }
  })

  it('arrays are handed back only where tf.tensor copies them: wasm yes, cpu no (its tensor keeps the array itself)', async () => {
    expect(pooledArrays()).toBe(true)
    benchSwitch.tensorCopies = true
    expect(pooledArrays(), 'the bench switch back to the copies').toBe(false)
    benchSwitch.tensorCopies = false
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend)
      const arr = new Float32Array([1, 2, 3])
      const t = tf.tensor1d(arr)
      arr[0] = NaN
      const kept = Number.isNaN((await t.data())[0])
      t.dispose()
      expect(kept, `${backend}: the tensor reads the array it was made from`).toBe(backend === 'cpu')
      expect(pooledArrays(), backend).toBe(backend === 'wasm')
    }
  })

  it('each step the loop gives back the last gradient array and the replica the weights array: the same two arrays every step, the run bit for bit as with fresh copies', async () => {
    const { copies, peer: pooled } = await oldAndNew(() => new DirectPeer())
    // The copies: nothing handed back.
    expect(copies.seen.every((x) => x.gradBuffer === undefined && x.weightBuffer === undefined)).toBe(true)
    // 2 epochs of 3 halves. The first half follows the setup (no weights, no gradient array
    // yet); from the second on the request gives back the last answer's gradient array, and the
    // replica writes this half's gradients into it. The weights changed by an update travel in
    // the array the replica gave back the time before: with a half, or with the validation pass
    // at the first epoch's end (the replica's half of its rows), which takes the first epoch's
    // last update, so the next half has no weights to send.
    const seen = pooled.seen
    expect(seen).toHaveLength(6)
    expect(seen[0]!.gradBuffer).toBeUndefined()
    for (let k = 1; k < seen.length; k++) {
      expect(seen[k]!.gradBuffer, `half ${k}: the last answer's gradients given back`).toBe(seen[k - 1]!.grads)
      expect(seen[k]!.grads, `half ${k}: written into it`).toBe(seen[k]!.gradBuffer)
    }
    expect(seen.map((x) => x.weightsBuffer !== undefined), 'halves that carried weights').toEqual([false, true, true, false, true, true])
    for (const x of seen) expect(x.weightBuffer?.buffer, "the weights' array given back").toBe(x.weightsBuffer)
    expect(new Set(seen.slice(1).map((x) => x.grads)).size, 'one gradient array for the whole run').toBe(1)
    expect(new Set(seen.filter((x) => x.weightsBuffer).map((x) => x.weightsBuffer)).size, 'one weights array for the whole run').toBe(1)
  }, 120_000)

  it('an array once handed back holds nothing either worker reads: filled with NaN at once, the run is bit for bit the same', async () => {
    const { peer: poisoned } = await oldAndNew(() => new DirectPeer(true))
    expect(poisoned.seen.filter((x) => x.weightBuffer).length, 'weights arrays poisoned (the first half has none, nor the first after the validation pass)').toBe(4)
    expect(poisoned.seen.filter((x) => x.gradBuffer).length, 'gradient arrays poisoned').toBe(5)
  }, 120_000)

  it("as the app's messages, both arrays transferred each way: the run bit for bit as with fresh copies, no detached array ever sent", async () => {
    const { peer: moved, steps } = await oldAndNew(() => new TransferPeer())
    expect(moved.detached).toBe(0)
    // The step timeline says so (the browser test reads it from the built app's workers): the
    // gradient array given back from the second half on, the weights' array by every answer to
    // a half that carried weights (not the first, nor the first after the validation pass).
    const handed = steps.map((t) => t.handedBack)
    expect(handed.map((h) => h.grads)).toEqual([false, true, true, true, true, true])
    expect(handed.map((h) => h.weights)).toEqual([false, true, true, false, true, true])
  }, 120_000)

  it("the replica assigns changed weights as new tensors (a tensor that shared a weight's buffer keeps the old values); a gradient array given back is used only at the gradients' size", async () => {
    const s = settings({})
    const model = lm.loaded.model
    model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
    const tuning = new Tuning(model, s, 2)
    const replica = new GradientReplica()
    const names = [...stableNames(model, tuning.parts).entries()]
    await replica.setup({ body: { kind: 'tiny-gpt', config: model.config }, settings: s, need: 2, task: 'classification', weights: await Promise.all(names.map(async ([v, name]) => ({ name, shape: [...v.shape], data: ((await v.data()) as Float32Array).slice() }))) })
    const byName = (replica as unknown as { state: { byName: Map<string, tf.Variable> } }).state.byName
    const [, name] = names.find(([v]) => v.rank === 2)!
    const v = byName.get(name)!
    const held = tf.clone(v) // Identity: on wasm shares the variable's buffer (models/wasmSharedIdentity.ts)
    const old = ((await v.data()) as Float32Array).slice()
    const next = old.map((x, i) => x + (i % 7) - 3)
    const batch = hostBatchData(lm.data.train, [0, 1])!
    const out = await replica.half({ weights: [{ name, shape: [...v.shape], data: next }], vars: [name], batch, cache: { prefixBlocks: 0, pooled: false }, seed: 'x' })
    expect(Array.from(await held.data()), 'the tensor that shared the old buffer').toEqual(Array.from(old))
    expect(Array.from(await v.data()), 'the weight').toEqual(Array.from(next))
    expect(out.weightBuffer?.buffer, 'the weights array given back').toBe(next.buffer)
    // A gradient array given back is written into only when it has the gradients' size (the
    // weights differentiated can change between halves: another set is a fresh array).
    const [, other] = names.find(([w]) => w.rank === 1)!
    const size = (n: string) => byName.get(n)!.size
    const again = await replica.half({ weights: [], vars: [name], batch, cache: { prefixBlocks: 0, pooled: false }, seed: 'x', gradBuffer: out.grads })
    expect(again.grads, 'the same size: written into').toBe(out.grads)
    const wrong = new Float32Array(size(name))
    const both = await replica.half({ weights: [], vars: [name, other], batch, cache: { prefixBlocks: 0, pooled: false }, seed: 'x', gradBuffer: wrong })
    expect(both.grads).not.toBe(wrong)
    expect(both.grads.length).toBe(size(name) + size(other))
    expect(Array.from(both.grads.subarray(0, size(name))), 'the same gradient for the same weights and rows').toEqual(Array.from(again.grads))
    expect(again.weightBuffer, 'no weights sent: none given back').toBeUndefined()
    held.dispose()
    replica.dispose()
    tuning.dispose()
  }, 60_000)
})
