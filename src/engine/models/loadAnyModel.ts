import type { ModelCache } from '../storage/modelCache'
import { LayersBody } from './layersBody'
import { fetchModelJson, loadLayersModel, modelJsonKind, type FetchFn } from './layersLoader'
import { loadTinyGpt, type LoadedTinyGpt } from './modelFile'
import { FILES_BASE } from './filesFetch'
import { fileName, ModelLoadError } from './modelLoadError'

/** Any model.json by URL (or chosen files behind a virtual URL): the studio's own TinyGpt
 *  format, or a TensorFlow.js layers model wrapped as a fine-tunable body. */
export type AnyLoaded =
  | { kind: 'tinygpt'; loaded: LoadedTinyGpt }
  | { kind: 'layers'; body: LayersBody; url: string; fromCache: boolean; diskBytes: number }
  /** Another studio format (e.g. the image CNN): the caller's own loader takes it from here. */
  | { kind: 'other'; format: string; url: string; json: unknown; fetchFn: FetchFn }

export interface AnyLoadOptions {
  fetchFn: FetchFn
  onProgress?: (loadedBytes: number, totalBytes: number) => void
  budgetBytes?: number
  cache?: ModelCache | null
}

export async function loadAnyModel(url: string, opts: AnyLoadOptions): Promise<AnyLoaded> {
  const fromFiles = url.startsWith(FILES_BASE)
  const cache = fromFiles ? null : (opts.cache ?? null)
  // A cached layers model loads without the network, model.json included.
  const cached = cache ? await cache.get(url).catch(() => undefined) : undefined
  const json = cached ? cached.modelJson : await fetchModelJson(opts.fetchFn, url)
  const kind = modelJsonKind(json)
  if (kind === 'studio-tinygpt') {
    return { kind: 'tinygpt', loaded: await loadTinyGpt(url, opts.fetchFn, opts.onProgress) }
  }
  const format = (json as { format?: unknown } | null)?.format
  if (typeof format === 'string' && format.startsWith('studio-')) return { kind: 'other', format, url, json, fetchFn: opts.fetchFn }
  const loaded = await loadLayersModel(url, json, { ...opts, cache })
  try {
    return { kind: 'layers', body: new LayersBody(loaded.model), url, fromCache: loaded.fromCache, diskBytes: loaded.diskBytes }
  } catch (e) {
    loaded.model.dispose()
    throw new ModelLoadError(`${fileName(url)}: ${e instanceof Error ? e.message : String(e)}`, `model ${fileName(url)}`)
  }
}
