/**
 * A split step whose own half fails while the replica's half is out (dataParallel.ts
 * `gradients`: the request is posted before the loop computes its half). Built-in text
 * transformer, real spam/ham sample, wasm backend, as dataParallelShared.test.ts.
 *
 * The fault is real: the loop's model (the replica builds its own from the config, so it is not
 * touched) feeds its blocks hidden states one feature short on the half with a chosen dropout
 * seed, once, and the first block's layer-norm kernel throws its shape error inside the forward
 * pass, as an out-of-memory or shape error inside the half would.
 *
 * Expected values: the failed step's error is the loop's own; nothing of the failed half is left
 * (tensor count as before the step); the steps after it (the same step again, then the next) are
 * bit for bit those of a run that never failed (the old path's numbers, not the code under test),
 * through the same one SharedArrayBuffer for the weights, or in the transferred-arrays path the
 * same one gradient array and one weights array the whole run, as a run without a failure has;
 * and in a real run, a worker lost during the failed step's half is reported before the run
 * ends with the loop's error, nothing settles after it (no unhandled rejection, no lost-worker
 * report after the end), and no tensor is left.
 *
 * The same for an inference pass (inferencePasses.ts `halves`, an evaluation's head outputs): the
 * pass after the failure carries its weights through the shared region, its outputs bit for bit
 * those of a run without the failure; a worker lost during the failed half is reported before the
 * pass's error goes on and asked for nothing more.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import type { TinyGpt } from '../models/tinyGpt'
import { benchSwitch } from '../benchSwitches'
import { DataParallel, GradientReplica, halfResultTransfer, halfSeed, halfTransfer, inferTransfer, type GradientPeer, type HalfRequest, type HalfResult, type InferRequest, type InferResult, type ReplicaSetup } from './dataParallel'
import { fineTune, Tuning } from './fineTune'
import { gatherBatch } from './forward'
import { headRows } from './inferencePasses'
import type { BatchSource } from './batchSource'
import type { FeatureCache } from './featureCache'
import { classification } from '../tasks/classification'
import { RunControl } from './runControl'
import { differingBits, splitStepFixture } from './tinyLmSpamHamFixture'
import { tinyLmOnSpamHamFiles } from './tinyLmSpamHam.testSetup'

// 24 training rows: 3 batches of 8 an epoch.
const lm = tinyLmOnSpamHamFiles({ train: 24, val: 8 })

afterEach(() => {
  benchSwitch.transferredArrays = false
})

const settings = (over: Partial<Settings> = {}): Settings => ({ ...DEFAULTS, batchSize: 8, epochs: 1, seqLen: 32, learningRate: 1e-3, dropout: 0, loraDropout: 0, backend: 'wasm', method: 'full', ...over })
const isShared = (a: ArrayBufferView | undefined) => a !== undefined && a.buffer instanceof SharedArrayBuffer

/** The loop's model fails once, on the forward pass of the half whose dropout seed is `seed`:
 *  its hidden states one feature short, so the first block's layer-norm kernel (StudioChannelNorm)
 *  throws its shape error (`seed` undefined: an inference pass, no dropout). Returns the undo (the model is the fixture's, shared by every test). */
function failOnce(model: TinyGpt, seed: string | undefined): () => void {
  const own = model.forwardFrom
  let left = 1
  model.forwardFrom = function (input, from, opts = {}) {
    if (opts.seed === seed && left > 0) {
      left--
      const d = input.shape[2]!
      return own.call(this, tf.slice(input, [0, 0, 0], [-1, -1, d - 1]), from, opts)
    }
    return own.call(this, input, from, opts)
  }
  return () => void delete (model as { forwardFrom?: unknown }).forwardFrom
}
const FAULT = /^StudioChannelNorm: gamma \[\d+\] expected, got \[\d+\]$/

/** The tensors the same fault leaves on one worker, with no replica: tfjs keeps the tensors a
 *  gradient's forward pass saves for its backward pass (tf.keep) and frees them only after the
 *  backward pass, which a forward pass that throws never reaches. A split step's failed half
 *  may leave these, nothing more. */
function oneWorkerLeft(model: TinyGpt, tuning: Tuning, vars: tf.Variable[], source: BatchSource, cache: FeatureCache, s: Settings, rows: number[]): number {
  const seed = 'one worker'
  const undo = failOnce(model, seed)
  const batch = gatherBatch(source, cache, 'train', rows)
  const before = tf.memory().numTensors
  try {
    tf.tidy(() => tf.variableGrads(() => classification.loss(model, tuning, batch, cache, s, true, seed) as tf.Scalar, vars).value)
    throw new Error('the forward pass did not fail')
  } catch (e) {
    expect(String(e)).toMatch(/StudioChannelNorm/)
  } finally {
    undo()
  }
  const left = tf.memory().numTensors - before
  tf.dispose(Object.values(batch) as tf.Tensor[])
  return left
}

