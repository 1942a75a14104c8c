/**
 * More than two engine workers (dataParallel.ts with several other workers): every batch and every
 * inference pass shared among them in row order, as evenly as it goes (shareRows.ts). Built-in
 * text transformer, real spam/ham sample, wasm backend, each other worker an in-thread replica
 * behind structured clones with the app's transfer lists (worker/gradientPeer.ts).
 *
 * Expected values, none from the code under test:
 * - the shares and a label pass's picks, worked out by hand;
 * - a run on 3 or 4 workers against the same run on one worker (fineTune without a split): with
 *   dropout off they differ only in the order float32 sums run, so, as dataParallel.test.ts
 *   explains, epoch losses within 1e-4, every weight within 2·lr·steps, the mean weight gap under
 *   1e-6;
 * - a run that loses workers against the run on as many workers that kept them: bit for bit (the
 *   lost worker's share is computed here from the same rows, seed and weights, and combined in
 *   the same order).
 */
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { benchSwitch } from '../benchSwitches'
import { GradientReplica, halfResultTransfer, halfTransfer, inferTransfer, recentSteps, type GradientPeer, type HalfRequest, type HalfResult, type InferRequest, type InferResult, type ReplicaSetup } from './dataParallel'
import { fineTune, Tuning } from './fineTune'
import { joinOutputs, splitPass, type InferPass } from './inferencePasses'
import { RunControl } from './runControl'
import { shareSizes } from './shareRows'
import { differingBits } from './tinyLmSpamHamFixture'
import { tinyLmOnSpamHamFiles } from './tinyLmSpamHam.testSetup'

// 34 training rows: 4 batches of 8 and a last one of 2 an epoch (on 4 workers: 1 + 1 + 0 + 0).
const lm = tinyLmOnSpamHamFiles({ train: 34, val: 10 })
// 33: a last batch of one row.
const odd = tinyLmOnSpamHamFiles({ train: 33, val: 10 })

afterEach(() => {
  benchSwitch.transferredArrays = false
})

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, batchSize: 8, epochs: 2, seqLen: 32, learningRate: 1e-3, dropout: 0, loraDropout: 0, backend: 'wasm', method: 'full', ...over })

/** Another engine worker as worker/gradientPeer.ts posts to it: each request and answer
 *  structured-cloned with the app's transfer lists; `failAt`: its n-th request (a half or a
 *  pass) goes, then the worker is lost. */
class MessagePeer implements GradientPeer {
  readonly replica = new GradientReplica()
  requests = 0
  /** Rows of each half it was asked for. */
  readonly rows: number[] = []
  constructor(private readonly failAt = -1) {}
  async setup(s: ReplicaSetup) {
    await this.replica.setup(structuredClone(s))
  }
  async half(r: HalfRequest): Promise<HalfResult> {
    const sent = structuredClone(r, { transfer: halfTransfer(r) })
    if (++this.requests === this.failAt) throw new Error('a worker stopped (out of memory)')
    this.rows.push(Object.values(sent.batch)[0]!.shape[0]!)
    const out = await this.replica.half(sent)
    return structuredClone(out, { transfer: halfResultTransfer(out) })
  }
  async infer(r: InferRequest): Promise<InferResult> {
    const sent = structuredClone(r, { transfer: inferTransfer(r) })
    if (++this.requests === this.failAt) throw new Error('a worker stopped (out of memory)')
    return structuredClone(await this.replica.infer(sent))
  }
}

