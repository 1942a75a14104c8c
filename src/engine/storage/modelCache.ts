import { openDB, type IDBPDatabase } from 'idb'

/** Downloaded models kept in IndexedDB by URL, so a second load needs no network. Its own
 *  database, so clearing it never touches datasets or checkpoints. */
export const MODEL_CACHE_DB = 'studio-model-cache'
const STORE = 'models'

export interface CachedModel {
  url: string
  modelJson: unknown // the parsed model.json
  weights: ArrayBuffer[] // one buffer per weights group, in manifest order
  bytes: number
  savedAt: number
}

export interface ModelCache {
  get(url: string): Promise<CachedModel | undefined>
  put(entry: CachedModel): Promise<void>
  delete(url: string): Promise<void>
}

let db: Promise<IDBPDatabase> | null = null
function open(): Promise<IDBPDatabase> {
  db ??= openDB(MODEL_CACHE_DB, 1, {
    upgrade(d) {
      d.createObjectStore(STORE, { keyPath: 'url' })
    },
  })
  return db
}

/** The IndexedDB cache, or null where there is no IndexedDB (Node without a fake). */
export function indexedDbModelCache(): ModelCache | null {
  if (typeof indexedDB === 'undefined') return null
  return {
    get: async (url) => (await (await open()).get(STORE, url)) as CachedModel | undefined,
    put: async (entry) => {
      await (await open()).put(STORE, entry)
    },
    delete: async (url) => {
      await (await open()).delete(STORE, url)
    },
  }
}
