// TensorFlow.js belongs in the worker. This builds the app as `npm run build` does and checks
// the code index.html loads on the main thread — its module scripts and every chunk they
// import, statically or dynamically — for strings only tfjs carries. The worker's own chunks
// (reached through `new Worker(new URL(…))`, not an import) must carry them, which shows the
// check would see tfjs if a page module pulled it in.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Kernel names registered by tfjs-core, its flag names and one of its error messages: a page
// that bundled any part of tfjs-core would carry several of these.
const TFJS_MARKERS = ['BatchMatMul', 'FusedConv2D', 'DepthwiseConv2dNative', 'TENSORLIKE_CHECK_SHAPE_CONSISTENCY', 'DEPRECATION_WARNINGS_ENABLED', 'KEEP_INTERMEDIATE_TENSORS', 'Tensor is disposed']

let outDir = ''

beforeAll(async () => {
  outDir = await mkdtemp(path.join(os.tmpdir(), 'studio-main-bundle-'))
  await build({ configFile: path.resolve(__dirname, '../vite.config.ts'), mode: 'production', logLevel: 'silent', build: { outDir, emptyOutDir: true } })
}, 240_000)

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true })
})

const read = (rel: string) => readFile(path.join(outDir, rel.replace(/^\//, '')), 'utf8')

/** Chunks a chunk imports (static `from"./x.js"`, `import"./x.js"`, dynamic `import("./x.js")`,
 *  Vite's preload list "assets/x.js"), relative to the output folder; workers excluded. */
function importedChunks(chunk: string, text: string): { imports: string[]; workers: string[] } {
  const dir = path.posix.dirname(chunk)
  const workers = [...text.matchAll(/new Worker\(\s*new URL\(\s*[`'"]([^`'"]+)[`'"]/g)].map((m) => m[1]!)
  const toRel = (spec: string) => (spec.startsWith('/') ? spec.slice(1) : spec.startsWith('assets/') ? spec : path.posix.join(dir, spec))
  const specs = new Set<string>()
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)[`'"](\.{1,2}\/[^`'"]+\.js)[`'"]/g)) specs.add(m[1]!)
  for (const m of text.matchAll(/[`'"]((?:\/)?assets\/[^`'"]+\.js)[`'"]/g)) specs.add(m[1]!)
  const workerSet = new Set(workers.map(toRel))
  return { imports: [...specs].map(toRel).filter((s) => !workerSet.has(s)), workers: [...workerSet] }
}

/** Every chunk reachable from `roots` by imports, with its text. */
async function closure(roots: string[]): Promise<{ files: Map<string, string>; workers: Set<string> }> {
  const files = new Map<string, string>()
  const workers = new Set<string>()
  const queue = [...roots]
  while (queue.length) {
    const f = queue.shift()!
    if (files.has(f)) continue
    const text = await read(f)
    files.set(f, text)
    const { imports, workers: w } = importedChunks(f, text)
    w.forEach((x) => workers.add(x))
    queue.push(...imports)
  }
  return { files, workers }
}

const markersIn = (files: Map<string, string>) => [...files].flatMap(([f, text]) => TFJS_MARKERS.filter((m) => text.includes(m)).map((m) => `${f}: ${m}`))

describe('the main-thread bundle', () => {
  it('loads no TensorFlow.js; the worker it starts does', async () => {
    const html = await read('index.html')
    const roots = [...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g), ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]!.replace(/^\//, ''))
    expect(roots.length).toBeGreaterThanOrEqual(1)
    const page = await closure(roots)
    expect(markersIn(page.files)).toEqual([])

    // The page starts exactly one worker, and tfjs is in what that worker loads.
    expect([...page.workers]).toHaveLength(1)
    const worker = await closure([...page.workers])
    const found = new Set(markersIn(worker.files).map((s) => s.split(': ')[1]))
    expect(found.size).toBeGreaterThanOrEqual(5)
  }, 240_000)
})
