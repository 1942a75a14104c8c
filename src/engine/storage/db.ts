import { openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction, type StoreNames } from 'idb'
import { DEFAULTS } from '../../settings/schema'
import type { CheckpointBlob, CheckpointMeta, RunRecord } from './types'
import type { SelfTrainingRecord, SelfTrainingWeights } from './selfTraining'

/** Named schema versions; each one's upgrade step lives in UPGRADES below (tldraw's habit). */
export const Versions = {
  Initial: 1, // checkpoints + their weights
  Runs: 2, // run history and a small key/value meta store
  SelfTraining: 3, // self-training rounds and their weights (selfTraining.ts)
} as const
export const CURRENT_VERSION = Versions.SelfTraining

/** Checkpoints and runs; datasets live in their own database (datasets.ts). */
export const DB_NAME = 'studio-checkpoints'

export interface StudioSchema extends DBSchema {
  checkpoints: { key: string; value: CheckpointMeta; indexes: { byRun: string } }
  weights: { key: string; value: CheckpointBlob }
  runs: { key: string; value: RunRecord; indexes: { byStatus: string } }
  meta: { key: string; value: { key: string; value: unknown } }
  selfTraining: { key: string; value: SelfTrainingRecord }
  selfTrainingWeights: { key: string; value: SelfTrainingWeights }
}

export type StudioDb = IDBPDatabase<StudioSchema>
type UpgradeTx = IDBPTransaction<StudioSchema, StoreNames<StudioSchema>[], 'versionchange'>

type Upgrade = (db: StudioDb, tx: UpgradeTx) => Promise<void> | void

const UPGRADES: Record<number, Upgrade> = {
  [Versions.Initial]: (db) => {
    const ck = db.createObjectStore('checkpoints', { keyPath: 'id' })
    ck.createIndex('byRun', 'runId')
    db.createObjectStore('weights', { keyPath: 'id' })
  },
  [Versions.Runs]: async (db, tx) => {
    const runs = db.createObjectStore('runs', { keyPath: 'id' })
    runs.createIndex('byStatus', 'status')
    db.createObjectStore('meta', { keyPath: 'key' })
    // Version 1 kept checkpoints without runs: give each of their runs a record (so the
    // runs view lists it), and mark old checkpoints unpinned.
    const seen = new Set<string>()
    let cursor = await tx.objectStore('checkpoints').openCursor()
    while (cursor) {
      const c = cursor.value as Partial<CheckpointMeta> & CheckpointMeta
      if (c.pinned === undefined) await cursor.update({ ...c, pinned: false })
      if (!seen.has(c.runId)) {
        seen.add(c.runId)
        await tx.objectStore('runs').put({
          id: c.runId,
          name: c.runId,
          status: 'stopped',
          startedAt: c.createdAt,
          updatedAt: c.createdAt,
          settings: c.settings ?? { ...DEFAULTS },
          dataset: { id: c.datasetId ?? '', name: c.datasetName ?? '' },
          model: { id: c.modelId ?? '', url: '', title: c.modelId ?? '' },
          steps: [],
          epochs: [],
          baseline: null,
          message: 'Recorded before run history existed.',
        })
      }
      cursor = await cursor.continue()
    }
  },
  [Versions.SelfTraining]: (db) => {
    db.createObjectStore('selfTraining', { keyPath: 'id' })
    db.createObjectStore('selfTrainingWeights', { keyPath: 'id' })
  },
}

/** Opens (and upgrades, version by version) the studio's database. `version` is for tests
 *  that need an older schema. */
export async function openStudioDb(name = DB_NAME, version: number = CURRENT_VERSION): Promise<StudioDb> {
  if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here')
  const db: StudioDb = await openDB<StudioSchema>(name, version, {
    async upgrade(db, oldVersion, newVersion, tx) {
      for (let v = oldVersion + 1; v <= (newVersion ?? version); v++) await UPGRADES[v]?.(db, tx)
    },
    blocking() {
      db.close() // another tab wants a newer schema: step aside rather than block it
    },
  })
  return db
}
