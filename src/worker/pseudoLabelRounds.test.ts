/**
 * Self-training rounds kept in IndexedDB (engine/storage/selfTraining.ts, fake-indexeddb here;
 * the browser test e2e/pseudo-rounds.spec.ts reloads a real page): a job of two rounds on the
 * built-in LM with its real weights, "closed" after round 1 (its database as round 1 left it,
 * opened by a new host as a new worker would), restored (round 1's figures and weights come
 * back bit for bit) and continued: round 2 is the uninterrupted job's round 2.
 */
import 'fake-indexeddb/auto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import { loadTinyGpt } from '../engine/models/modelFile'
import { Session } from '../engine/session/session'
import { holdText } from '../engine/session/families/text'
import { openStudioDb, type StudioDb } from '../engine/storage/db'
import { roundWeightsId, type SelfTrainingRecord, type SelfTrainingWeights } from '../engine/storage/selfTraining'
import { stableNames } from '../engine/train/loopState'
import type { FromWorker } from './protocol'
import { PseudoLabelHost, type HeldLm } from './pseudoLabelHost'

const root = resolve(__dirname, '../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))
const file = (name: string, lines: number) => new File([readFileSync(resolve(root, 'public/samples/lm', name), 'utf8').split('\n').slice(0, lines + 1).join('\n') + '\n'], name)

let engine: Session
let view: HeldLm
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  const loaded = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
  engine = new Session({ dataset: null, facts: null, images: null, decoder: null, split: () => { throw new Error('no dataset') } })
  engine.hold(holdText(loaded, 'tiny-lm'))
  view = {
    loaded,
    get base() {
      return engine.loaded!.base ?? null
    },
    get tuning() {
      return engine.loaded!.tuning ?? null
    },
  }
}, 120_000)

/** The tuned weights the session holds, by stable name. */
async function heldWeights(): Promise<Map<string, number[]>> {
  const held = engine.loaded!
  const names = stableNames(held.body, held.tuning!.parts)
  const out = new Map<string, number[]>()
  for (const [v, n] of names) if (n.startsWith('tuning/')) out.set(n, Array.from(await v.data()))
  return out
}

const roundsOf = (events: FromWorker[]) => events.filter((e): e is Extract<FromWorker, { type: 'pseudoRound' }> => e.type === 'pseudoRound').map((e) => e.round)

it('a job closed after round 1 of 2 comes back with round 1\u2019s figures and weights, and its continued round 2 is the uninterrupted job\u2019s', async () => {
  const settings = { ...DEFAULTS, method: 'head' as const, epochs: 3, learningRate: 0.01, batchSize: 16, seqLen: 32, warmupSteps: 0, seed: 42 }
  const classes = ['sea', 'government']
  const unlabelled = () => file('sea-or-government-unlabelled.csv', 64)
  const validation = () => file('sea-or-government-validation.csv', 40)

  // The uninterrupted job; the database as round 1 left it is read when round 1 is announced
  // (the round is kept before the page hears of it).
  const dbA = await openStudioDb('rounds-a')
  let afterRound1: Promise<[SelfTrainingRecord | undefined, SelfTrainingWeights | undefined]> | null = null
  const eventsA: FromWorker[] = []
  const hostA = new PseudoLabelHost((e) => {
    eventsA.push(e)
    if (e.type === 'pseudoRound' && e.round.round === 1) afterRound1 = Promise.all([dbA.get('selfTraining', 'job'), dbA.get('selfTrainingWeights', roundWeightsId('job', 1))])
  }, view, engine, async () => {}, async () => dbA)
  await hostA.handle({ type: 'pseudoLabel', file: unlabelled(), validation: validation(), classes })
  await hostA.handle({ type: 'pseudoTrain', runId: 'job', settings, threshold: 0.5, rounds: 2, balance: true })
  const whole = roundsOf(eventsA)
  expect(whole.map((r) => r.round)).toEqual([1, 2])
  const [record1, weights1] = await afterRound1!
  expect(record1!.finished.map((r) => r.round)).toEqual([1])
  expect(record1!.next).not.toBeNull()
  expect(record1!.finished[0]).toMatchObject(whole[0]!)
  const saved = eventsA.filter((e): e is Extract<FromWorker, { type: 'pseudoSaved' }> => e.type === 'pseudoSaved').at(-1)!
  expect(saved.jobs.map((j) => [j.name, j.roundsDone, j.rounds])).toEqual([['sea-or-government-unlabelled.csv', 2, 2]])

  // The tab closed after round 1: a new worker (host) over that database, the session's model
  // back at its base weights with no tuning.
  const dbB: StudioDb = await openStudioDb('rounds-b')
  await dbB.put('selfTraining', record1!)
  await dbB.put('selfTrainingWeights', weights1!)
  engine.loaded!.tuning?.dispose()
  engine.loaded!.tuning = null
  const eventsB: FromWorker[] = []
  const hostB = new PseudoLabelHost((e) => void eventsB.push(e), view, engine, async () => {}, async () => dbB)
  await hostB.handle({ type: 'pseudoSaved' })
  expect(eventsB.find((e) => e.type === 'pseudoSaved')).toMatchObject({ jobs: [{ id: 'job', roundsDone: 1, rounds: 2, classes }] })
  await hostB.handle({ type: 'pseudoRestore', id: 'job' })
  const restored = eventsB.find((e): e is Extract<FromWorker, { type: 'pseudoRestored' }> => e.type === 'pseudoRestored')!
  expect(restored.rounds).toEqual([whole[0]])
  expect(restored.next).toBe(2)
  expect(restored.summary.rows).toBe(64)
  // Round 1's head, bit for bit, as the session's tuned model.
  const got = await heldWeights()
  expect([...got.keys()].sort()).toEqual(weights1!.weights.map((w) => w.name).sort())
  for (const w of weights1!.weights) expect(got.get(w.name), w.name).toEqual(Array.from(new Float32Array(w.data)))

  // Continued: round 2 only, on the kept labels, equal to the uninterrupted job's round 2.
  await hostB.handle({ type: 'pseudoTrain', runId: 'job-2', settings: { ...settings, seed: 7 }, threshold: 0.9, rounds: 5, balance: false, resume: 'job' })
  expect(roundsOf(eventsB)).toEqual([whole[1]])
  const done = eventsB.filter((e) => e.type === 'done')
  expect(done).toHaveLength(1)
  const final = await dbB.get('selfTraining', 'job')
  expect(final!.finished.map((r) => r.round)).toEqual([1, 2])
  expect(final!.next).toBeNull()
  await expect(hostB.handle({ type: 'pseudoTrain', runId: 'job-3', settings, threshold: 0.5, rounds: 2, balance: true, resume: 'job' })).rejects.toThrow(/All 2 self-training rounds of sea-or-government-unlabelled.csv are done/)
  dbA.close()
  dbB.close()
}, 600_000)
