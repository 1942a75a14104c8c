/**
 * Parsed datasets kept in IndexedDB, so a file is parsed once and a reload keeps it.
 * Its own database ('studio-datasets'), apart from checkpoints and runs, so the two
 * schemas version independently. Tables are stored as the parsed Dataset; image sets as
 * their encoded bytes (one record per image, read back batch by batch).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { Dataset, Roles } from '../data/types'
import type { ImageSetInfo, StoredImage } from '../data/images/types'

export const DATASETS_DB = 'studio-datasets'
export const Versions = { Initial: 1 } as const

export interface StoredDatasetMeta {
  id: string
  name: string
  kind: 'table' | 'images'
  /** Size of the file(s) as uploaded. */
  bytes: number
  /** Rows kept (tables) or images kept. */
  rows: number
  task: string
  /** Where it came from, for the list: "sample: spam-ham.csv", "file: mine.csv". */
  source: string
  createdAt: number
  lastUsedAt: number
  /** Roles the user chose after parsing (tables); applied again when the dataset is opened. */
  roles?: Roles
  /** A separate validation file stored with it. */
  validationName?: string
  images?: ImageSetInfo
}

interface TableRecord {
  id: string
  dataset: Dataset
  validation?: Dataset
}

interface Schema extends DBSchema {
  meta: { key: string; value: StoredDatasetMeta }
  tables: { key: string; value: TableRecord }
  /** Key [datasetId, index]. */
  images: { key: [string, number]; value: StoredImage & { id: string; index: number } }
  kv: { key: string; value: { key: string; value: string } }
}

const LAST = 'last-used'

export class DatasetStore {
  private stamp = 0

  private constructor(private readonly db: IDBPDatabase<Schema>) {}

  /** Null where there is no IndexedDB (Node without a fake, private modes that refuse it). */
  static async open(name = DATASETS_DB): Promise<DatasetStore | null> {
    if (typeof indexedDB === 'undefined') return null
    try {
      const db = await openDB<Schema>(name, Versions.Initial, {
        upgrade(db, oldVersion) {
          if (oldVersion < Versions.Initial) {
            db.createObjectStore('meta', { keyPath: 'id' })
            db.createObjectStore('tables', { keyPath: 'id' })
            db.createObjectStore('images', { keyPath: ['id', 'index'] })
            db.createObjectStore('kv', { keyPath: 'key' })
          }
        },
      })
      return new DatasetStore(db)
    } catch {
      return null
    }
  }

  close(): void {
    this.db.close()
  }

  /** Most recently used first. */
  async list(): Promise<StoredDatasetMeta[]> {
    const all = await this.db.getAll('meta')
    return all.sort((a, b) => b.lastUsedAt - a.lastUsedAt)
  }

  getMeta(id: string): Promise<StoredDatasetMeta | undefined> {
    return this.db.get('meta', id)
  }

  /** Stores (or replaces) a parsed table under `meta.id`. */
  async putTable(meta: StoredDatasetMeta, dataset: Dataset, validation?: Dataset): Promise<void> {
    await this.delete(meta.id)
    const tx = this.db.transaction(['meta', 'tables'], 'readwrite')
    await tx.objectStore('tables').put({ id: meta.id, dataset, ...(validation ? { validation } : {}) })
    await tx.objectStore('meta').put(meta)
    await tx.done
  }

  async getTable(id: string): Promise<{ meta: StoredDatasetMeta; dataset: Dataset; validation?: Dataset } | undefined> {
    const tx = this.db.transaction(['meta', 'tables'], 'readonly')
    const [meta, rec] = await Promise.all([tx.objectStore('meta').get(id), tx.objectStore('tables').get(id)])
    await tx.done
    if (!meta || !rec) return undefined
    return { meta, dataset: rec.dataset, ...(rec.validation ? { validation: rec.validation } : {}) }
  }

  /** Adds or removes the separate validation file of a stored table. */
  async setValidation(id: string, validation: Dataset | null): Promise<void> {
    const tx = this.db.transaction(['meta', 'tables'], 'readwrite')
    const rec = await tx.objectStore('tables').get(id)
    const meta = await tx.objectStore('meta').get(id)
    if (rec && meta) {
      const { validation: _old, ...rest } = rec
      void _old
      await tx.objectStore('tables').put(validation ? { ...rest, validation } : rest)
      const { validationName: _n, ...m } = meta
      void _n
      await tx.objectStore('meta').put(validation ? { ...m, validationName: validation.name } : m)
    }
    await tx.done
  }

  async updateMeta(id: string, patch: Partial<Omit<StoredDatasetMeta, 'id'>>): Promise<void> {
    const tx = this.db.transaction('meta', 'readwrite')
    const meta = await tx.store.get(id)
    if (meta) await tx.store.put({ ...meta, ...patch })
    await tx.done
  }

  /** Starts an image set: its meta (filled in by finishImages) and no images yet. */
  async beginImages(meta: StoredDatasetMeta): Promise<void> {
    await this.delete(meta.id)
    await this.db.put('meta', meta)
  }

  /** Writes a batch of encoded images in one transaction. */
  async addImages(id: string, images: { index: number; image: StoredImage }[]): Promise<void> {
    const tx = this.db.transaction('images', 'readwrite')
    await Promise.all(images.map(({ index, image }) => tx.store.put({ ...image, id, index })))
    await tx.done
  }

  async getImage(id: string, index: number): Promise<StoredImage | undefined> {
    const rec = await this.db.get('images', [id, index])
    if (!rec) return undefined
    return { bytes: rec.bytes, mime: rec.mime, path: rec.path, label: rec.label }
  }

  async getImages(id: string, indices: readonly number[]): Promise<StoredImage[]> {
    const tx = this.db.transaction('images', 'readonly')
    const recs = await Promise.all(indices.map((i) => tx.store.get([id, i])))
    await tx.done
    return recs.map((r, k) => {
      if (!r) throw new Error(`Image ${indices[k]} of dataset ${id} is missing from storage.`)
      return { bytes: r.bytes, mime: r.mime, path: r.path, label: r.label }
    })
  }

  async delete(id: string): Promise<void> {
    const tx = this.db.transaction(['meta', 'tables', 'images', 'kv'], 'readwrite')
    await tx.objectStore('meta').delete(id)
    await tx.objectStore('tables').delete(id)
    await tx.objectStore('images').delete(IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]))
    const last = await tx.objectStore('kv').get(LAST)
    if (last?.value === id) await tx.objectStore('kv').delete(LAST)
    await tx.done
  }

  /** Marks a dataset as the one to open on the next visit. */
  async markUsed(id: string): Promise<void> {
    const tx = this.db.transaction(['meta', 'kv'], 'readwrite')
    const meta = await tx.objectStore('meta').get(id)
    // Strictly increasing, so two uses within one millisecond still order the list.
    this.stamp = Math.max(Date.now(), this.stamp + 1)
    if (meta) await tx.objectStore('meta').put({ ...meta, lastUsedAt: this.stamp })
    await tx.objectStore('kv').put({ key: LAST, value: id })
    await tx.done
  }

  async lastUsed(): Promise<string | undefined> {
    return (await this.db.get('kv', LAST))?.value
  }
}

/** A stable id for a file: same name and size replace the earlier copy. */
export function datasetId(kind: 'table' | 'images', name: string, bytes: number): string {
  return `${kind}:${name}:${bytes}`
}
