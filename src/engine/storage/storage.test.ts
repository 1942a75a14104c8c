import 'fake-indexeddb/auto'
import { openDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import { deleteAllCheckpointsExcept, listCheckpoints, loadCheckpoint, pruneRun, renameCheckpoint, saveCheckpoint } from './checkpoints'
import { CURRENT_VERSION, openStudioDb, Versions } from './db'
import { deleteRun, findInterrupted, getRun, listRuns, putRun } from './runs'
import type { CheckpointBlob, CheckpointMeta, RunRecord } from './types'
import { approxBytes, deleteSelfTraining, listSelfTraining, loadSelfTraining, packSeries, saveSelfTrainingRound, selfTrainingBytes, unpackSeries, type SelfTrainingRecord } from './selfTraining'

let dbCount = 0
const freshName = () => `test-db-${dbCount++}`

function meta(over: Partial<CheckpointMeta> & { id: string; epoch: number }): Omit<CheckpointMeta, 'bytes'> {
  return {
    runId: 'run-a',
    name: `Epoch ${over.epoch}`,
    createdAt: 1000 + over.epoch,
    step: over.epoch * 10,
    train: { loss: 1 },
    val: { loss: 1 },
    monitored: 1,
    mode: 'min',
    isBest: false,
    pinned: false,
    method: 'freeze',
    settings: { ...DEFAULTS },
    modelId: 'tiny',
    datasetId: 'd',
    datasetName: 'd.csv',
    ...over,
  }
}

function blob(n = 4): Omit<CheckpointBlob, 'id'> {
  return {
    weights: [{ name: 'body/w', shape: [n], data: Float32Array.from({ length: n }, (_, i) => i + 0.5).buffer }],
    optimizer: [{ names: ['body/w'], state: { name: 'adamw', step: 3, values: { 'm:0:w': new Float32Array(n) }, shapes: { 'm:0:w': [n] } } }],
    loop: { epoch: 1, step: 10, early: { best: 1, bestEpoch: 0, bad: 0 }, plateau: { best: null, bad: 0, scale: 1 }, baseline: { loss: 2 }, baselineNote: 'base' },
  }
}

function run(id: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    name: id,
    status: 'running',
    startedAt: 1,
    updatedAt: 1,
    settings: { ...DEFAULTS },
    dataset: { id: 'd', name: 'd.csv', storedId: 'd' },
    model: { id: 'tiny', url: '/m', title: 'Tiny' },
    steps: [{ step: 1, loss: 2, lr: 1e-3 }],
    epochs: [],
    baseline: null,
    message: '',
    ...over,
  }
}

