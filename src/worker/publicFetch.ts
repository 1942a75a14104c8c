// Test support only (imported by the worker's Node tests, never by the app): the fetch the
// handler gets in Node, serving the repository's public/ folder as the page's server would.
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'

const root = resolve(__dirname, '../..')

/** `http://app/<path>` → public/<path>; a missing file is a 404, as in the page. */
export const publicFetch = (async (url: string | URL | Request) => {
  const path = String(url).replace(/^http:\/\/app\//, '')
  try {
    return new Response(await readFile(resolve(root, 'public', path)))
  } catch {
    return new Response('missing', { status: 404 })
  }
}) as typeof fetch
