/**
 * The Evaluate panel's blend of base and tuned weights (a sweep over α, one interpolation, an
 * evaluation) outside a run, on two workers (train/evaluationSplit.ts): the session halves each
 * evaluation batch's rows between itself and the second worker's replica, as a run does, and
 * computes the metrics once from the outputs put back in row order. Against the same session
 * with no second worker: the same figures, bit for bit. The replica sits behind a message
 * boundary here: each request is structured-cloned with the buffers the app's worker message
 * transfers (setupTransfer, inferTransfer), so a weight that was copied instead of transferred,
 * or a transferred one read again, shows.
 *
 * Models: the built-in tiny LM (wasm, the real spam/ham sample, tinyLmSpamHamFixture.ts) as a
 * text classifier, and an image CNN classifier. A run trains it through the session (one
 * worker) first; only the blend's passes differ between the two sides.
 */
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { benchSwitch } from '../benchSwitches'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { mulberry32 } from '../data/rng'
import { TinyCnn } from '../models/tinyCnn'
import { GradientReplica, inferTransfer, setupTransfer, type GradientPeer, type HalfRequest, type HalfResult, type InferRequest, type InferResult, type ReplicaSetup } from '../train/dataParallel'
import type { Encoded } from '../train/fineTune'
import type { InferPass } from '../train/inferencePasses'
import { tinyLmOnSpamHamFiles } from '../train/tinyLmSpamHam.testSetup'
import type { Metrics } from '../types/metrics'
import { holdCnn } from './families/image'
import { holdText } from './families/text'
import type { HeldModel } from './family'
import { Session, type RunHooks } from './session'

// 24 training rows, 40 validation rows (one evaluation batch: 20 here, 20 on the replica).
const lm = tinyLmOnSpamHamFiles({ train: 24, val: 40 })

// The app's transfer lists are what this checks: the path where SharedArrayBuffer is not available
// (a page that is not cross-origin isolated; train/dataParallelShared.test.ts has the shared one).
beforeEach(() => {
  benchSwitch.transferredArrays = true
})
afterEach(() => {
  benchSwitch.transferredArrays = false
})

/** The second worker behind a message boundary: requests cloned with the app's transfer lists
 *  (their weight buffers detached here afterwards, as a worker message leaves them). */
class MessagePeer implements GradientPeer {
  readonly replica = new GradientReplica()
  readonly passes: InferPass['kind'][] = []
  setups = 0
  /** Weights each request carried, and how many of their buffers the sender still could read after sending. */
  readonly sent: { weights: number; bytes: number; readableAfter: number }[] = []
  /** Tensors in this thread after each of the replica's passes. */
  readonly tensors: number[] = []
  constructor(private readonly failPassAt = -1) {}
  private send<T extends { weights: { data: Float32Array }[] }>(r: T, transfer: ArrayBuffer[]): T {
    const bytes = r.weights.reduce((n, w) => n + w.data.byteLength, 0)
    const copy = structuredClone(r, { transfer })
    this.sent.push({ weights: r.weights.length, bytes, readableAfter: r.weights.filter((w) => w.data.byteLength > 0).length })
    return copy
  }
  async setup(s: ReplicaSetup): Promise<void> {
    this.setups++
    await this.replica.setup(this.send(s, setupTransfer(s)))
  }
  async half(_r: HalfRequest): Promise<HalfResult> {
    throw new Error('no training halves outside a run')
  }
  async infer(r: InferRequest): Promise<InferResult> {
    this.passes.push(r.pass.kind)
    if (this.passes.length === this.failPassAt) {
      this.send(r, inferTransfer(r)) // the message left with its weights; the worker then died
      throw new Error('The second training worker stopped on an error')
    }
    const out = structuredClone(await this.replica.infer(this.send(r, inferTransfer(r))))
    this.tensors.push(tf.memory().numTensors)
    return out
  }
}

const hooks = (): RunHooks => ({ events: {}, started: () => undefined, record: async (_s, _c, cb) => ({ callbacks: () => cb, finish: async () => undefined, fail: async () => undefined }) })

/** A session holding `held`, trained once (one worker) on `sets`. */
async function trained(held: HeldModel, s: Settings, sets: { train: Encoded; val: Encoded }): Promise<Session> {
  const session = new Session({ dataset: null, facts: null, images: null, decoder: null, split: () => { throw new Error('the sets are given') } })
  session.hold(held)
  const out = await session.train('blend-run', s, hooks(), undefined, undefined, sets)
  if (!('result' in out)) throw new Error(`refused: ${JSON.stringify(out.refused)}`)
  return session
}

