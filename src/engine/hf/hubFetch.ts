/**
 * Downloading a Hugging Face repository's files by URL
 * (https://huggingface.co/<repo>/resolve/<revision>/<file>; the Hub redirects large files to its
 * CDN, cdn-lfs*.huggingface.co or cas-bridge.xethub.hf.co, which fetch follows), with progress,
 * resume by HTTP Range after a cut connection, and a cache in IndexedDB so a reload does not
 * fetch the files again: it also remembers which optional files a revision does not have (a 404
 * once), so a model whose files are stored loads with no request at all. HTTP failures become
 * messages that say what to check: a repo id that does not exist, a gated or private repo, a
 * file the repo lacks.
 */
import { openDB, type IDBPDatabase } from 'idb'
import { ModelLoadError } from '../models/modelLoadError'
import { parseShardIndex } from './safetensors'

export const HUB = 'https://huggingface.co'

/** Repo ids are "name" or "owner/name" of letters, digits, '-', '_', '.'. */
const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/

export function checkRepoId(repo: string): string {
  const r = repo.trim()
  if (!REPO_ID.test(r) || r.includes('..') || r.endsWith('.')) throw new ModelLoadError(`"${repo}" is not a Hugging Face repo id. Type it as owner/name, for example openai-community/gpt2 or HuggingFaceTB/SmolLM2-135M.`, repo)
  return r
}

export function hubFileUrl(repo: string, file: string, revision = 'main', base = HUB): string {
  return `${base}/${checkRepoId(repo)}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`
}

export interface FetchInit {
  method?: string
  headers?: Record<string, string>
}
export type FetchFn = (url: string, init?: FetchInit) => Promise<Response>

export interface DownloadOptions {
  fetchFn?: FetchFn
  /** bytes so far, total (null until known) */
  onProgress?: (loaded: number, total: number | null) => void
  /** How many times a cut connection is resumed before giving up (default 4). */
  retries?: number
  /** Wait before a resume, ms (default 500; tests use 0). */
  retryDelayMs?: number
  /** The repo and file the URL is for, for messages. */
  what?: { repo: string; file: string; revision?: string }
}

function describeHttp(res: Response, url: string, what?: DownloadOptions['what']): ModelLoadError {
  const code = res.headers.get('x-error-code')
  const file = what?.file ?? url
  const repo = what?.repo ?? url
  const rev = what?.revision && what.revision !== 'main' ? ` at revision "${what.revision}"` : ''
  if (code === 'GatedRepo' || (res.status === 403 && code !== 'RepoNotFound')) {
    return new ModelLoadError(`${repo} is a gated model: its files need you to accept its licence on huggingface.co and a signed-in download. Download the files there and load them from your disk instead (config.json, model.safetensors, tokenizer.json, tokenizer_config.json).`, file)
  }
  if (code === 'RepoNotFound' || res.status === 401) {
    return new ModelLoadError(`Repo "${repo}" not found on the Hugging Face Hub (or it is private or gated). Check the id (owner/name, as in the model page's address), or download the files and load them from your disk.`, file)
  }
  if (code === 'RevisionNotFound') return new ModelLoadError(`Revision "${what?.revision ?? ''}" not found in ${repo}. Check the branch, tag or commit name, or leave the revision empty for main.`, file)
  if (res.status === 404) return new ModelLoadError(`File ${file} not found in ${repo}${rev}. Check the repo id and revision; the studio needs config.json and model.safetensors (or a sharded set with model.safetensors.index.json).`, file)
  return new ModelLoadError(`Could not download ${file} from ${repo}${rev} (HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}). Try again later, or load the files from your disk.`, file)
}

/** A download that got no answer at all (offline, a firewall, a host the security policy does
 *  not list): fetch itself failed every try and not one byte came. */
export class HubUnreachableError extends ModelLoadError {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Total size from a 206's Content-Range ("bytes 100-199/1000"). */
function rangeTotal(res: Response): number | null {
  const m = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '')
  return m ? Number(m[1]) : null
}

/** Downloads one URL with progress. If the connection is cut mid-body, asks for the rest with
 *  `Range: bytes=<received>-` (a server that answers 200 instead of 206 is read from the start
 *  again), up to `retries` times. A body shorter than its Content-Length is refused. */