/** The worker dies while computing a request: its error comes `afterMs` later. */
async function dies(afterMs: number): Promise<never> {
  await new Promise((resolve) => setTimeout(resolve, afterMs))
  throw new Error('the second worker stopped (out of memory)')
}

/** As worker/gradientPeer.ts and gradientWorker.ts: every message structured-cloned with the
 *  app's transfer lists (views of a SharedArrayBuffer are shared); what each request carried is
 *  kept. `direct`: the replica called with the objects themselves (as dataParallelArrays.test.ts
 *  DirectPeer), so the arrays handed back and forth keep their identity. */
class Peer implements GradientPeer {
  readonly replica = new GradientReplica()
  readonly seen: { weights: Float32Array[]; gradBuffer?: Float32Array; grads: Float32Array; weightBuffer?: Float32Array }[] = []
  halves = 0
  /** The inference requests answered: the arrays their weights came in. */
  readonly inferSeen: { weights: Float32Array[] }[] = []
  infers = 0
  /** `inferAfterMs`: each inference answer comes that long after its request, as from a busy
   *  worker; `loseInferAt`: the worker dies during that inference request. */
  constructor(private readonly opts: { direct?: boolean; loseAt?: { half: number; afterMs: number }; inferAfterMs?: number; loseInferAt?: { call: number; afterMs: number } } = {}) {}
  async setup(s: ReplicaSetup) {
    await this.replica.setup(structuredClone(s))
  }
  async half(r: HalfRequest): Promise<HalfResult> {
    const k = ++this.halves
    const lose = this.opts.loseAt
    if (lose && k === lose.half) return dies(lose.afterMs)
    const sent = this.opts.direct ? r : structuredClone(r, { transfer: halfTransfer(r) })
    const out = await this.replica.half(sent)
    this.seen.push({ weights: r.weights.map((w) => w.data), gradBuffer: r.gradBuffer, grads: out.grads, weightBuffer: out.weightBuffer })
    return this.opts.direct ? out : structuredClone(out, { transfer: halfResultTransfer(out) })
  }
  async infer(r: InferRequest): Promise<InferResult> {
    const k = ++this.infers
    const lose = this.opts.loseInferAt
    if (lose && k === lose.call) return dies(lose.afterMs)
    if (this.opts.inferAfterMs) await new Promise((resolve) => setTimeout(resolve, this.opts.inferAfterMs))
    this.inferSeen.push({ weights: r.weights.map((w) => w.data) })
    return structuredClone(await this.replica.infer(structuredClone(r, { transfer: inferTransfer(r) })))
  }
}

/** Four split steps of 8 rows from the base weights, each followed by a plain gradient step on
 *  every variable (as the loop's optimizer, markDirty after), through a fresh `peer`; with
 *  `failAt` that step's own half fails once and the step is asked for again. Each successful
 *  step's loss and gradients, the failed step's error and the tensors it left. */
async function steps(peer: Peer, failAt: number | null) {
  const s = settings()
  const { model, tuning, vars, source, cache } = splitStepFixture(lm, s)
  const dp = new DataParallel(peer, model, tuning, s, 'classification', 2)
  const done: Float32Array[][] = []
  let failure: { message: string; leftTensors: number; oneWorkerLeft: number } | null = null
  for (let step = 0; step < 4; step++) {
    const rows = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => (r + 8 * step) % lm.data.train.n)
    const seeds = [halfSeed(s.seed, step, 0, 0), halfSeed(s.seed, step, 0, 1)] as const
    const ask = () => dp.gradients(vars, () => gatherBatch(source, cache, 'train', rows), cache, seeds)
    if (step === failAt) {
      const oneWorker = oneWorkerLeft(model as TinyGpt, tuning, vars, source, cache, s, rows.slice(0, 4))
      const undo = failOnce(model as TinyGpt, seeds[0])
      const before = tf.memory().numTensors
      try {
        await ask()
        throw new Error('the step did not fail')
      } catch (e) {
        failure = { message: e instanceof Error ? e.message : String(e), leftTensors: tf.memory().numTensors - before, oneWorkerLeft: oneWorker }
      } finally {
        undo()
      }
    }
    const g = await ask()
    done.push([new Float32Array(await g.value.data()), ...(await Promise.all(g.grads.map(async (t) => ((await t.data()) as Float32Array).slice())))])
    tf.tidy(() => vars.forEach((v, i) => v.assign(tf.sub(v, tf.mul(g.grads[i]!, 0.01)))))
    tf.dispose([g.value, ...g.grads])
    dp.markDirty(vars)
  }
  dp.dispose()
  peer.replica.dispose()
  cache.dispose()
  source.dispose()
  tuning.dispose()
  return { done, failure }
}

