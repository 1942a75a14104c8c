/**
 * Pause pressed while a self-training job is between its rounds (its round has ended: the
 * tuned model re-labels the texts and the round is kept, with no run in the session) holds the
 * job before its next round until Resume, and the page hears that it is paused and which round
 * waits. Through the worker's handler, as the page sends Pause and Resume: once as round 1's
 * last epoch is reported (its loop has no step left to pause at), once as round 2 is announced.
 * Stop while so held ends the job there, with nothing of the next round done.
 */
import 'fake-indexeddb/auto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import { publicFetch } from './publicFetch'
import type { FromWorker } from './protocol'

const root = resolve(__dirname, '../..')
const file = (name: string, lines: number) => new File([readFileSync(resolve(root, 'public/samples/lm', name), 'utf8').split('\n').slice(0, lines + 1).join('\n') + '\n'], name)

beforeAll(async () => {
  await tf.setBackend('wasm')
})

describe('Pause between self-training rounds', () => {
  it('holds the next round until Resume: no step of it before, the page told "paused before round N", all rounds kept after', async () => {
    const events: FromWorker[] = []
    const resumedAt: number[] = [] // events.length when each Resume was sent
    const runId = 'job-p'
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'head', epochs: 2, batchSize: 16, seqLen: 32, learningRate: 0.01, warmupSteps: 0, seed: 42, earlyStopPatience: 0 }
    let round = 1 // the round training now
    const handle = createHandler((e) => {
      events.push(e)
      // round 1's last epoch: its loop has no step left, so only the job can hold the pause
      if (e.type === 'epoch' && round === 1 && e.epoch === s.epochs - 1) void handle({ type: 'pause', runId })
      // round 2 announced: the job is between rounds, with no run in the session
      if (e.type === 'pseudoRound') {
        round = e.round.round + 1
        if (e.round.round === 2) void handle({ type: 'pause', runId })
      }
      if (e.type === 'pseudoPaused' && e.next !== null)
        setTimeout(() => {
          resumedAt.push(events.length)
          void handle({ type: 'resume', runId })
        }, 200)
    }, {}, publicFetch)
    await handle({ type: 'loadModel', source: { kind: 'builtin', id: 'tiny-lm', url: 'http://app/models/tiny-lm/model.json' } })
    await handle({ type: 'pseudoLabel', file: file('sea-or-government-unlabelled.csv', 64), classes: ['sea', 'government'] })
    await handle({ type: 'pseudoTrain', runId, settings: s, threshold: 0.5, rounds: 3, balance: true })
    expect(events.filter((e) => e.type === 'error' || e.type === 'lmError')).toEqual([])

    const said = (e: FromWorker) => (e.type === 'state' ? `state ${e.state}` : e.type === 'pseudoPaused' ? `paused before ${e.next}` : e.type === 'pseudoRound' ? `round ${e.round.round}${e.round.notKept ? ` ${e.round.notKept}` : ''}` : e.type)
    const announced = (n: number) => events.findIndex((e) => e.type === 'pseudoRound' && e.round.round === n)
    expect(resumedAt).toHaveLength(2)
    // Held after round 1 and after round 2, saying so, until Resume: nothing of the next round meanwhile
    expect(events.slice(announced(1) + 1, resumedAt[0]).map(said)).toEqual(['state paused', 'paused before 2'])
    expect(events.slice(announced(2) + 1, resumedAt[1]).map(said)).toEqual(['state paused', 'paused before 3'])
    // After Resume the round runs, and all three are kept and reported
    expect(events.slice(resumedAt[0]).map(said).slice(0, 2)).toEqual(['paused before null', 'state running'])
    expect(events.filter((e) => e.type === 'step' && e.runId === runId).length).toBeGreaterThan(0)
    expect(events.filter((e) => e.type === 'pseudoRound').map(said)).toEqual(['round 1', 'round 2', 'round 3'])
    expect(events.filter((e): e is Extract<FromWorker, { type: 'done' }> => e.type === 'done').map((d) => [d.runId, d.reason])).toEqual([[runId, 'finished']])
    const saved = events.filter((e): e is Extract<FromWorker, { type: 'pseudoSaved' }> => e.type === 'pseudoSaved').at(-1)!
    expect(saved.jobs.map((j) => [j.id, j.roundsDone, j.rounds])).toEqual([[runId, 3, 3]])
  }, 240_000)

  it('Stop while paused between rounds ends the job there: nothing of the next round (no running state, no baseline, no step, no round row), the finished round kept and continuable, the job stopped', async () => {
    const events: FromWorker[] = []
    let stoppedAt = -1 // events.length when Stop was sent
    const runId = 'job-q'
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'head', epochs: 2, batchSize: 16, seqLen: 32, learningRate: 0.01, warmupSteps: 0, seed: 42, earlyStopPatience: 0 }
    const handle = createHandler((e) => {
      events.push(e)
      // round 1's last epoch: Pause, so the job holds before round 2
      if (e.type === 'epoch' && e.epoch === s.epochs - 1 && !events.some((x) => x.type === 'pseudoRound')) void handle({ type: 'pause', runId })
      // held before round 2: Stop, as the page sends it (the session has no run then)
      if (e.type === 'pseudoPaused' && e.next === 2)
        setTimeout(() => {
          stoppedAt = events.length
          void handle({ type: 'stop', runId })
        }, 200)
    }, {}, publicFetch)
    await handle({ type: 'loadModel', source: { kind: 'builtin', id: 'tiny-lm', url: 'http://app/models/tiny-lm/model.json' } })
    await handle({ type: 'pseudoLabel', file: file('sea-or-government-unlabelled.csv', 64), classes: ['sea', 'government'] })
    const from = events.length
    await handle({ type: 'pseudoTrain', runId, settings: s, threshold: 0.5, rounds: 3, balance: true })
    expect(events.filter((e) => e.type === 'error' || e.type === 'lmError')).toEqual([])
    expect(stoppedAt).toBeGreaterThan(0)

    const said = (e: FromWorker) => (e.type === 'state' ? `state ${e.state}` : e.type === 'pseudoPaused' ? `paused before ${e.next}` : e.type === 'pseudoRound' ? `round ${e.round.round}${e.round.notKept ? ` ${e.round.notKept}` : ''}` : e.type === 'progress' ? `progress ${e.task}` : e.type)
    // Held before round 2 until the Stop, then only the job's end: no "running" (the page's
    // "Training…"), no baseline pass of round 2 (its progress and figures), no step, no epoch,
    // no round 2 row
    const announced = events.findIndex((e) => e.type === 'pseudoRound' && e.round.round === 1)
    expect(events.slice(announced + 1, stoppedAt).map(said)).toEqual(['state paused', 'paused before 2'])
    expect(events.slice(stoppedAt).map(said)).toEqual(['paused before null', 'pseudoStopped', 'done'])
    // Round 1 trained once: one baseline pass, its epochs; round 2 nothing
    const job = events.slice(from)
    expect(job.filter((e) => e.type === 'baseline')).toHaveLength(1)
    expect(job.filter((e) => e.type === 'epoch').map((e) => (e as Extract<FromWorker, { type: 'epoch' }>).epoch)).toEqual([0, 1])
    expect(job.filter((e) => e.type === 'pseudoRound').map(said)).toEqual(['round 1'])
    // The job stopped, said in words; round 1 kept, and round 2 can be trained from it
    expect(events.find((e) => e.type === 'pseudoStopped')).toEqual({ type: 'pseudoStopped', runId, id: runId, next: 2, settings: s })
    const done = job.filter((e): e is Extract<FromWorker, { type: 'done' }> => e.type === 'done')
    expect(done.map((d) => [d.runId, d.reason, d.summary.epochs])).toEqual([[runId, 'stopped', 2]])
    expect(done[0]!.message).toBe(`Training stopped before self-training round 2 of 3, which did not start; the model is round 1's. Round 1 stays saved (Saved self-training); "Continue with round 2" trains it on round 1's labels.`)
    const saved = events.filter((e): e is Extract<FromWorker, { type: 'pseudoSaved' }> => e.type === 'pseudoSaved').at(-1)!
    expect(saved.jobs.filter((j) => j.id === runId).map((j) => [j.roundsDone, j.rounds])).toEqual([[1, 3]])
  }, 240_000)
})
