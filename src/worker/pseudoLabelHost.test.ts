/**
 * Learning without labels end to end in the worker's host (the page's path), on the built-in
 * LM with its real weights, the shipped passages and the shipped e-mails. On the e-mails: the
 * zero-shot labels of the unlabelled e-mails, class-balanced rows above a confidence threshold
 * training a classifier through the loop, a second round re-labelling with it, and each round
 * scored on the labelled validation e-mails beside the zero-shot labels.
 *
 * On the shipped passages (sea or government), tuning the model's own label scores with LoRA
 * beats the zero-shot labels it starts from (first test). On the e-mails it does not, and the
 * head test below makes no such claim: measured 2026-12-06 (wasm),
 * zero-shot 60.5 % on the 200 labelled e-mails; with each round's epoch chosen on held-out
 * pseudo-labels (not on the labelled e-mails, which only score it), round 1 at threshold 0.57
 * scored 56.0 % and round 2 55.5 % (choosing on the labelled e-mails had shown 58-62 %, a
 * figure picked on the data it was reported on). This 1 M-parameter LM's
 * zero-shot spam/ham labels are barely better than chance and its confidences sit between
 * 0.5 and 0.6, so the confident rows are not clean enough to teach a better classifier.
 *
 * Last: a job of two rounds kept in IndexedDB, closed after round 1, restored and continued.
 */
import 'fake-indexeddb/auto'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import { loadTinyGpt } from '../engine/models/modelFile'
import { resetWeights } from '../engine/tuning/interpolate'
import { Session } from '../engine/session/session'
import { holdText } from '../engine/session/families/text'
import { parseCsvText } from '../engine/data/csv'
import { thresholdForShare, zeroShotPseudoLabels } from '../engine/tasks/pseudoLabel/pseudoLabel'
import { openStudioDb, type StudioDb } from '../engine/storage/db'
import { roundWeightsId, type SelfTrainingRecord, type SelfTrainingWeights } from '../engine/storage/selfTraining'
import { stableNames } from '../engine/train/loopState'
import type { FromWorker } from './protocol'
import { PseudoLabelHost, type HeldLm } from './pseudoLabelHost'

const root = resolve(__dirname, '../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))
const file = (name: string, lines?: number) => {
  const text = readFileSync(resolve(root, 'public/samples/lm', name), 'utf8')
  return new File([lines ? text.split('\n').slice(0, lines + 1).join('\n') + '\n' : text], name)
}

// The engine session as the worker holds it (no dataset: these runs train on the sets each
// round encodes), holding the built-in LM; the host reads it through the handler's view.
let engine: Session
let session: HeldLm
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  const loaded = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
  engine = new Session({ dataset: null, facts: null, images: null, decoder: null, split: () => { throw new Error('no dataset') } })
  engine.hold(holdText(loaded, 'tiny-lm'))
  session = {
    loaded,
    get base() {
      return engine.loaded!.base ?? null
    },
    get tuning() {
      return engine.loaded!.tuning ?? null
    },
  }
}, 120_000)