export async function downloadWithResume(url: string, opts: DownloadOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const fetchFn: FetchFn = opts.fetchFn ?? ((u, i) => fetch(u, i))
  const retries = opts.retries ?? 4
  const delay = opts.retryDelayMs ?? 500
  const name = opts.what?.file ?? url
  let chunks: Uint8Array[] = []
  let got = 0
  let total: number | null = null
  let failures = 0
  let lastError = ''
  let answered = false
  for (;;) {
    let res: Response
    try {
      res = await fetchFn(url, got > 0 ? { headers: { Range: `bytes=${got}-` } } : undefined)
      answered = true
    } catch {
      // The browser's own words ("Failed to fetch", "network error") say nothing to act on.
      lastError = 'no answer from the server'
      if (++failures > retries) break
      await sleep(delay)
      continue
    }
    if (!res.ok) throw describeHttp(res, url, opts.what)
    if (got > 0 && res.status !== 206) {
      chunks = [] // the server ignored Range: it sends the whole file again
      got = 0
    }
    if (total == null) {
      const len = Number(res.headers.get('content-length'))
      total = res.status === 206 ? rangeTotal(res) : Number.isFinite(len) && res.headers.get('content-length') != null ? len : null
    }
    opts.onProgress?.(got, total)
    try {
      if (!res.body) {
        const all = new Uint8Array(await res.arrayBuffer())
        chunks.push(all)
        got += all.length
      } else {
        const reader = res.body.getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          chunks.push(value)
          got += value.length
          opts.onProgress?.(got, total)
        }
      }
    } catch {
      lastError = `the connection dropped after ${got} bytes`
      if (++failures > retries) break
      await sleep(delay)
      continue
    }
    if (total != null && got < total) {
      lastError = `the server closed the connection after ${got} of ${total} bytes`
      if (++failures > retries) break
      await sleep(delay)
      continue
    }
    const out = new Uint8Array(got)
    let at = 0
    for (const c of chunks) {
      out.set(c, at)
      at += c.length
    }
    return out
  }
  const message = `The download of ${name} was cut off after ${got}${total != null ? ` of ${total}` : ''} bytes and did not resume after ${retries} tries (${lastError}). Check the connection and load the model again.`
  if (!answered) throw new HubUnreachableError(message, name)
  throw new ModelLoadError(message, name)
}

/** The size of a file without downloading it (HEAD; the Hub gives LFS files' real size in
 *  X-Linked-Size, since Content-Length there is the redirect's). Null when the server says not. */
export async function probeSize(url: string, opts: Pick<DownloadOptions, 'fetchFn' | 'what'> = {}): Promise<number | null> {
  const fetchFn: FetchFn = opts.fetchFn ?? ((u, i) => fetch(u, i))
  const res = await fetchFn(url, { method: 'HEAD' })
  if (!res.ok) throw describeHttp(res, url, opts.what)
  const n = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length'))
  return Number.isFinite(n) && n > 0 ? n : null
}

// ---- cache -------------------------------------------------------------------------------

/** Downloaded Hub files kept in IndexedDB, in chunks (one huge record runs browsers out of
 *  memory near 1–2 GB). Its own database, so clearing it touches nothing else. */
export const HUB_CACHE_DB = 'studio-hf-cache'
const CHUNK = 32 * 1024 * 1024

export interface CachedFileInfo {
  url: string
  repo: string
  revision: string
  file: string
  bytes: number
  chunks: number
  savedAt: number
  /** A record of what the Hub said rather than a file: 'absent', an optional file the revision
   *  does not have (a 404, remembered so a stored model's load asks nothing); 'whole', every
   *  file a load of this revision reads is stored (written after a load from them succeeded). */
  note?: 'absent' | 'whole'
}

export interface HubCache {
  get(url: string): Promise<Uint8Array | undefined>
  put(info: Omit<CachedFileInfo, 'bytes' | 'chunks' | 'savedAt' | 'note'>, bytes: Uint8Array): Promise<void>
  /** Whether the file at `url` is known not to exist (markAbsent). */
  isAbsent(url: string): Promise<boolean>
  /** Remembers that the revision has no such file (an optional file's 404). */
  markAbsent(info: Omit<CachedFileInfo, 'bytes' | 'chunks' | 'savedAt' | 'note'>): Promise<void>
  /** Says that every file a load of repo@revision reads is stored (or known absent). */
  markWhole(repo: string, revision: string): Promise<void>
  /** The stored files (not the records of absent files or of a whole revision). */
  list(): Promise<CachedFileInfo[]>
  /** The revisions marked whole, as "repo@revision". */
  wholeRevisions(): Promise<Set<string>>
  /** Deletes the files of one revision of a repo (other revisions stay); returns the bytes freed. */
  deleteRevision(repo: string, revision: string): Promise<number>
}