describe('checkpoint storage', () => {
  it('writes metadata and weights together and reads them back exactly', async () => {
    const db = await openStudioDb(freshName())
    const r = await saveCheckpoint(db, meta({ id: 'c1', epoch: 1 }), blob())
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.value.bytes).toBe(32) // 4 weights + 4 moment values, float32
    const back = await loadCheckpoint(db, 'c1')
    expect(Array.from(new Float32Array(back!.blob.weights[0]!.data))).toEqual([0.5, 1.5, 2.5, 3.5])
    expect(back!.blob.optimizer[0]!.state.step).toBe(3)
    db.close()
  })

  it('lists nothing when the write fails mid-transaction', async () => {
    const db = await openStudioDb(freshName())
    const bad = blob()
    // A function cannot be stored: the second put of the transaction throws.
    const r = await saveCheckpoint(db, { ...meta({ id: 'c1', epoch: 1 }), settings: { ...DEFAULTS, seed: (() => 1) as unknown as number } }, bad)
    expect(r.ok).toBe(false)
    expect(await listCheckpoints(db)).toEqual([])
    expect(await db.get('weights', 'c1')).toBeUndefined() // the weights put that succeeded was rolled back
    db.close()
  })

  it('returns a typed quota error (never throws) when the estimate says it will not fit', async () => {
    const db = await openStudioDb(freshName())
    const r = await saveCheckpoint(db, meta({ id: 'c1', epoch: 1 }), blob(1000), async () => ({ usage: 100, quota: 200 }))
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error.kind).toBe('quota')
      expect(r.error.message).toMatch(/storage for this site is full.*Training is paused/)
    }
    expect(await listCheckpoints(db)).toEqual([])
    db.close()
  })

  it('turns a QuotaExceededError from the browser into the typed error', async () => {
    const db = await openStudioDb(freshName())
    // Storing this tensor throws the browser's quota error from inside the transaction.
    const b = blob()
    const w = b.weights[0]!
    const buf = w.data
    let reads = 0 // the first read sizes the checkpoint; the clone inside the put is the second
    Object.defineProperty(w, 'data', {
      enumerable: true,
      get: () => {
        if (reads++ > 0) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
        return buf
      },
    })
    const r = await saveCheckpoint(db, meta({ id: 'c1', epoch: 1 }), { ...b, weights: [{ name: 'body/ok', shape: [1], data: new Float32Array(1).buffer }, w] })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.kind).toBe('quota')
    expect(await listCheckpoints(db)).toEqual([])
    db.close()
  })

  it('prunes to the last K epochs plus the best, and keeps renamed ones', async () => {
    const db = await openStudioDb(freshName())
    const monitored = [0.9, 0.3, 0.5, 0.6, 0.7] // epoch 2 is best
    for (let e = 1; e <= 5; e++) await saveCheckpoint(db, meta({ id: `c${e}`, epoch: e, monitored: monitored[e - 1]! }), blob())
    await saveCheckpoint(db, meta({ id: 'other', epoch: 1, runId: 'run-b' }), blob())
    await renameCheckpoint(db, 'c1', 'my favourite')
    const dropped = await pruneRun(db, 'run-a', 2, true)
    expect(dropped.sort()).toEqual(['c3'])
    const left = (await listCheckpoints(db)).map((c) => c.id).sort()
    expect(left).toEqual(['c1', 'c2', 'c4', 'c5', 'other'])
    expect(await db.get('weights', 'c3')).toBeUndefined()
    expect((await listCheckpoints(db)).find((c) => c.id === 'c1')!.name).toBe('my favourite')
    // Without keepBest the best goes too.
    await pruneRun(db, 'run-a', 1, false)
    expect((await listCheckpoints(db, 'run-a')).map((c) => c.id).sort()).toEqual(['c1', 'c5'])
    await deleteAllCheckpointsExcept(db, new Set(['c5']))
    expect((await listCheckpoints(db)).map((c) => c.id).sort()).toEqual(['c1', 'c5'])
    db.close()
  })
})

describe('runs', () => {
  it('finds a run left running with a checkpoint, and deletes a run with its checkpoints', async () => {
    const db = await openStudioDb(freshName())
    await putRun(db, run('run-a', { updatedAt: 5 }))
    await putRun(db, run('run-b', { status: 'finished' }))
    await putRun(db, run('run-c', { updatedAt: 9 })) // running, but nothing saved yet
    await saveCheckpoint(db, meta({ id: 'c1', epoch: 1 }), blob())
    await saveCheckpoint(db, meta({ id: 'c2', epoch: 2 }), blob())
    const found = await findInterrupted(db)
    expect(found?.run.id).toBe('run-a')
    expect(found?.checkpoint.id).toBe('c2')
    await deleteRun(db, 'run-a')
    expect(await getRun(db, 'run-a')).toBeNull()
    expect(await listCheckpoints(db)).toEqual([])
    expect((await listRuns(db)).map((r) => r.id).sort()).toEqual(['run-b', 'run-c'])
    db.close()
  })
})