/** What the Evaluate panel asks for: a sweep over α, one α applied, an evaluation at it. */
async function blendFigures(session: Session): Promise<{ sweep: Awaited<ReturnType<Session['sweep']>>; at: Metrics; evaluation: Metrics }> {
  const sweep = await session.sweep(5, () => undefined)
  const at = (await session.interpolate(0.3, false)).metrics
  const evaluation = await session.evaluate()
  await session.interpolate(1, false)
  return { sweep, at, evaluation }
}

async function compare(session: Session, names: number) {
  session.passPeers = null
  const one = await blendFigures(session)
  // Both classes predicted somewhere along the sweep: equal accuracies then say something.
  expect(one.sweep.points).toHaveLength(5)
  expect(one.at.confusion!.length).toBe(2)

  const peer = new MessagePeer()
  session.passPeers = () => [peer]
  const two = await blendFigures(session)
  expect(two).toEqual(one) // every figure of every point, bit for bit
  // Each measurement is one evaluation batch: its second half went to the replica.
  expect(peer.passes).toEqual(Array(8).fill('head')) // 5 sweep points, α = 0.3, the evaluation, α = 1 again
  // One set-up per command (the sweep, the two interpolations, the evaluation); then every weight
  // went with each of the sweep's later passes; all of them transferred (unreadable here after).
  expect(peer.setups).toBe(4)
  const carrying = peer.sent.filter((r) => r.weights > 0) // a pass right after its set-up carries none
  expect(carrying).toHaveLength(4 + 4)
  for (const r of carrying) {
    expect(r.weights).toBe(names)
    expect(r.bytes).toBeGreaterThan(0)
    expect(r.readableAfter).toBe(0)
  }

  // Tensors: a second round of the same commands leaves this thread (model, replica, blend) as the first did.
  const after = tf.memory().numTensors
  expect(await blendFigures(session)).toEqual(one)
  expect(tf.memory().numTensors).toBe(after)

  // The second worker fails at its second pass (a sweep's weights already sent to it): the
  // sweep goes on here, with the same figures.
  const failing = new MessagePeer(2)
  session.passPeers = () => [failing]
  const fell = await blendFigures(session)
  expect(fell).toEqual(one)
  expect(failing.passes.length).toBeGreaterThanOrEqual(2)
  failing.replica.dispose() // the failed worker's model (a worker of its own in the app); the copy made here for its halves went with each split
  expect(tf.memory().numTensors).toBe(after)
  peer.replica.dispose()
  return one
}

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, backend: 'wasm', batchSize: 8, epochs: 1, learningRate: 3e-3, dropout: 0, loraDropout: 0, warmupSteps: 0, earlyStopPatience: 0, plateauPatience: 0, seed: 5, ...over })

describe("the blend of base and tuned weights on two workers gives one worker's figures exactly", () => {
  it('the built-in tiny LM, fully fine-tuned on spam/ham: sweep, interpolation and evaluation', async () => {
    await tf.setBackend('wasm')
    const s = settings({ method: 'full', seqLen: 32 })
    const session = await trained(holdText(lm.loaded, 'tiny-lm'), s, lm.data)
    const held = session.current()!
    const names = held.body.params.length + (held.tuning!.head?.params.length ?? 0)
    const one = await compare(session, names)
    // the blend moves the figures: α = 0 (base body, tuned head) is not α = 1
    expect(one.sweep.points[0]!.loss).not.toBe(one.sweep.points[4]!.loss)
  }, 240_000)

  it('an image CNN classifier, LoRA: sweep, interpolation and evaluation', async () => {
    await tf.setBackend('wasm')
    const images = (n: number, seed: number): Encoded => {
      const rnd = mulberry32(seed)
      const labels = Int32Array.from({ length: n }, (_, i) => i % 2)
      // class 1 brighter on the left half: something to learn
      const pixels = Float32Array.from({ length: n * 8 * 8 * 3 }, (_, k) => rnd() - 0.5 + (labels[Math.floor(k / 192)]! && (k % 24) < 12 ? 0.8 : 0))
      return { kind: 'image', n, height: 8, width: 8, pixels, labels, classes: ['a', 'b'] }
    }
    const model = new TinyCnn({ imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 }, { channels: 8, stride: 2 }, { channels: 8, stride: 1 }] }, undefined, 3)
    const s = settings({ method: 'lora', loraRank: 2, learningRate: 3e-2, epochs: 2 })
    const session = await trained(holdCnn({ model, card: { title: 'toy cnn' }, json: {} as never }, 'toy-cnn'), s, { train: images(24, 1), val: images(30, 2) })
    const held = session.current()!
    const names = held.body.params.length + (held.tuning!.head?.params.length ?? 0) + (held.tuning!.lora?.params.length ?? 0)
    const one = await compare(session, names)
    expect(one.sweep.points[0]!.loss).not.toBe(one.sweep.points[4]!.loss)
  }, 120_000)
})