describe('learning without labels (pseudoLabelHost)', () => {
  it('self-training the model\'s own label scores (LoRA) beats the zero-shot labels it starts from on the shipped passages (sea or government)', async () => {
    // The validation file's truth, counted here: 200 passages, half of each class.
    const valText = readFileSync(resolve(root, 'public/samples/lm/sea-or-government-validation.csv'), 'utf8')
    const valRows = parseCsvText(valText).records.slice(1).map((r) => ({ text: r.cells[0]!, label: r.cells[1]!.trim() }))
    expect(valRows.length).toBe(200)
    expect(valRows.filter((r) => r.label === 'sea').length).toBe(100)
    const classes = ['sea', 'government']
    // The zero-shot labels' accuracy by a path of its own: the base model scores the validation
    // texts (BOS + 31 tokens, as the host reads them) and the right ones are counted here.
    if (session.base) resetWeights(session.loaded!.model, session.base)
    const tok = session.loaded!.tokenizer
    const zs = await zeroShotPseudoLabels(session.loaded!.model, tok, valRows.map((r) => [tok.bosId, ...tok.encode(r.text).slice(0, 31)]), classes, { maxTextTokens: 32 })
    const zeroShotRight = valRows.filter((r, i) => classes[zs.labels[i]!] === r.label).length
    const events: FromWorker[] = []
    const host = new PseudoLabelHost((e) => events.push(e), session, engine, async () => {})
    await host.handle({ type: 'pseudoLabel', file: file('sea-or-government-unlabelled.csv'), validation: file('sea-or-government-validation.csv'), classes })
    const labelled = events.find((e): e is Extract<FromWorker, { type: 'pseudoLabels' }> => e.type === 'pseudoLabels')!.summary
    expect(labelled.rows).toBe(400)
    expect(labelled.zeroShotAccuracy).toBeCloseTo(zeroShotRight / 200, 10)
    // The threshold keeps the most confident quarter of the unlabelled rows (their own
    // confidences, as the page's slider would), balanced per class; never the labelled file.
    const threshold = thresholdForShare({ ...labelled, probs: new Float32Array(0) }, 0.25)
    const settings = { ...DEFAULTS, method: 'lora' as const, epochs: 3, learningRate: 0.002, batchSize: 16, seqLen: 32, warmupSteps: 0, dropout: 0, seed: 42 }
    const t0 = Date.now()
    await host.handle({ type: 'pseudoTrain', runId: 'pl-lm', settings, threshold, rounds: 3, balance: true })
    const rounds = events.filter((e): e is Extract<FromWorker, { type: 'pseudoRound' }> => e.type === 'pseudoRound').map((e) => e.round)
    console.log(`sea or government: zero-shot ${(100 * labelled.zeroShotAccuracy!).toFixed(1)} % on 200 labelled passages; threshold ${threshold.toFixed(3)}; ${rounds.map((r) => `round ${r.round}: kept ${r.kept} (${r.keptPerClass.join('/')}), accuracy ${(100 * r.validationAccuracy!).toFixed(1)} %`).join('; ')} in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
    expect(rounds.map((r) => r.round)).toEqual([1, 2, 3])
    expect(rounds[0]!.keptPerClass[0]).toBe(rounds[0]!.keptPerClass[1]) // balanced
    // Measured 2026-12-06 (wasm): zero-shot 86.0 %, rounds 85.5 / 88.5 / 87.5 % (seed 42; round 1
    // alone does not beat it); with seeds 7 and 1 (threshold 0.776) the last round scored 88.0
    // and 87.0 %. A gain of 2 to 4 passages in 200: small, and the settings were picked among
    // about ten tried. The last round must beat zero-shot.
    expect(rounds.at(-1)!.validationAccuracy! * 200).toBeGreaterThan(zeroShotRight)
  }, 900_000)

  it('labels 400 e-mails zero-shot, trains two class-balanced self-training rounds through the loop and scores each on the labelled e-mails', async () => {
    const events: FromWorker[] = []
    const host = new PseudoLabelHost((e) => events.push(e), session, engine, async () => {})
    await host.handle({ type: 'pseudoLabel', file: file('spam-ham-unlabelled.csv'), validation: file('spam-ham-unlabelled-validation.csv'), classes: ['spam', 'ham'] })
    const labelled = events.find((e): e is Extract<FromWorker, { type: 'pseudoLabels' }> => e.type === 'pseudoLabels')!.summary
    expect(labelled.rows).toBe(400)
    expect(labelled.histogram.reduce((n, b) => n + b.count, 0)).toBe(400)
    const zeroShot = labelled.zeroShotAccuracy!
    expect(zeroShot).toBeGreaterThan(0)
    expect(zeroShot).toBeLessThan(1)
    const threshold = 0.57
    const kept = labelled.confidence.filter((c) => c >= threshold).length
    const spam = labelled.confidence.filter((c, i) => c >= threshold && labelled.labels[i] === 0).length
    const balanced = 2 * Math.min(spam, kept - spam)
    const settings = { ...DEFAULTS, method: 'head' as const, epochs: 20, learningRate: 0.01, batchSize: 16, seqLen: 32, warmupSteps: 0 }
    const t0 = Date.now()
    await host.handle({ type: 'pseudoTrain', runId: 'pl', settings, threshold, rounds: 2, balance: true })
    const rounds = events.filter((e): e is Extract<FromWorker, { type: 'pseudoRound' }> => e.type === 'pseudoRound').map((e) => e.round)
    console.log(`zero-shot accuracy ${(100 * zeroShot).toFixed(1)} % on 200 labelled e-mails; threshold ${threshold.toFixed(3)}; ${rounds.map((r) => `round ${r.round}: kept ${r.kept} (${r.keptPerClass.join('/')}), accuracy ${(100 * r.validationAccuracy!).toFixed(1)} %`).join('; ')} in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
    expect(events.some((e) => e.type === 'done')).toBe(true)
    expect(rounds.map((r) => r.round)).toEqual([1, 2])
    // Round 1 keeps the confident rows, balanced: as many of each class as the smaller class has.
    expect(rounds[0]!.kept).toBe(balanced)
    expect(rounds[0]!.keptPerClass).toEqual([balanced / 2, balanced / 2])
    // Each round's classifier, trained on pseudo-labels only and chosen on held-out pseudo-labels,
    // must know something real: on the labelled e-mails it beats always answering the larger
    // class (counted here from the file). It is not asserted to beat zero-shot: it does not
    // (zero-shot 60.5 %, rounds 56.0 / 55.5 % when measured), and the README says so.
    const truth = readFileSync(resolve(root, 'public/samples/lm/spam-ham-unlabelled-validation.csv'), 'utf8').trim().split('\n').slice(1)
    const spamShare = truth.filter((l) => l.endsWith(',spam')).length / truth.length
    const majority = Math.max(spamShare, 1 - spamShare)
    expect(truth.length).toBe(200)
    for (const r of rounds) expect(r.validationAccuracy).toBeGreaterThan(majority)
  }, 900_000)

  // Measured 2026-12-06 (wasm) with 20 labelled rows: rounds 1/2 at threshold 0.57 scored
  // 64.5 / 66.5 % against zero-shot 60.5 %, but a classifier on the 20 labelled rows
  // alone (threshold 1) scored 72.5 %: here the pseudo-labels add noise, not knowledge.
  it('a handful of labelled rows in the file are kept as given, with confidence 1, in every round', async () => {
    // 10 spam and 10 ham e-mails of spam-ham.csv (in neither shipped e-mail file here), labelled; the 400 others blank.
    const small = readFileSync(resolve(root, 'public/samples/spam-ham.csv'), 'utf8').trim().split('\n').slice(1)
    const pick = (label: string) => small.filter((l) => l.endsWith(`,${label}`)).slice(0, 10)
    const given = [...pick('spam'), ...pick('ham')]
    const unl = readFileSync(resolve(root, 'public/samples/lm/spam-ham-unlabelled.csv'), 'utf8').trim().split('\n').slice(1)
    const csv = ['text,label', ...given, ...unl.map((l) => `${l},`)].join('\n') + '\n'
    const events: FromWorker[] = []
    const host = new PseudoLabelHost((e) => events.push(e), session, engine, async () => {})
    await host.handle({ type: 'pseudoLabel', file: new File([csv], 'some-labelled.csv'), validation: file('spam-ham-unlabelled-validation.csv'), classes: ['spam', 'ham'] })
    const labelled = events.find((e): e is Extract<FromWorker, { type: 'pseudoLabels' }> => e.type === 'pseudoLabels')!.summary
    expect(labelled.rows).toBe(given.length + 400)
    expect(labelled.labelledRows).toBe(given.length)
    given.forEach((l, i) => {
      expect(labelled.confidence[i]).toBe(1)
      expect(labelled.classes[labelled.labels[i]!]).toBe(l.endsWith(',spam') ? 'spam' : 'ham')
    })
    const threshold = 0.57
    const settings = { ...DEFAULTS, method: 'head' as const, epochs: 20, learningRate: 0.01, batchSize: 16, seqLen: 32, warmupSteps: 0 }
    await host.handle({ type: 'pseudoTrain', runId: 'pl2', settings, threshold, rounds: 2, balance: true })
    const rounds = events.filter((e): e is Extract<FromWorker, { type: 'pseudoRound' }> => e.type === 'pseudoRound').map((e) => e.round)
    console.log(`with ${given.length} labelled rows: zero-shot ${(100 * labelled.zeroShotAccuracy!).toFixed(1)} %; ${rounds.map((r) => `round ${r.round}: kept ${r.kept} (${r.keptPerClass.join('/')}), accuracy ${(100 * r.validationAccuracy!).toFixed(1)} %`).join('; ')}`)
    expect(rounds.length).toBeGreaterThan(0)
  }, 900_000)
})

describe('labelling puts the held weights back (the zero-shot labels come from the base model)', () => {
  it('after a full-method round, labelling another file leaves the round\u2019s weights held, not the base model\u2019s', async () => {
    const events: FromWorker[] = []
    const host = new PseudoLabelHost((e) => events.push(e), session, engine, async () => {})
    await host.handle({ type: 'pseudoLabel', file: file('spam-ham-unlabelled.csv', 64), classes: ['spam', 'ham'] })
    // One real round of full fine-tuning through the loop: it changes the model's own weights.
    const settings = { ...DEFAULTS, method: 'full' as const, epochs: 1, learningRate: 0.003, batchSize: 16, seqLen: 32, warmupSteps: 0, dropout: 0 }
    await host.handle({ type: 'pseudoTrain', runId: 'pl-full', settings, threshold: 0, rounds: 1, balance: false })
    expect(roundsOf(events).map((r) => r.round)).toEqual([1])
    const model = session.loaded!.model
    const read = async () => Promise.all(model.params.map(async (p) => Array.from(await p.variable.data())))
    const afterRound = await read()
    const base = session.base!
    const baseValues = await Promise.all(model.params.map(async (p) => Array.from(await base.get(p.name)!.data())))
    const changed = afterRound.filter((v, i) => v.some((x, k) => x !== baseValues[i]![k])).length
    expect(changed).toBeGreaterThan(0) // the round did change the body: the check below means something
    await host.handle({ type: 'pseudoLabel', file: file('sea-or-government-unlabelled.csv', 40), classes: ['sea', 'government'] })
    expect(events.filter((e) => e.type === 'pseudoLabels')).toHaveLength(2)
    // Counted, not compared with toEqual: a diff of a million numbers would take minutes to print.
    const now = await read()
    const moved = now.filter((v, i) => v.some((x, k) => x !== afterRound[i]![k])).length
    expect(moved).toBe(0)
  }, 300_000)
})

/** The tuned weights the session holds, by stable name. */
async function heldWeights(): Promise<Map<string, number[]>> {
  const held = engine.loaded!
  const names = stableNames(held.body, held.tuning!.parts)
  const out = new Map<string, number[]>()
  for (const [v, n] of names) if (n.startsWith('tuning/')) out.set(n, Array.from(await v.data()))
  return out
}

const roundsOf = (events: FromWorker[]) => events.filter((e): e is Extract<FromWorker, { type: 'pseudoRound' }> => e.type === 'pseudoRound').map((e) => e.round)

describe('self-training rounds kept in IndexedDB (engine/storage/selfTraining.ts; fake-indexeddb here, the browser test e2e/pseudo-rounds.spec.ts reloads a real page)', () => {
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
    }, session, engine, async () => {}, async () => dbA)
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
    const hostB = new PseudoLabelHost((e) => void eventsB.push(e), session, engine, async () => {}, async () => dbB)
    await hostB.handle({ type: 'pseudoSaved' })
    expect(eventsB.find((e) => e.type === 'pseudoSaved')).toMatchObject({ jobs: [{ id: 'job', roundsDone: 1, rounds: 2, classes }] })
    await hostB.handle({ type: 'pseudoRestore', id: 'job' })
    const restored = eventsB.find((e): e is Extract<FromWorker, { type: 'pseudoRestored' }> => e.type === 'pseudoRestored')!
    expect(restored.rounds).toEqual([whole[0]])
    expect(restored.next).toBe(2)
    expect(restored.summary.rows).toBe(64)
    // Round 1's charts as the page drew them live: its step and epoch events (those before the
    // first pseudoRound), losses to Float32, and the line to beat it measured.
    const round1 = eventsA.slice(0, eventsA.findIndex((e) => e.type === 'pseudoRound'))
    const liveSteps = round1.filter((e): e is Extract<FromWorker, { type: 'step' }> => e.type === 'step')
    const liveEpochs = round1.filter((e): e is Extract<FromWorker, { type: 'epoch' }> => e.type === 'epoch')
    expect(liveSteps.length).toBeGreaterThan(0) // one a reporting window of about a quarter second: how many depends on the speed
    expect(liveEpochs.length).toBe(3)
    expect(restored.charts.steps.map((p) => [p.step, p.loss, p.lr])).toEqual(liveSteps.map((e) => [e.step, Math.fround(e.loss), Math.fround(e.lr)]))
    expect(restored.charts.epochs.map((p) => [p.epoch, p.trainLoss, p.valLoss, p.valAcc])).toEqual(liveEpochs.map((e) => [e.epoch + 1, e.train.loss, e.val.loss, 100 * e.val.accuracy!]))
    const liveBase = round1.find((e): e is Extract<FromWorker, { type: 'baseline' }> => e.type === 'baseline')!
    expect(restored.charts.baseline).toEqual({ metrics: liveBase.metrics, note: liveBase.note, name: liveBase.name })
    // what the job takes: at least round 1's weights
    const listed = eventsB.find((e): e is Extract<FromWorker, { type: 'pseudoSaved' }> => e.type === 'pseudoSaved')!
    expect(listed.jobs[0]!.bytes).toBeGreaterThan(weights1!.weights.reduce((n, w) => n + w.data.byteLength, 0))
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

  it('a Stop while the job switches its backend, before round 1 starts, stops round 1 as it starts', async () => {
    const settings = { ...DEFAULTS, method: 'head' as const, epochs: 3, learningRate: 0.01, batchSize: 16, seqLen: 32, warmupSteps: 0, seed: 42 }
    const db = await openStudioDb('rounds-stop-early')
    const events: FromWorker[] = []
    let switching: (() => void) | null = null
    let slow = false
    const host = new PseudoLabelHost((e) => void events.push(e), session, engine, () => (slow ? new Promise<void>((r) => (switching = r)) : Promise.resolve()), async () => db)
    await host.handle({ type: 'pseudoLabel', file: file('sea-or-government-unlabelled.csv', 64), classes: ['sea', 'government'] })
    slow = true
    const job = host.handle({ type: 'pseudoTrain', runId: 'job-e', settings, threshold: 0.5, rounds: 2, balance: true })
    await new Promise((r) => setTimeout(r, 0))
    expect(switching, 'the job waits for its backend').not.toBeNull()
    expect(host.stop('job-e')).toBe(true) // the session has no run: the handler routes the Stop here
    switching!()
    await job
    expect(roundsOf(events).map((r) => [r.round, r.notKept])).toEqual([[1, 'stopped']])
    const done = events.filter((e): e is Extract<FromWorker, { type: 'done' }> => e.type === 'done')
    expect(done.map((d) => d.reason)).toEqual(['stopped'])
    expect(await db.get('selfTraining', 'job-e')).toBeUndefined()
    db.close()
  }, 600_000)

  it('a stopped round is not kept, and says so: the finished rounds stay saved and the stopped one can be trained again', async () => {
    const settings = { ...DEFAULTS, method: 'head' as const, epochs: 3, learningRate: 0.01, batchSize: 16, seqLen: 32, warmupSteps: 0, seed: 42 }
    const classes = ['sea', 'government']
    const db = await openStudioDb('rounds-stop')
    // Stop as round 1 is announced: the host is re-labelling the texts for round 2 then (the
    // session has no run), so round 2 stops as it starts.
    const events: FromWorker[] = []
    let stopAnswered: boolean | null = null
    const host = new PseudoLabelHost((e) => {
      events.push(e)
      if (e.type === 'pseudoRound' && e.round.round === 1) stopAnswered = host.stop('job-s')
    }, session, engine, async () => {}, async () => db)
    expect(host.stop('job-s')).toBe(false) // no such job yet
    await host.handle({ type: 'pseudoLabel', file: file('sea-or-government-unlabelled.csv', 64), validation: file('sea-or-government-validation.csv', 40), classes })
    await host.handle({ type: 'pseudoTrain', runId: 'job-s', settings, threshold: 0.5, rounds: 3, balance: true })
    expect(stopAnswered).toBe(true)
    const rounds = roundsOf(events)
    expect(rounds.map((r) => [r.round, r.notKept])).toEqual([[1, undefined], [2, 'stopped']])
    const done = events.filter((e): e is Extract<FromWorker, { type: 'done' }> => e.type === 'done')
    expect(done.map((d) => d.reason)).toEqual(['stopped'])
    expect(done[0]!.message).toContain(`Round 2 was stopped before its end, so it is not kept in this browser. Round 1 stays saved (Saved self-training); "Continue with round 2" trains it again on round 1's labels.`)
    expect(events.find((e) => e.type === 'pseudoStopped')).toEqual({ type: 'pseudoStopped', runId: 'job-s', id: 'job-s', next: 2, settings })
    const kept = await db.get('selfTraining', 'job-s')
    expect(kept!.finished.map((r) => r.round)).toEqual([1])
    expect(kept!.next).not.toBeNull()
    expect(await db.getAllKeys('selfTrainingWeights')).toEqual([roundWeightsId('job-s', 1)])
    // …and continuing trains round 2 (and 3) on round 1's labels, without a restore in between
    await host.handle({ type: 'pseudoTrain', runId: 'job-s2', settings, threshold: 0.5, rounds: 3, balance: true, resume: 'job-s' })
    expect(roundsOf(events).slice(2).map((r) => [r.round, r.notKept])).toEqual([[2, undefined], [3, undefined]])
    expect((await db.get('selfTraining', 'job-s'))!.finished.map((r) => r.round)).toEqual([1, 2, 3])

    // Kept weights that no longer fit the model (a damaged store, another version's): the restore
    // sets the model back to its base weights and says so before it fails, so the page does not
    // go on describing the weights held before; nothing tuned is held.
    const kept3 = (await db.get('selfTrainingWeights', roundWeightsId('job-s', 3)))!
    await db.put('selfTrainingWeights', { ...kept3, weights: kept3.weights.map((t, i) => (i === 0 ? { ...t, shape: [...t.shape, 2] } : t)) })
    events.length = 0
    await expect(host.handle({ type: 'pseudoRestore', id: 'job-s' })).rejects.toThrow(/is \[[\d,]+\] in the checkpoint but/)
    expect(events.filter((e) => e.type === 'weightsReset')).toEqual([{ type: 'weightsReset' }])
    expect(events.find((e) => e.type === 'pseudoRestored')).toBeUndefined()
    expect(engine.loaded!.tuning).toBeNull()
    db.close()
  }, 600_000)
})