describe('schema upgrade', () => {
  it('upgrades a version-1 database: checkpoints kept, a run record made for each', async () => {
    const name = freshName()
    const v1 = await openStudioDb(name, Versions.Initial)
    expect([...v1.objectStoreNames].sort()).toEqual(['checkpoints', 'weights'])
    const old = { ...meta({ id: 'old', epoch: 3 }), bytes: 32 } as Partial<CheckpointMeta>
    delete old.pinned // version 1 had no pinning
    await v1.put('checkpoints', old as CheckpointMeta)
    await v1.put('weights', { id: 'old', ...blob() })
    v1.close()

    const db = await openStudioDb(name)
    expect(db.version).toBe(CURRENT_VERSION)
    expect([...db.objectStoreNames].sort()).toEqual(['checkpoints', 'meta', 'runs', 'selfTraining', 'selfTrainingWeights', 'weights'])
    const [c] = await listCheckpoints(db)
    expect(c?.pinned).toBe(false)
    expect((await getRun(db, 'run-a'))?.status).toBe('stopped')
    expect((await loadCheckpoint(db, 'old'))?.blob.weights[0]?.shape).toEqual([4])
    db.close()
    // A database from the future is not opened by this code.
    const raw = await openDB(name)
    expect(raw.version).toBe(CURRENT_VERSION)
    raw.close()
  })
})

