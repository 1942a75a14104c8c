// The real download code against a real HTTP server on 127.0.0.1 (node:http) that serves the
// fixture files the way the Hub does: /<repo>/resolve/<revision>/<file>, Range requests answered
// with 206, X-Error-Code headers on errors, and one route that cuts the connection mid-body.
import 'fake-indexeddb/auto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CSP_DIRECTIVES } from '../../../csp.config'
import { ModelLoadError } from '../models/modelLoadError'
import { checkRepoId, downloadWithResume, fetchHubRepo, HubUnreachableError, hubFileUrl, indexedDbHubCache, probeSize } from './hubFetch'
import { loadShardedSafetensors, parseSafetensors, writeSafetensors } from './safetensors'

const FIX = path.join(__dirname, 'fixtures')
const gpt2Weights = new Uint8Array(readFileSync(path.join(FIX, 'gpt2', 'model.safetensors')))
const gpt2Config = new Uint8Array(readFileSync(path.join(FIX, 'gpt2', 'config.json')))
const shardA = writeSafetensors([{ name: 'a', shape: [3], data: new Float32Array([1, 2, 3]) }])
const shardB = writeSafetensors([{ name: 'b', shape: [2], data: new Float32Array([4, 5]) }])
const shardIndex = new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 20 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }))

// repo → file → bytes
const REPOS: Record<string, Record<string, Uint8Array>> = {
  'fixtures/gpt2': { 'config.json': gpt2Config, 'model.safetensors': gpt2Weights, 'tokenizer_config.json': new TextEncoder().encode('{"eos_token":"<|endoftext|>"}') },
  'fixtures/cut': { 'config.json': gpt2Config, 'model.safetensors': gpt2Weights },
  'fixtures/no-range': { 'model.safetensors': gpt2Weights },
  'fixtures/sharded': { 'config.json': gpt2Config, 'model.safetensors.index.json': shardIndex, 'model-00001-of-00002.safetensors': shardA, 'model-00002-of-00002.safetensors': shardB },
}
const log: { url: string; range: string | undefined; method: string }[] = []
let cutsLeft = 0