describe("a split step whose own half fails while the replica's half is out", () => {
  it('shared regions: the error is the half\'s own, nothing of it is left, and the steps after are bit for bit those of a run without the failure, the weights still through the one SharedArrayBuffer', async () => {
    const clean = await steps(new Peer(), null)
    const peer = new Peer()
    const failed = await steps(peer, 2)
    expect(failed.failure?.message).toMatch(FAULT)
    expect(failed.failure!.leftTensors, 'tensors the failed step left: those of the same failure on one worker').toBe(failed.failure!.oneWorkerLeft)
    expect(differingBits(clean.done.flat(), failed.done.flat()), 'losses and gradients that differ in any bit').toBe(0)
    // Halves: steps 0 and 1, the failed step 2 (its weights were assigned by the replica), step 2
    // again (no weights changed since), step 3. Every half with weights carried them as views of
    // the run's one SharedArrayBuffer, the one after the failure too (as in a run without it).
    const seen = peer.seen
    expect(seen.map((x) => x.weights.length > 0), 'halves that carried weights').toEqual([false, true, true, false, true])
    expect(seen.every((x) => x.weights.every(isShared) && isShared(x.gradBuffer)), 'every half through the shared regions').toBe(true)
    expect(new Set(seen.flatMap((x) => [...x.weights, x.gradBuffer!].map((a) => a.buffer))).size, 'one buffer for the whole run').toBe(1)
  }, 120_000)

  it('transferred arrays: the failed half\'s answer gives its arrays back as any answer does, one gradient array and one weights array the whole run, the steps after bit for bit as without the failure', async () => {
    benchSwitch.transferredArrays = true
    const clean = await steps(new Peer({ direct: true }), null)
    const peer = new Peer({ direct: true })
    const failed = await steps(peer, 2)
    expect(failed.failure?.message).toMatch(FAULT)
    expect(failed.failure!.leftTensors, 'tensors the failed step left: those of the same failure on one worker').toBe(failed.failure!.oneWorkerLeft)
    expect(differingBits(clean.done.flat(), failed.done.flat()), 'losses and gradients that differ in any bit').toBe(0)
    const seen = peer.seen
    expect(seen).toHaveLength(5)
    expect(seen.some((x) => x.weights.some(isShared)), 'nothing shared in this path').toBe(false)
    for (let k = 1; k < seen.length; k++) expect(seen[k]!.gradBuffer, `half ${k}: the last answer's gradient array given back`).toBe(seen[k - 1]!.grads)
    const weightArrays = seen.filter((x) => x.weights.length > 0).map((x) => x.weights[0]!.buffer)
    expect(weightArrays, 'halves with weights: step 1, the failed step 2, step 3').toHaveLength(3)
    expect(new Set(weightArrays).size, 'one weights array for the whole run').toBe(1)
  }, 120_000)

  it('in a run, a worker lost during the failed step\'s half: reported before the run ends with the loop\'s error, nothing after it, no tensor left', async () => {
    const s = settings({ epochs: 1 })
    const model = lm.loaded.model
    // What the same failure leaves on one worker (4 rows: the loop's half of a batch of 8).
    const one = splitStepFixture(lm, s)
    const leak = oneWorkerLeft(model, one.tuning, one.vars, one.source, one.cache, s, [0, 1, 2, 3])
    one.tuning.dispose()
    one.source.dispose()
    one.cache.dispose()
    model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => void unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    const before = tf.memory().numTensors
    // The second training step (step index 1): the worker dies 150 ms into its half while the
    // loop's own half fails.
    const peer = new Peer({ loseAt: { half: 2, afterMs: 150 } })
    const undo = failOnce(model, halfSeed(s.seed, 1, 0, 0))
    const tuning = new Tuning(model, s, 2)
    const lost: string[] = []
    let error = ''
    let lostAtEnd: string[] = []
    try {
      await fineTune(model, tuning, lm.data, s, new RunControl(), {}, undefined, { peer, onPeerLost: (m) => void lost.push(m) })
    } catch (e) {
      error = e instanceof Error ? e.message : String(e)
      lostAtEnd = [...lost]
    } finally {
      undo()
      tuning.dispose()
    }
    // Whatever the dead worker's request could still set off has had its time.
    await new Promise((resolve) => setTimeout(resolve, 400))
    process.off('unhandledRejection', onUnhandled)
    peer.replica.dispose()
    expect(error, 'the run ends with the loop\'s own error').toMatch(FAULT)
    expect(lostAtEnd, 'the lost worker reported within the run').toEqual(['the second worker stopped (out of memory)'])
    expect(lost, 'nothing reported after the run ended').toEqual(lostAtEnd)
    expect(unhandled.map(String), 'unhandled rejections').toEqual([])
    expect(peer.halves, 'the dead worker asked for nothing more').toBe(2)
    expect(tf.memory().numTensors - before, 'tensors after the run, its tuning and the replica are freed: those the failure leaves on one worker').toBe(leak)
  }, 120_000)
})

