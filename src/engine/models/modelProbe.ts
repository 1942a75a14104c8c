/** model.json fetched once, to tell which kind of studio model a URL holds before loading it. */
import { CNN_FORMAT } from './cnnFile'
import type { FetchFn } from './modelFile'

/** model.json fetched once: its parsed body, and a fetch that answers that URL from memory
 *  so the loader does not download it twice. */
export interface ModelProbe {
  url: string
  json: unknown
  fetch: FetchFn
}

export async function probeModel(url: string, fetchFn: FetchFn): Promise<ModelProbe> {
  const res = await fetchFn(url)
  if (!res.ok) throw new Error(`Could not fetch ${url} (HTTP ${res.status})`)
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error(`${url.slice(url.lastIndexOf('/') + 1)} is not JSON: choose a studio model.json`)
  }
  return { url, json, fetch: (u) => (u === url ? Promise.resolve(new Response(text, { status: 200 })) : fetchFn(u)) }
}

/** Whether model.json is the studio's image CNN (format "studio-tinycnn"). */
export function isImageModel(p: ModelProbe): boolean {
  return (p.json as { format?: unknown } | null)?.format === CNN_FORMAT
}
