import 'fake-indexeddb/auto'
import { describe, expect, it } from 'vitest'
import { openStudioDb } from '../engine/storage/db'
import { getRun } from '../engine/storage/runs'
import type { LoopCheckpoint } from '../engine/train/loopState'
import { RunControl } from '../engine/train/runControl'
import { DEFAULTS } from '../settings/schema'
import { CheckpointHost, type CheckpointSessionView } from './checkpointHost'
import type { FromWorker } from './protocol'
import { runsTrainedByTabs } from '../shared/runLocks'

let n = 0
function setup(dbName?: string, trainedByTabs?: () => Promise<Set<string> | null>) {
  const name = dbName ?? `host-${n++}`
  const events: FromWorker[] = []
  const session: CheckpointSessionView = { datasetSummary: null, run: null }
  const host = new CheckpointHost(session, (e) => events.push(e), {
    current: () => null, // no model: these tests never restore into one
    encode: () => {
      throw new Error('no model is loaded')
    },
    evaluate: () => Promise.reject(new Error('no model is loaded')),
    adopt: () => undefined,
    selectDataset: async () => undefined,
    openDb: () => openStudioDb(name),
    ...(trainedByTabs ? { trainedByTabs } : {}),
  })
  return { host, events, session, db: () => openStudioDb(name) }
}

const ck = (epoch: number, val: number): LoopCheckpoint => ({
  loop: { epoch, step: epoch * 5, early: { best: val, bestEpoch: epoch - 1, bad: 0 }, plateau: { best: null, bad: 0, scale: 1 }, baseline: { loss: 2 }, baselineNote: 'base' },
  weights: [{ name: 'tuning/head.task.kernel', shape: [2], data: new Float32Array([epoch, val]).buffer }],
  optimizer: [],
  train: { loss: val },
  val: { loss: val },
  isBest: true,
  monitored: val,
  mode: 'min',
})

