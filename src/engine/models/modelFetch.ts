/** Fetching the files a model.json names: one home for the three model loaders. */

type FetchFn = (url: string) => Promise<Response>

/** Fetches `url`, turning network failures and HTTP errors into messages naming the URL. */
export async function fetchOk(fetchFn: FetchFn, url: string): Promise<Response> {
  let res: Response
  try {
    res = await fetchFn(url)
  } catch (e) {
    throw new Error(`Could not fetch ${url}: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!res.ok) throw new Error(`Could not fetch ${url} (HTTP ${res.status})`)
  return res
}

/** Reads a body chunk by chunk so callers can show progress; falls back to arrayBuffer(). */
export async function readBody(res: Response, onChunk: (bytes: number) => void): Promise<Uint8Array> {
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer())
    onChunk(all.length)
    return all
  }
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    length += value.length
    onChunk(value.length)
  }
  const all = new Uint8Array(length)
  let at = 0
  for (const c of chunks) {
    all.set(c, at)
    at += c.length
  }
  return all
}