function handle(req: IncomingMessage, res: ServerResponse) {
  log.push({ url: req.url!, range: req.headers.range, method: req.method! })
  const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(req.url!)
  if (!m) return void res.writeHead(404).end()
  const [, repo, rev, file] = m as unknown as [string, string, string, string]
  if (repo === 'meta-llama/Llama-3.2-1B') return void res.writeHead(401, { 'x-error-code': 'GatedRepo' }).end('Access to model is restricted')
  const files = REPOS[repo]
  if (!files) return void res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end('Repository not found')
  if (rev !== 'main') return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end()
  const body = files[decodeURIComponent(file)]
  if (!body) return void res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found')
  if (req.method === 'HEAD') return void res.writeHead(200, { 'content-length': '1234', 'x-linked-size': String(body.length) }).end()
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
  if (range && repo !== 'fixtures/no-range') {
    const from = Number(range[1])
    res.writeHead(206, { 'content-length': String(body.length - from), 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` })
    return void res.end(body.subarray(from))
  }
  res.writeHead(200, { 'content-length': String(body.length), 'accept-ranges': 'bytes' })
  if ((repo === 'fixtures/cut' || repo === 'fixtures/no-range') && file === 'model.safetensors' && cutsLeft > 0) {
    cutsLeft--
    // send a bit more than a third, then drop the connection
    res.write(body.subarray(0, Math.floor(body.length / 3)), () => setTimeout(() => res.socket?.destroy(), 20))
    return
  }
  res.end(body)
}

let server: Server
let base = ''
beforeAll(async () => {
  server = createServer(handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const fast = { retryDelayMs: 0 }

describe('Hub URLs and repo ids', () => {
  it('builds resolve URLs and refuses ids that are not owner/name', () => {
    expect(hubFileUrl('openai-community/gpt2', 'model.safetensors')).toBe('https://huggingface.co/openai-community/gpt2/resolve/main/model.safetensors')
    expect(hubFileUrl('gpt2', 'config.json', 'refs/pr/1')).toBe('https://huggingface.co/gpt2/resolve/refs%2Fpr%2F1/config.json')
    expect(checkRepoId(' HuggingFaceTB/SmolLM2-135M ')).toBe('HuggingFaceTB/SmolLM2-135M')
    for (const bad of ['', 'a/b/c', '../etc', 'https://huggingface.co/gpt2', 'x y']) expect(() => checkRepoId(bad)).toThrow(/is not a Hugging Face repo id\. Type it as owner\/name/)
  })
})

describe('downloads from a local server', () => {
  it('fetches a repo’s files with progress, then a second load comes from the IndexedDB cache without the network', async () => {
    const cache = indexedDbHubCache('hub-test-1', 16 * 1024)! // small chunks: the 120 kB file spans 8 records
    const progress: [string, number, number | null][] = []
    log.length = 0
    const first = await fetchHubRepo('fixtures/gpt2', { base, cache, ...fast, onProgress: (f, l, t) => progress.push([f, l, t]) })
    expect([...first.files.keys()].sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json'])
    expect(Buffer.from(first.files.get('model.safetensors')!).equals(Buffer.from(gpt2Weights))).toBe(true)
    const weights = progress.filter(([f]) => f === 'model.safetensors')
    expect(weights.at(-1)).toEqual(['model.safetensors', gpt2Weights.length, gpt2Weights.length])
    expect(weights.every(([, , t]) => t === gpt2Weights.length)).toBe(true)
    expect(weights.map(([, l]) => l)).toEqual([...weights.map(([, l]) => l)].sort((a, b) => a - b))
    expect(first.fromCache).toEqual([])
    const requests = log.length
    expect(requests).toBe(6) // config, index (404), weights, tokenizer.json (404), tokenizer_config, generation_config (404)

    // the three files the repo does not have are remembered as absent: the second load asks nothing,
    // and needs no network at all (a fetch that always fails, as offline)
    const second = await fetchHubRepo('fixtures/gpt2', { base, cache, ...fast })
    expect(log.length - requests).toBe(0)
    expect(second.fromCache.sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json'])
    const offline = await fetchHubRepo('fixtures/gpt2', { base, cache, ...fast, fetchFn: () => Promise.reject(new TypeError('Failed to fetch')) })
    expect([...offline.files.keys()].sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json'])
    expect(Buffer.from(second.files.get('model.safetensors')!).equals(Buffer.from(gpt2Weights))).toBe(true)
    expect(parseSafetensors(second.files.get('model.safetensors')!).tensors.size).toBe(28) // wte, wpe, 2 blocks × 12, ln_f weight and bias

    const listed = await cache.list()
    expect(listed.map((f) => [f.repo, f.file, f.bytes, f.chunks])).toEqual([
      ['fixtures/gpt2', 'config.json', gpt2Config.length, 1],
      ['fixtures/gpt2', 'model.safetensors', gpt2Weights.length, Math.ceil(gpt2Weights.length / (16 * 1024))],
      ['fixtures/gpt2', 'tokenizer_config.json', 29, 1],
    ])
    expect(await cache.deleteRevision('fixtures/gpt2', 'main')).toBe(gpt2Config.length + gpt2Weights.length + 29)
    expect(await cache.list()).toEqual([])
    // the absent files' records went with the revision: the next load asks for all six again
    log.length = 0
    await fetchHubRepo('fixtures/gpt2', { base, cache, ...fast })
    expect(log.map((r) => r.url.slice(r.url.lastIndexOf('/') + 1))).toEqual(['config.json', 'model.safetensors.index.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
  })

  it('tells a download that got no answer at all (offline) from one cut off after an answer', async () => {
    const url = hubFileUrl('fixtures/gpt2', 'config.json', 'main', base)
    const offline = downloadWithResume(url, { ...fast, retries: 1, fetchFn: () => Promise.reject(new TypeError('Failed to fetch')) })
    await expect(offline).rejects.toBeInstanceOf(HubUnreachableError)
    cutsLeft = 10
    const cut = downloadWithResume(hubFileUrl('fixtures/no-range', 'model.safetensors', 'main', base), { ...fast, retries: 1 }).catch((e: unknown) => e)
    expect(await cut).toBeInstanceOf(ModelLoadError)
    expect(await cut).not.toBeInstanceOf(HubUnreachableError)
    cutsLeft = 0
  })

  it('deletes one stored revision of a repo: the other revision stays whole and readable', async () => {
    const cache = indexedDbHubCache('hub-test-revisions', 16 * 1024)!
    const url = (rev: string, file: string) => hubFileUrl('fixtures/gpt2', file, rev, base)
    for (const rev of ['main', 'abc123']) {
      await cache.put({ url: url(rev, 'config.json'), repo: 'fixtures/gpt2', revision: rev, file: 'config.json' }, gpt2Config)
      await cache.put({ url: url(rev, 'model.safetensors'), repo: 'fixtures/gpt2', revision: rev, file: 'model.safetensors' }, gpt2Weights)
    }
    expect(await cache.deleteRevision('fixtures/gpt2', 'abc123')).toBe(gpt2Config.length + gpt2Weights.length)
    expect((await cache.list()).map((f) => [f.revision, f.file])).toEqual([
      ['main', 'config.json'],
      ['main', 'model.safetensors'],
    ])
    expect(Buffer.from((await cache.get(url('main', 'model.safetensors')))!).equals(Buffer.from(gpt2Weights))).toBe(true)
    expect(await cache.get(url('abc123', 'model.safetensors'))).toBeUndefined()
  })

  it('resumes a download cut mid-body with a Range request and gets every byte', async () => {
    cutsLeft = 2
    log.length = 0
    const seen: number[] = []
    const url = hubFileUrl('fixtures/cut', 'model.safetensors', 'main', base)
    const bytes = await downloadWithResume(url, { ...fast, onProgress: (l) => seen.push(l) })
    expect(Buffer.from(bytes).equals(Buffer.from(gpt2Weights))).toBe(true)
    const third = Math.floor(gpt2Weights.length / 3)
    // the whole file asked for, cut after a third; then only the rest, by Range (the route cuts only full responses)
    expect(log.map((r) => r.range)).toEqual([undefined, `bytes=${third}-`])
    expect(seen).toContain(third)
    expect(seen.at(-1)).toBe(gpt2Weights.length)
    cutsLeft = 0
  })

  it('starts again from zero when the server ignores Range, and gives up with a message after the retries', async () => {
    cutsLeft = 1
    log.length = 0
    const url = hubFileUrl('fixtures/no-range', 'model.safetensors', 'main', base)
    expect(Buffer.from(await downloadWithResume(url, fast)).equals(Buffer.from(gpt2Weights))).toBe(true)
    expect(log.length).toBe(2)
    cutsLeft = 10
    await expect(downloadWithResume(url, { ...fast, retries: 2, what: { repo: 'fixtures/no-range', file: 'model.safetensors' } })).rejects.toThrow(
      new RegExp(`^The download of model\\.safetensors was cut off after \\d+ of ${gpt2Weights.length} bytes and did not resume after 2 tries \\(.+\\)\\. Check the connection and load the model again\\.$`),
    )
    cutsLeft = 0
  })

  it('says what to check for a repo that does not exist, a gated repo, a missing file and a missing revision', async () => {
    await expect(fetchHubRepo('nobody/no-such-model', { base, ...fast })).rejects.toThrow('Repo "nobody/no-such-model" not found on the Hugging Face Hub (or it is private or gated). Check the id')
    await expect(fetchHubRepo('meta-llama/Llama-3.2-1B', { base, ...fast })).rejects.toThrow('meta-llama/Llama-3.2-1B is a gated model: its files need you to accept its licence on huggingface.co')
    await expect(fetchHubRepo('fixtures/no-range', { base, ...fast })).rejects.toThrow('File config.json not found in fixtures/no-range. Check the repo id and revision')
    await expect(fetchHubRepo('fixtures/gpt2', { base, revision: 'v9', ...fast })).rejects.toThrow('Revision "v9" not found in fixtures/gpt2.')
  })

  it('downloads a sharded set through its index, and the shards load', async () => {
    const got = await fetchHubRepo('fixtures/sharded', { base, ...fast })
    expect([...got.files.keys()]).toEqual(['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'])
    const all = await loadShardedSafetensors(new TextDecoder().decode(got.files.get('model.safetensors.index.json')!), async (n) => got.files.get(n)!)
    expect(Array.from(all.tensors.get('b')!.data)).toEqual([4, 5])
  })

  it('reads a file’s size before downloading it (the Hub’s X-Linked-Size, not the redirect’s length)', async () => {
    expect(await probeSize(hubFileUrl('fixtures/gpt2', 'model.safetensors', 'main', base))).toBe(gpt2Weights.length)
  })
})

describe('Content-Security-Policy for the Hub', () => {
  // CSP host-source matching (CSP3 §6.7.2.7): "*.example.com" matches any host ending in ".example.com".
  const matches = (source: string, url: string) => {
    const u = new URL(url)
    const s = /^(https?):\/\/(.+)$/.exec(source)
    if (!s || s[1] + ':' !== u.protocol) return false
    return s[2]!.startsWith('*.') ? u.hostname.endsWith(s[2]!.slice(1)) : u.hostname === s[2]
  }
  const allowedBy = (directive: string, url: string) => (CSP_DIRECTIVES[directive] ?? []).some((src) => matches(src, url))
  // where /resolve/ URLs go: the Hub itself, its LFS CDN (also per region) and the Xet bridge
  const HUB_HOSTS = ['https://huggingface.co/gpt2/resolve/main/config.json', 'https://cdn-lfs.huggingface.co/repos/x', 'https://cdn-lfs-us-1.huggingface.co/repos/x', 'https://cas-bridge.xethub.hf.co/xet-bridge-us/x']

  it('allows the Hub and its download hosts for connect-src only, and nothing else off-site', () => {
    for (const u of HUB_HOSTS) expect(allowedBy('connect-src', u), u).toBe(true)
    for (const d of ['script-src', 'worker-src', 'img-src', 'style-src', 'default-src']) for (const u of HUB_HOSTS) expect(allowedBy(d, u), `${d} ${u}`).toBe(false)
    expect(allowedBy('connect-src', 'https://evil.example.com/x')).toBe(false)
    expect(allowedBy('connect-src', 'https://huggingface.co.evil.com/x')).toBe(false)
  })
})