async function run(s: Settings, peers: readonly GradientPeer[] | null, fixture = lm) {
  const lm = fixture
  const model = lm.loaded.model
  model.params.forEach((p, i) => p.variable.assign(lm.base[i]!))
  const tuning = new Tuning(model, s, 2)
  const epochs: { train: number; val: number; acc: number }[] = []
  const lost: { message: string; count: unknown }[] = []
  const plan: (string | null)[] = []
  await fineTune(model, tuning, lm.data, s, new RunControl(), { onEpoch: (e) => void epochs.push({ train: e.train.loss, val: e.val.loss, acc: e.val.accuracy ?? NaN }) }, undefined, peers ? { peer: peers, onPlan: (w) => plan.push(w), onPeerLost: (message, count) => lost.push({ message, count }) } : undefined)
  const weights = await Promise.all([...model.params.map((p) => p.variable), ...(tuning.head?.params ?? []).map((p) => p.variable), ...(tuning.lora?.params ?? []).map((p) => p.variable)].map(async (v) => ((await v.data()) as Float32Array).slice()))
  tuning.dispose()
  for (const p of peers ?? []) (p as MessagePeer).replica.dispose()
  return { epochs, lost, plan, weights }
}

function weightGap(a: Float32Array[], b: Float32Array[]): { max: number; mean: number } {
  let max = 0
  let sum = 0
  let n = 0
  a.forEach((x, i) =>
    x.forEach((v, k) => {
      const d = Math.abs(v - b[i]![k]!)
      max = Math.max(max, d)
      sum += d
      n++
    }),
  )
  return { max, mean: sum / n }
}

/** The split run trained as the one-worker run, within float rounding (see the file's note). */
function expectAsOneWorker(one: Awaited<ReturnType<typeof run>>, split: Awaited<ReturnType<typeof run>>, s: Settings, steps: number): void {
  expect(split.plan).toEqual([null])
  expect(split.lost).toEqual([])
  expect(split.epochs).toHaveLength(one.epochs.length)
  split.epochs.forEach((e, i) => {
    expect(Math.abs(e.train - one.epochs[i]!.train), `epoch ${i + 1} training loss`).toBeLessThan(1e-4)
    expect(Math.abs(e.val - one.epochs[i]!.val), `epoch ${i + 1} validation loss`).toBeLessThan(1e-4)
    expect(e.acc).toBe(one.epochs[i]!.acc)
  })
  const gap = weightGap(one.weights, split.weights)
  expect(gap.max).toBeLessThanOrEqual(2 * s.learningRate * steps)
  expect(gap.mean).toBeLessThan(1e-6)
}