/** The IndexedDB cache, or null where there is no IndexedDB. */
export function indexedDbHubCache(dbName = HUB_CACHE_DB, chunkBytes = CHUNK): HubCache | null {
  if (typeof indexedDB === 'undefined') return null
  let db: Promise<IDBPDatabase> | null = null
  const open = () =>
    (db ??= openDB(dbName, 1, {
      upgrade(d) {
        d.createObjectStore('files', { keyPath: 'url' })
        d.createObjectStore('chunks') // key: [url, index]
      },
    }))
  return {
    async get(url) {
      const d = await open()
      const info = (await d.get('files', url)) as CachedFileInfo | undefined
      if (!info || info.note) return undefined
      const out = new Uint8Array(info.bytes)
      let at = 0
      for (let i = 0; i < info.chunks; i++) {
        const part = (await d.get('chunks', [url, i])) as ArrayBuffer | undefined
        if (!part) return undefined // an interrupted write: treat as absent
        out.set(new Uint8Array(part), at)
        at += part.byteLength
      }
      return at === info.bytes ? out : undefined
    },
    async put(meta, bytes) {
      const d = await open()
      const n = Math.max(1, Math.ceil(bytes.length / chunkBytes))
      // chunks first, the file record last: a reader never sees a record whose chunks are missing
      for (let i = 0; i < n; i++) await d.put('chunks', bytes.slice(i * chunkBytes, (i + 1) * chunkBytes).buffer, [meta.url, i])
      await d.put('files', { ...meta, bytes: bytes.length, chunks: n, savedAt: Date.now() } satisfies CachedFileInfo)
    },
    async isAbsent(url) {
      return ((await (await open()).get('files', url)) as CachedFileInfo | undefined)?.note === 'absent'
    },
    async markAbsent(meta) {
      await (await open()).put('files', { ...meta, bytes: 0, chunks: 0, savedAt: Date.now(), note: 'absent' } satisfies CachedFileInfo)
    },
    async markWhole(repo, revision) {
      await (await open()).put('files', { url: wholeKey(repo, revision), repo, revision, file: '', bytes: 0, chunks: 0, savedAt: Date.now(), note: 'whole' } satisfies CachedFileInfo)
    },
    async list() {
      return ((await (await open()).getAll('files')) as CachedFileInfo[]).filter((f) => !f.note).sort((a, b) => a.repo.localeCompare(b.repo) || a.file.localeCompare(b.file))
    },
    async wholeRevisions() {
      return new Set(((await (await open()).getAll('files')) as CachedFileInfo[]).filter((f) => f.note === 'whole').map((f) => `${f.repo}@${f.revision}`))
    },
    async deleteRevision(repo, revision) {
      const d = await open()
      let freed = 0
      for (const info of (await d.getAll('files')) as CachedFileInfo[]) {
        if (info.repo !== repo || info.revision !== revision) continue
        await d.delete('files', info.url)
        for (let i = 0; i < info.chunks; i++) await d.delete('chunks', [info.url, i])
        freed += info.bytes
      }
      return freed
    },
  }
}

/** The key of a revision's 'whole' record (not a URL, so no file's). */
const wholeKey = (repo: string, revision: string) => `whole:${repo}@${revision}`

// ---- a repo's files ------------------------------------------------------------------------

export interface HubRepoFiles {
  repo: string
  revision: string
  files: Map<string, Uint8Array>
  /** Files that came from the cache rather than the network. */
  fromCache: string[]
}

/** What a file's lookup found in the cache before any request: a stored file was read from it
 *  (fromCache), a known-absent optional one was not asked for (knownAbsent). */
export interface CacheHits {
  fromCache: string[]
  knownAbsent: string[]
}

export interface RepoOptions extends Omit<DownloadOptions, 'onProgress' | 'what'> {
  revision?: string
  base?: string
  cache?: HubCache | null
  /** per file: name, bytes so far, total */
  onProgress?: (file: string, loaded: number, total: number | null) => void
}

/** Fetches (or reads from the cache) one file of a repo; `optional` files that do not exist
 *  come back as null instead of an error, and the cache remembers they do not, so the next
 *  load of the revision does not ask again. */
export async function hubFile(repo: string, file: string, opts: RepoOptions & { optional?: boolean }, hits?: CacheHits): Promise<Uint8Array | null> {
  const revision = opts.revision || 'main'
  const url = hubFileUrl(repo, file, revision, opts.base)
  const cached = await opts.cache?.get(url)
  if (cached) {
    hits?.fromCache.push(file)
    opts.onProgress?.(file, cached.length, cached.length)
    return cached
  }
  if (opts.optional && (await opts.cache?.isAbsent(url))) {
    hits?.knownAbsent.push(file)
    return null
  }
  try {
    const bytes = await downloadWithResume(url, { ...opts, what: { repo, file, revision }, onProgress: (l, t) => opts.onProgress?.(file, l, t) })
    await opts.cache?.put({ url, repo, revision, file }, bytes)
    return bytes
  } catch (e) {
    if (opts.optional && e instanceof ModelLoadError && /^File .* not found in /.test(e.message)) {
      await opts.cache?.markAbsent({ url, repo, revision, file })
      return null
    }
    throw e
  }
}

/** The files the studio needs from a model repo: config.json, model.safetensors or a sharded
 *  set (index + shards), and the tokenizer and generation configs when present. */
export async function fetchHubRepo(repoId: string, opts: RepoOptions = {}): Promise<HubRepoFiles> {
  const repo = checkRepoId(repoId)
  const revision = opts.revision || 'main'
  const files = new Map<string, Uint8Array>()
  const hits: CacheHits = { fromCache: [], knownAbsent: [] }
  const get = async (file: string, optional = false) => {
    const b = await hubFile(repo, file, { ...opts, revision, optional }, hits)
    if (b) files.set(file, b)
    return b
  }
  await get('config.json')
  const index = await get('model.safetensors.index.json', true)
  if (index) {
    for (const shard of parseShardIndex(new TextDecoder().decode(index)).shards) await get(shard)
  } else {
    await get('model.safetensors')
  }
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) await get(f, true)
  return { repo, revision, files, fromCache: hits.fromCache }
}
