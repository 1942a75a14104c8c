/** What the bench page gets from the browser, in Node: the app's files under /models and
 *  /samples (served from public/), and a PNG decoder for the image sample. */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PNG } from 'pngjs'
import type { ImageDecoder } from '../../src/engine/data/images/types'

/** The folder holding public/: the repository, or the packed bench (bench/node/pack.mjs). */
export function publicRoot(): string {
  const fromEnv = process.env.BENCH_PUBLIC
  if (fromEnv) return fromEnv
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'public/models/tiny-lm/model.json'))) return path.join(dir, 'public')
    dir = path.dirname(dir)
  }
  throw new Error('public/models/tiny-lm/model.json not found above the bench; set BENCH_PUBLIC to the folder holding models/ and samples/')
}

/** fetch('/models/…') and fetch('/samples/…') read public/; everything else is refused (the
 *  bench needs no network). */
export function servePublic(): void {
  const root = publicRoot()
  globalThis.fetch = (async (input: RequestInfo | URL) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (!url.startsWith('/')) throw new Error(`the Node bench reads only the app's own files, not ${url}`)
    const file = path.join(root, decodeURIComponent(url.split('?')[0]!))
    if (!file.startsWith(root) || !existsSync(file)) return new Response('not found', { status: 404 })
    return new Response(readFileSync(file))
  }) as typeof fetch
}

export const pngDecoder: ImageDecoder = {
  async decode(bytes, mime) {
    if (mime !== 'image/png') throw new Error(`the Node bench decodes PNG only, not ${mime}`)
    const png = PNG.sync.read(Buffer.from(bytes))
    return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length) }
  },
}
