import { deleteCheckpoints, listCheckpoints } from './checkpoints'
import type { StudioDb } from './db'
import type { CheckpointMeta, RunRecord, StorageResult } from './types'
import { toStorageError } from './checkpoints'

/** Saves the run record; a failure is a value (run history is worth less than training). */
export async function putRun(db: StudioDb, run: RunRecord): Promise<StorageResult<RunRecord>> {
  try {
    await db.put('runs', run)
    return { ok: true, value: run }
  } catch (e) {
    return { ok: false, error: toStorageError(e, 0) }
  }
}

export async function getRun(db: StudioDb, id: string): Promise<RunRecord | null> {
  return (await db.get('runs', id)) ?? null
}

/** Newest first. */
export async function listRuns(db: StudioDb): Promise<RunRecord[]> {
  return (await db.getAll('runs')).sort((a, b) => b.startedAt - a.startedAt)
}

/** A run and its checkpoints. */
export async function deleteRun(db: StudioDb, id: string): Promise<void> {
  await deleteCheckpoints(db, (await listCheckpoints(db, id)).map((c) => c.id))
  await db.delete('runs', id)
}

/** A run the page did not see end (tab closed or reloaded, worker killed) that has a
 *  checkpoint to continue from; the newest such run. */
export async function findInterrupted(db: StudioDb, trainedNow: ReadonlySet<string> = new Set()): Promise<{ run: RunRecord; checkpoint: CheckpointMeta } | null> {
  const live = [...(await db.getAllFromIndex('runs', 'byStatus', 'running')), ...(await db.getAllFromIndex('runs', 'byStatus', 'paused'))]
  live.sort((a, b) => b.updatedAt - a.updatedAt)
  for (const run of live) {
    if (trainedNow.has(run.id)) continue // a tab trains it now: not interrupted (an older one may be)
    const cks = await listCheckpoints(db, run.id)
    const latest = cks.sort((a, b) => b.epoch - a.epoch)[0]
    if (latest) return { run, checkpoint: latest }
  }
  return null
}

/** Marks runs that were live when the page went away, so they are not offered again. */
export async function markInterrupted(db: StudioDb, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const run = await getRun(db, id)
    if (run && (run.status === 'running' || run.status === 'paused')) await db.put('runs', { ...run, status: 'interrupted', updatedAt: Date.now() })
  }
}

export async function liveRunIds(db: StudioDb): Promise<string[]> {
  const keys = [...(await db.getAllKeysFromIndex('runs', 'byStatus', 'running')), ...(await db.getAllKeysFromIndex('runs', 'byStatus', 'paused'))]
  return keys
}

/** Bytes the studio's checkpoints take, by its own count. */
export async function checkpointBytes(db: StudioDb): Promise<number> {
  return (await db.getAll('checkpoints')).reduce((n, c) => n + c.bytes, 0)
}
