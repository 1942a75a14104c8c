import type { StudioDb } from './db'
import { bestOf } from '../../shared/bestCheckpoint'
import type { CheckpointBlob, CheckpointMeta, EstimateFn, StorageError, StorageResult } from './types'
import { formatBytes } from '../../format/format'

export { bestOf } // the page marks the best checkpoint with the same rule

/** Bytes a checkpoint's blob takes: its weight buffers and optimizer slots. */
export function blobBytes(blob: Omit<CheckpointBlob, 'id'>): number {
  let n = 0
  for (const w of blob.weights) n += w.data.byteLength
  for (const g of blob.optimizer) for (const v of Object.values(g.state.values)) n += 4 * v.length
  return n
}

/** Headroom kept free beyond the checkpoint itself (run records, browser overhead). */
const HEADROOM = 1 << 20

/**
 * Writes metadata and weights in ONE transaction: the checkpoint is listed only if the
 * whole thing landed. Checks the storage estimate first, and turns a quota failure into a
 * value instead of an exception so the caller can pause the run and ask.
 */
export async function saveCheckpoint(
  db: StudioDb,
  meta: Omit<CheckpointMeta, 'bytes'>,
  blob: Omit<CheckpointBlob, 'id'>,
  estimate?: EstimateFn,
): Promise<StorageResult<CheckpointMeta>> {
  const bytes = blobBytes(blob)
  if (estimate) {
    try {
      const { usage, quota } = await estimate()
      if (quota !== undefined && usage !== undefined && quota - usage < bytes + HEADROOM) {
        return { ok: false, error: quotaError(bytes, Math.max(0, quota - usage)) }
      }
    } catch {
      // No estimate: try the write and let the browser say no.
    }
  }
  const full: CheckpointMeta = { ...meta, bytes }
  const tx = db.transaction(['checkpoints', 'weights'], 'readwrite')
  try {
    // Weights first, listing second, one transaction: both commit or neither does.
    await tx.objectStore('weights').put({ id: meta.id, ...blob })
    await tx.objectStore('checkpoints').put(full)
    await tx.done
    return { ok: true, value: full }
  } catch (e) {
    // A put that throws (e.g. a value that cannot be cloned) does not abort by itself.
    try {
      tx.abort()
    } catch {
      // already finished or aborted
    }
    await tx.done.catch(() => undefined)
    return { ok: false, error: toStorageError(e, bytes) }
  }
}

export function quotaError(needed: number, available: number | null): StorageError {
  const mb = formatBytes
  return {
    kind: 'quota',
    needed,
    available,
    message: `The browser's storage for this site is full: a checkpoint needs ${mb(needed)}${available === null ? '' : ` and ${mb(available)} is free`}. Training is paused and nothing is lost; delete older checkpoints or runs to continue.`,
  }
}

/** A DOMException named QuotaExceededError (possibly wrapped by an aborted transaction). */
export function toStorageError(e: unknown, needed: number): StorageError {
  const name = e instanceof Error || (typeof e === 'object' && e !== null && 'name' in e) ? String((e as { name: unknown }).name) : ''
  const inner = typeof e === 'object' && e !== null && 'inner' in e ? (e as { inner: unknown }).inner : null
  if (name === 'QuotaExceededError' || (inner && toStorageError(inner, needed).kind === 'quota')) return quotaError(needed, null)
  return { kind: 'failed', message: `Saving the checkpoint failed: ${e instanceof Error ? e.message : String(e)}` }
}

/** Newest first. */
export async function listCheckpoints(db: StudioDb, runId?: string): Promise<CheckpointMeta[]> {
  const all = runId ? await db.getAllFromIndex('checkpoints', 'byRun', runId) : await db.getAll('checkpoints')
  return all.sort((a, b) => b.createdAt - a.createdAt || b.step - a.step)
}

export async function loadCheckpoint(db: StudioDb, id: string): Promise<{ meta: CheckpointMeta; blob: CheckpointBlob } | null> {
  const tx = db.transaction(['checkpoints', 'weights'], 'readonly')
  const [meta, blob] = await Promise.all([tx.objectStore('checkpoints').get(id), tx.objectStore('weights').get(id)])
  await tx.done
  return meta && blob ? { meta, blob } : null
}

/** Renaming pins a checkpoint: a person named it, so pruning keeps it. */
export async function renameCheckpoint(db: StudioDb, id: string, name: string): Promise<CheckpointMeta | null> {
  const tx = db.transaction('checkpoints', 'readwrite')
  const meta = await tx.store.get(id)
  if (!meta) return null
  const next = { ...meta, name: name.trim().slice(0, 80) || meta.name, pinned: true }
  await tx.store.put(next)
  await tx.done
  return next
}

export async function deleteCheckpoints(db: StudioDb, ids: readonly string[]): Promise<void> {
  if (!ids.length) return
  const tx = db.transaction(['checkpoints', 'weights'], 'readwrite')
  await Promise.all(ids.flatMap((id) => [tx.objectStore('checkpoints').delete(id), tx.objectStore('weights').delete(id)]))
  await tx.done
}

/** Which of a run's checkpoints to drop: all but the last `keepLast` epochs, the best (when
 *  `keepBest`) and the pinned ones. */
export function pruneChoice(list: readonly CheckpointMeta[], keepLast: number, keepBest: boolean): string[] {
  const newest = [...list].sort((a, b) => b.epoch - a.epoch || b.createdAt - a.createdAt)
  const keep = new Set(newest.slice(0, Math.max(0, keepLast)).map((c) => c.id))
  const best = keepBest ? bestOf(list) : null
  if (best) keep.add(best.id)
  return list.filter((c) => !keep.has(c.id) && !c.pinned).map((c) => c.id)
}

export async function pruneRun(db: StudioDb, runId: string, keepLast: number, keepBest: boolean): Promise<string[]> {
  const drop = pruneChoice(await listCheckpoints(db, runId), keepLast, keepBest)
  await deleteCheckpoints(db, drop)
  return drop
}

/** Frees space for a run that hit the quota: every checkpoint except `keep` goes, pinned ones
 *  included only when `includePinned` (a person asked for it). */
export async function deleteAllCheckpointsExcept(db: StudioDb, keep: ReadonlySet<string>, includePinned = false): Promise<string[]> {
  const drop = (await listCheckpoints(db)).filter((c) => !keep.has(c.id) && (includePinned || !c.pinned)).map((c) => c.id)
  await deleteCheckpoints(db, drop)
  return drop
}