describe('shares of a batch among more than two workers', () => {
  it('are as even as they go, the first ones longer, in row order; two workers keep ceil(n/2) + floor(n/2)', () => {
    expect(shareSizes(16, 3)).toEqual([6, 5, 5])
    expect(shareSizes(7, 4)).toEqual([2, 2, 2, 1])
    expect(shareSizes(2, 4)).toEqual([1, 1, 0, 0])
    expect(shareSizes(8, 1)).toEqual([8])
    for (let n = 1; n < 10; n++) expect(shareSizes(n, 2)).toEqual([Math.ceil(n / 2), Math.floor(n / 2)])
    expect(() => shareSizes(4, 0)).toThrow(/among 0 workers/)
  })

  it("a label pass's picks go with their rows, counted from the share's first row; the outputs join in order", () => {
    // 5 rows of 3 tokens; picks are flat row·3 + position: rows 0, 1, 1, 3, 4.
    const pass: InferPass = { kind: 'labelLogProbs', tokens: { shape: [5, 3], dtype: 'int32', data: Int32Array.from({ length: 15 }, (_, i) => 100 + i) }, picks: Int32Array.from([1, 4, 5, 10, 14]), targets: Int32Array.from([7, 8, 9, 10, 11]) }
    const parts = splitPass(pass, [2, 2, 1])
    const seen = parts.map((p) => (p.kind === 'labelLogProbs' ? { rows: p.tokens.shape, first: p.tokens.data[0], picks: [...p.picks], targets: [...p.targets] } : null))
    expect(seen).toEqual([
      { rows: [2, 3], first: 100, picks: [1, 4, 5], targets: [7, 8, 9] },
      { rows: [2, 3], first: 106, picks: [4], targets: [10] },
      { rows: [1, 3], first: 112, picks: [2], targets: [11] },
    ])
    const joined = joinOutputs([
      { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      { shape: [1, 2], data: Float32Array.from([5, 6]) },
    ])
    expect(joined.shape).toEqual([3, 2])
    expect([...joined.data]).toEqual([1, 2, 3, 4, 5, 6])
  })
})

describe('a run on more than two workers trains as one worker does', () => {
  it('full fine-tuning on 3 workers through the shared regions: 8 rows as 3 + 3 + 2, the last 2 as 1 + 1 + 0', async () => {
    const s = settings({})
    const one = await run(s, null)
    const peers = [new MessagePeer(), new MessagePeer()]
    const three = await run(s, peers)
    expectAsOneWorker(one, three, s, 10)
    // Each epoch: 4 batches of 8, then 2 rows (1 here, 1 on the first other worker, none on the second).
    expect(peers[0]!.rows).toEqual([3, 3, 3, 3, 1, 3, 3, 3, 3, 1])
    expect(peers[1]!.rows).toEqual([2, 2, 2, 2, 2, 2, 2, 2]) // no request for a share of no rows
    expect(recentSteps.at(-2)!.shares).toEqual([3, 3, 2])
    expect(recentSteps.at(-1)!.shares).toEqual([1, 1, 0])
    expect(recentSteps.at(-1)!.shared).toBe(true)
  })

  it('full fine-tuning on 4 workers with transferred arrays: a worker that sat out the last batch is given every weight after', async () => {
    benchSwitch.transferredArrays = true
    const s = settings({})
    const one = await run(s, null)
    const peers = [new MessagePeer(), new MessagePeer(), new MessagePeer()]
    const four = await run(s, peers)
    expectAsOneWorker(one, four, s, 10)
    // The last batch (2 rows) goes to the first two workers only; the third and fourth train on from the next epoch.
    expect(peers.map((p) => p.rows)).toEqual([
      [2, 2, 2, 2, 1, 2, 2, 2, 2, 1],
      [2, 2, 2, 2, 2, 2, 2, 2],
      [2, 2, 2, 2, 2, 2, 2, 2],
    ])
  })

  it('the first two blocks frozen, on 3 workers: the feature cache and evaluation passes are shared too', async () => {
    const s = settings({ method: 'freeze', freezeFirst: 2 })
    const one = await run(s, null)
    const three = await run(s, [new MessagePeer(), new MessagePeer()])
    expectAsOneWorker(one, three, s, 10)
  })

  it('workers lost one after another: each share is computed here from then on, and the run ends bit for bit as the run that kept them', async () => {
    for (const transferred of [false, true]) {
      benchSwitch.transferredArrays = transferred
      const s = settings({})
      const kept = await run(s, [new MessagePeer(), new MessagePeer(), new MessagePeer()])
      // The third worker fails at its 3rd request, the first at its 7th: later, with the third's
      // share already computed here (the replica here is then given only the changes).
      const lossy = await run(s, [new MessagePeer(7), new MessagePeer(), new MessagePeer(3)])
      expect(lossy.lost.map((l) => l.count), transferred ? 'transferred' : 'shared').toEqual([
        { lost: 1, workers: 4 },
        { lost: 2, workers: 4 },
      ])
      expect(lossy.epochs).toEqual(kept.epochs)
      expect(differingBits(kept.weights, lossy.weights), 'weights that differ in any bit').toBe(0)
    }
  })

  it('two workers, a last batch of one row: all of it here, no empty half sent', async () => {
    // Before, the other worker was sent a half of no rows, which failed in its forward pass
    // ("StudioSplitHeads: … B = 0"), and so did the same half recomputed here: the run ended on
    // that message whenever the training rows were one more than a multiple of the batch.
    const s = settings({ epochs: 1 })
    const one = await run(s, null, odd)
    const peer = new MessagePeer()
    const two = await run(s, [peer], odd)
    expectAsOneWorker(one, two, s, 5)
    expect(peer.rows).toEqual([4, 4, 4, 4])
  })
})