describe('self-training rounds (selfTraining.ts)', () => {
  const job = (finished: number[], next: boolean): SelfTrainingRecord => ({
    id: 'run-st',
    createdAt: 5,
    updatedAt: 10 + finished.length,
    modelId: 'tiny-lm',
    modelTitle: 'Tiny LM',
    settings: { ...DEFAULTS },
    roundSettings: { ...DEFAULTS, seqLen: 12 },
    outputs: null,
    threshold: 0.7,
    rounds: 3,
    balance: true,
    summary: { name: 'texts.csv' },
    unlabelled: { name: 'texts.csv', texts: ['a', 'b', 'c'], labels: ['', 'sea', ''] },
    validation: null,
    zeroShot: { classes: ['sea', 'land'], labels: [0, 0, 1], confidence: [0.8, 1, 0.6], probs: new Float32Array([0.8, 0.2, 1, 0, 0.4, 0.6]) },
    zeroShotVal: null,
    finished: finished.map((round) => ({ round, kept: 2, keptPerClass: [1, 1], validationAccuracy: 0.5 + round / 10, message: `round ${round}` })),
    next: next ? { classes: ['sea', 'land'], labels: [1, 0, 1], confidence: [0.9, 1, 0.7], probs: new Float32Array([0.1, 0.9, 1, 0, 0.3, 0.7]) } : null,
  })
  const weightsOf = (v: number) => [{ name: 'tuning/lora.a', shape: [2], data: new Float32Array([v, -v]).buffer }]

  it('keeps each finished round with its weights; the newest round and its weights load back; delete removes every round', async () => {
    const db = await openStudioDb(freshName())
    expect(await listSelfTraining(db)).toEqual([])
    expect((await saveSelfTrainingRound(db, job([1], true), weightsOf(1))).ok).toBe(true)
    expect((await saveSelfTrainingRound(db, job([1, 2], true), weightsOf(2))).ok).toBe(true)
    const listed = await listSelfTraining(db)
    expect(listed.map((r) => [r.id, r.finished.length, r.next?.labels])).toEqual([['run-st', 2, [1, 0, 1]]])
    const got = await loadSelfTraining(db, 'run-st')
    expect(got?.record.finished.map((r) => r.validationAccuracy)).toEqual([0.6, 0.7])
    expect(Array.from(got!.record.next!.probs)).toEqual(Array.from(new Float32Array([0.1, 0.9, 1, 0, 0.3, 0.7])))
    expect(Array.from(new Float32Array(got!.weights[0]!.data))).toEqual([2, -2]) // round 2's, not round 1's
    expect((await db.getAllKeys('selfTrainingWeights')).sort()).toEqual(['run-st#1', 'run-st#2'])
    await deleteSelfTraining(db, 'run-st')
    expect(await listSelfTraining(db)).toEqual([])
    expect(await db.getAllKeys('selfTrainingWeights')).toEqual([])
    expect(await loadSelfTraining(db, 'run-st')).toBeNull()
    db.close()
  })

  it('each round keeps its charts compactly; they come back one round after another, as drawn live', async () => {
    const db = await openStudioDb(freshName())
    const r1 = packSeries({ steps: [{ step: 1, loss: 0.75, lr: 0.01 }, { step: 2, loss: 0.5, lr: 0.005 }], epochs: [{ epoch: 1, trainLoss: 0.6, valLoss: 0.7, valAcc: 55 }], baseline: { metrics: { loss: 0.9, accuracy: 0.5 }, note: 'base', name: 'majority class (sea)' } })
    const r2 = packSeries({ steps: [{ step: 1, loss: 0.25, lr: 0.01 }], epochs: [{ epoch: 1, trainLoss: 0.3, valLoss: 0.4, valAcc: 80 }], baseline: { metrics: { loss: 0.8, accuracy: 0.5 }, note: 'base', name: 'majority class (government)' } })
    expect(r1.step).toBeInstanceOf(Int32Array)
    expect(r1.loss.byteLength + r1.lr.byteLength + r1.step.byteLength).toBe(24) // 12 bytes a point
    const rec = job([1, 2], false)
    rec.finished[0]!.series = r1
    rec.finished[1]!.series = r2
    expect((await saveSelfTrainingRound(db, rec, weightsOf(2))).ok).toBe(true)
    const back = unpackSeries((await loadSelfTraining(db, 'run-st'))!.record.finished)
    // the numbers are exact in Float32 (0.01 and 0.005 are not: compared to Float32's rounding)
    expect(back.steps.map((p) => [p.step, p.loss])).toEqual([[1, 0.75], [2, 0.5], [1, 0.25]])
    expect(back.steps.map((p) => p.lr)).toEqual([Math.fround(0.01), Math.fround(0.005), Math.fround(0.01)])
    expect(back.epochs).toEqual([{ epoch: 1, trainLoss: 0.6, valLoss: 0.7, valAcc: 55 }, { epoch: 1, trainLoss: 0.3, valLoss: 0.4, valAcc: 80 }])
    expect(back.baseline?.name).toBe('majority class (government)') // the last round's
    // a round kept before charts were has none: the others still come back
    delete rec.finished[0]!.series
    expect(unpackSeries(rec.finished).steps).toHaveLength(1)
    db.close()
  })

  it('counts what a kept job takes: its record about as stored, and every round\u2019s weights', async () => {
    // by hand: 'ab' 4 bytes, 3 and 1.5 8 each, true 4, a 12-byte Float32Array, keys 2 bytes a character
    expect(approxBytes('ab')).toBe(4)
    expect(approxBytes([3, 1.5, true])).toBe(20)
    expect(approxBytes(new Float32Array(3))).toBe(12)
    expect(approxBytes({ ab: 'c', d: null })).toBe(4 + 2 + 2)
    const db = await openStudioDb(freshName())
    const one = job([1], true)
    expect((await saveSelfTrainingRound(db, one, weightsOf(1))).ok).toBe(true) // 8 bytes of weights
    const two = job([1, 2], true)
    two.finished[1]!.weightBytes = 8 // noted when kept; round 1's is read from its weights
    expect((await saveSelfTrainingRound(db, two, weightsOf(2))).ok).toBe(true)
    expect(await selfTrainingBytes(db, two)).toBe(approxBytes(two) + 8 + 8)
    db.close()
  })

  it('a record that cannot be stored leaves no weights behind (one transaction)', async () => {
    const db = await openStudioDb(freshName())
    const bad = { ...job([1], false), summary: { f: () => 1 } } // a function cannot be cloned
    const r = await saveSelfTrainingRound(db, bad, weightsOf(1))
    expect(r.ok).toBe(false)
    expect(await db.getAllKeys('selfTrainingWeights')).toEqual([])
    expect(await listSelfTraining(db)).toEqual([])
    db.close()
  })
})