/** Inference passes (inferencePasses.ts `halves`: the head's outputs of an evaluation) through
 *  a fresh `peer`, from the base weights: 8 training rows' head outputs, the weights changed (as
 *  an optimizer step, markDirty after), with `fail` the same rows again where the loop's half
 *  fails once, the weights changed again right after, the same rows, changed, the same rows.
 *  Each pass's output,
 *  the failure's error, the tensors it left, and the lost-worker messages there were when it
 *  came. */
async function passes(peer: Peer, fail: boolean) {
  const s = settings()
  const { model, tuning, vars, source, cache } = splitStepFixture(lm, s)
  const lost: string[] = []
  const dp = new DataParallel(peer, model, tuning, s, 'classification', 2, (m) => void lost.push(m))
  const rows = [0, 1, 2, 3, 4, 5, 6, 7]
  const outs: Float32Array[] = []
  const change = () => {
    tf.tidy(() => vars.forEach((v) => v.assign(tf.mul(v, 0.999))))
    dp.markDirty(vars)
  }
  const pass = async () => {
    const batch = gatherBatch(source, cache, 'train', rows)
    try {
      const out = await headRows(model, tuning, batch, cache, dp)
      outs.push(((await out.data()) as Float32Array).slice())
      out.dispose()
    } finally {
      tf.dispose(Object.values(batch) as tf.Tensor[])
    }
  }
  let failure: { message: string; leftTensors: number; lostThen: string[] } | null = null
  await pass()
  change()
  if (fail) {
    const undo = failOnce(model as TinyGpt, undefined)
    const before = tf.memory().numTensors
    try {
      await pass()
      throw new Error('the pass did not fail')
    } catch (e) {
      failure = { message: e instanceof Error ? e.message : String(e), leftTensors: tf.memory().numTensors - before, lostThen: [...lost] }
    } finally {
      undo()
    }
  }
  change()
  await pass()
  change()
  await pass()
  // Whatever a dead worker's request could still set off has had its time.
  await new Promise((resolve) => setTimeout(resolve, 400))
  dp.dispose()
  peer.replica.dispose()
  cache.dispose()
  source.dispose()
  tuning.dispose()
  return { outs, failure, lost }
}

describe("an inference pass whose own half fails while the replica's half is out", () => {
  it('shared regions: the error is the half\'s own, nothing of it is left, the next pass\'s weights go through the one SharedArrayBuffer and its outputs are bit for bit those of a run without the failure', async () => {
    const clean = await passes(new Peer({ inferAfterMs: 60 }), false)
    const peer = new Peer({ inferAfterMs: 60 })
    const failed = await passes(peer, true)
    expect(failed.failure?.message).toMatch(FAULT)
    expect(failed.failure!.leftTensors, 'tensors the failed pass left (a pass has no gradient tape)').toBe(0)
    expect(failed.outs, 'the passes that did not fail').toHaveLength(3)
    expect(differingBits(clean.outs, failed.outs), 'outputs that differ in any bit from a run without the failure').toBe(0)
    // Requests: pass 1, the failed pass (weights changed once), the pass after it (changed once
    // more: it carries them right after the failure), the last pass.
    const seen = peer.inferSeen
    expect(seen.map((x) => x.weights.length > 0), 'requests that carried weights').toEqual([false, true, true, true])
    expect(seen.every((x) => x.weights.every(isShared)), 'every request\'s weights through the shared region').toBe(true)
    expect(new Set(seen.flatMap((x) => x.weights.map((a) => a.buffer))).size, 'one buffer for the whole run').toBe(1)
  }, 120_000)

  it('a worker lost during the failed half: reported before the pass\'s error goes on, nothing after it, the dead worker asked for nothing more, nothing left', async () => {
    const peer = new Peer({ loseInferAt: { call: 2, afterMs: 150 } })
    const before = tf.memory().numTensors
    const failed = await passes(peer, true)
    expect(failed.failure?.message, "the pass fails with the loop's own error").toMatch(FAULT)
    expect(failed.failure!.lostThen, 'the lost worker reported before the error went on').toEqual(['the second worker stopped (out of memory)'])
    expect(failed.lost, 'nothing reported after').toEqual(failed.failure!.lostThen)
    expect(failed.failure!.leftTensors, 'tensors the failed pass left').toBe(0)
    expect(peer.infers, 'the dead worker asked for nothing more').toBe(2)
    expect(failed.outs, 'the passes after it, computed here').toHaveLength(3)
    expect(tf.memory().numTensors - before, 'nothing left once the run\'s pieces are freed').toBe(0)
  }, 120_000)
})