describe('CheckpointHost', () => {
  it('records the run, saves each epoch in the background and prunes to keepLast + best', async () => {
    const { host, events, session, db } = setup()
    const control = new RunControl()
    session.run = { id: 'r1', control }
    const rec = await host.startRun('r1', { ...DEFAULTS, keepLast: 1, keepBest: true }, control, null, {})
    const listed = events.filter((e) => e.type === 'runs').at(-1)
    expect(listed?.type === 'runs' && listed.items.map((r) => [r.id, r.status]), 'the run is listed as it starts').toEqual([['r1', 'running']])
    const cb = rec.callbacks()
    for (const [e, v] of [[1, 0.5], [2, 0.3], [3, 0.4]] as const) {
      await cb.onEpoch?.({ epoch: e - 1, train: { loss: v }, val: { loss: v }, lr: 1e-3, isBest: false })
      await cb.onCheckpoint?.(ck(e, v))
    }
    await rec.finish({ reason: 'finished', summary: { epochs: 3, bestEpoch: 1, best: { loss: 0.3 }, baseline: { loss: 2 }, baselineName: 'untrained head', seconds: 1 }, message: 'done' })
    const last = events.filter((e) => e.type === 'checkpoints').at(-1)
    expect(last?.type === 'checkpoints' && last.items.map((c) => c.epoch).sort()).toEqual([2, 3]) // last 1 + best (epoch 2)
    const run = await getRun(await db(), 'r1')
    expect(run?.status).toBe('finished')
    expect(run?.epochs.map((e) => e.epoch)).toEqual([1, 2, 3])
  })

  it('a run stopped inside an epoch marks that epoch partial in its record (the loop measured it but wrote no checkpoint); one stopped between epochs marks none', async () => {
    const { host, session, db } = setup()
    const summary = { epochs: 2, bestEpoch: 0, best: { loss: 0.5 }, baseline: { loss: 2 }, baselineName: 'untrained head', seconds: 1 }
    for (const [id, inside] of [['r4', true], ['r5', false]] as const) {
      const control = new RunControl()
      session.run = { id, control }
      const rec = await host.startRun(id, { ...DEFAULTS, epochs: 3 }, control, null, {})
      const cb = rec.callbacks()
      // as engine/train/fineTune.ts calls them: epoch 1 in full and its checkpoint; then epoch 2,
      // either cut by the stop (measured, no checkpoint) or trained in full before it ended the run
      await cb.onEpoch?.({ epoch: 0, train: { loss: 0.6 }, val: { loss: 0.5 }, lr: 1e-3, isBest: true })
      await cb.onCheckpoint?.(ck(1, 0.5))
      await cb.onEpoch?.({ epoch: 1, train: { loss: 0.55 }, val: { loss: 0.52 }, lr: 1e-3, isBest: false })
      if (!inside) await cb.onCheckpoint?.(ck(2, 0.52))
      await rec.finish({ reason: 'stopped', summary, message: inside ? 'Training stopped — in epoch 2 of 3 (1 epoch trained in full), …' : 'Training stopped — 2 epochs, …' })
      const run = await getRun(await db(), id)
      expect(run?.epochs.map((e) => [e.epoch, e.partial ?? false]), id).toEqual([[1, false], [2, inside]])
    }
  })

  it('pauses the run when the disk is full, lists nothing half-written, and continues after freeing space', async () => {
    const { host, events, session } = setup()
    const control = new RunControl()
    session.run = { id: 'r2', control }
    await host.handle({ type: 'storageFault', fault: 'quota' })
    const rec = await host.startRun('r2', { ...DEFAULTS }, control, null, {})
    await rec.callbacks().onCheckpoint?.(ck(1, 0.5))
    await host.flush()
    expect(control.paused).toBe(true)
    const full = events.find((e) => e.type === 'storageFull')
    expect(full?.type === 'storageFull' && full.message).toMatch(/full.*Training is paused/)
    await host.handle({ type: 'listCheckpoints' })
    const listed = events.filter((e) => e.type === 'checkpoints').at(-1)
    expect(listed?.type === 'checkpoints' && listed.items).toEqual([])

    await host.handle({ type: 'storageFault', fault: 'none' })
    await host.handle({ type: 'freeSpace', runId: 'r2' })
    expect(control.paused).toBe(false)
    const after = events.filter((e) => e.type === 'checkpoints').at(-1)
    expect(after?.type === 'checkpoints' && after.items.map((c) => c.epoch)).toEqual([1])
  })

  it('offers a run left running with a checkpoint, and forgets it when dismissed', async () => {
    const { host, events } = setup()
    const control = new RunControl()
    const rec = await host.startRun('r3', { ...DEFAULTS, epochs: 5 }, control, null, {})
    await rec.callbacks().onCheckpoint?.(ck(2, 0.5))
    await host.flush()
    await host.handle({ type: 'findInterrupted' })
    const found = events.filter((e) => e.type === 'interrupted').at(-1)
    expect(found?.type === 'interrupted' && found.run).toMatchObject({ runId: 'r3', epoch: 2, epochs: 5 })
    await host.handle({ type: 'dismissInterrupted', runId: 'r3' })
    await host.handle({ type: 'findInterrupted' })
    const gone = events.filter((e) => e.type === 'interrupted').at(-1)
    expect(gone?.type === 'interrupted' && gone.run).toBeNull()
  })

  it('leaves a run another tab trains alone: not offered to resume (an older abandoned one is), not deleted, not renamed', async () => {
    const shared = `host-tabs-${n++}`
    // tab B's worker trains "live"; tab A's lock query says B holds its lock (shared/runLocks.ts)
    const a = setup(shared, async () => new Set(['live']))
    const b = setup(shared)
    const old = await a.host.startRun('old', { ...DEFAULTS, epochs: 4 }, new RunControl(), null, {})
    await old.callbacks().onCheckpoint?.(ck(1, 0.6))
    await a.host.flush() // A's tab then closed mid-run: "old" stays "running"
    await new Promise((r) => setTimeout(r, 5)) // "live" is the newer record
    b.session.run = { id: 'live', control: new RunControl() }
    const live = await b.host.startRun('live', { ...DEFAULTS, epochs: 6 }, b.session.run.control, null, {})
    await live.callbacks().onCheckpoint?.(ck(2, 0.4))
    await b.host.flush()

    await a.host.handle({ type: 'findInterrupted' })
    const offered = a.events.filter((e) => e.type === 'interrupted').at(-1)
    expect(offered?.type === 'interrupted' && offered.run).toMatchObject({ runId: 'old', epoch: 1, epochs: 4 })
    await expect(a.host.handle({ type: 'deleteRun', id: 'live' })).rejects.toThrow('This run is training in another tab of the studio: stop it there (or close that tab) before deleting it.')
    await expect(a.host.handle({ type: 'renameRun', id: 'live', name: 'mine' })).rejects.toThrow('before renaming it.')
    expect((await getRun(await a.db(), 'live'))?.name).not.toBe('mine')
    expect((await getRun(await a.db(), 'live'))?.status).toBe('running')
    // the tab that trains it may rename it, and A may delete its own abandoned run
    await b.host.handle({ type: 'renameRun', id: 'live', name: 'mine' })
    expect((await getRun(await b.db(), 'live'))?.name).toBe('mine')
    await a.host.handle({ type: 'deleteRun', id: 'old' })
    expect(await getRun(await a.db(), 'old')).toBeNull()
  })
})

describe('runsTrainedByTabs (shared/runLocks.ts)', () => {
  it('reads the run ids out of the held locks the browser lists, and nothing where it cannot tell', async () => {
    const held = [{ name: 'finetune-studio-run:run-17' }, { name: 'engine;workers=2' }, { name: 'finetune-studio-run:run-3' }, {}]
    expect(await runsTrainedByTabs({ query: async () => ({ held, pending: [] }) })).toEqual(new Set(['run-17', 'run-3']))
    expect(await runsTrainedByTabs(undefined)).toBeNull()
    expect(await runsTrainedByTabs({ query: () => Promise.reject(new Error('SecurityError')) })).toBeNull()
  })
})
