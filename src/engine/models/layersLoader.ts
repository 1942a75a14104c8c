import * as tf from '@tensorflow/tfjs'
import type { ModelCache } from '../storage/modelCache'
import { readBody } from './modelFetch'
import { fileName, ModelLoadError, resolveNextTo } from './modelLoadError'
import { formatBytes } from '../../format/format'

/** Loads a TensorFlow.js LAYERS model (model.json + weight shards) with byte-level download
 *  progress, a memory check before downloading, and errors that name the file, URL or layer.
 *  Written against the files rather than tf.loadLayersModel so every failure can say what
 *  to do; the model itself is still built by tfjs-layers from the topology. */
export type FetchFn = (url: string) => Promise<Response>

export interface ManifestEntry {
  name: string
  shape: number[]
  dtype: string
  quantization?: { dtype: string; scale?: number; min?: number }
}
interface ManifestGroup {
  paths: string[]
  weights: ManifestEntry[]
}

export type ModelJsonKind = 'studio-tinygpt' | 'layers-model' | 'graph-model' | 'unknown'

/** What kind of model.json this is, from its `format` or, for old files, its topology. */
export function modelJsonKind(json: unknown): ModelJsonKind {
  if (!json || typeof json !== 'object') return 'unknown'
  const j = json as Record<string, unknown>
  if (j.format === 'studio-tinygpt') return 'studio-tinygpt'
  if (j.format === 'graph-model') return 'graph-model'
  const topo = j.modelTopology as Record<string, unknown> | undefined
  if (j.format === 'layers-model' || (topo && (topo.class_name !== undefined || topo.model_config !== undefined || topo.config !== undefined))) return 'layers-model'
  if (topo && Array.isArray(topo.node)) return 'graph-model' // a GraphDef without a format field
  return 'unknown'
}

const BYTES_ON_DISK: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 }

/** Bytes a weight takes in the file, and in memory once decoded (float32 everywhere). */
export function entryBytes(w: ManifestEntry): { disk: number; memory: number } {
  const n = w.shape.reduce((a, b) => a * b, 1)
  const stored = w.quantization?.dtype ?? w.dtype
  const per = BYTES_ON_DISK[stored]
  if (per === undefined) throw new ModelLoadError(`Weight ${w.name} is stored as ${stored}, which TensorFlow.js layers models do not use: the file is damaged or not a layers model.`, `weight ${w.name}`)
  return { disk: n * per, memory: n * (w.dtype === 'complex64' ? 8 : 4) }
}

/** A budget for one model's weights: a share of the device's memory (navigator.deviceMemory,
 *  capped at 8 GB by browsers; 4 GB assumed when unknown). Fine-tuning needs several times the
 *  weights (gradients, optimizer moments, activations), hence the 1/8. */
export function defaultMemoryBudget(deviceMemoryGb?: number): number {
  const gb = deviceMemoryGb ?? (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory ?? 4
  return Math.round((gb * 2 ** 30) / 8)
}

export const mb = (bytes: number) => formatBytes(bytes)

/** fetch, with the failures a person can act on spelled out (CORS, 404, …). */
export async function fetchExplained(fetchFn: FetchFn, url: string): Promise<Response> {
  let res: Response
  try {
    res = await fetchFn(url)
  } catch (e) {
    if (e instanceof ModelLoadError) throw e
    const why = e instanceof Error ? e.message : String(e)
    throw new ModelLoadError(
      `Could not download ${url}: the request failed without an answer (${why}). If the address is right and the server is up, the server most likely does not allow cross-origin requests (CORS): it must send the header "Access-Control-Allow-Origin: *" (or this page's origin) with model.json and every weight file. The studio's security policy also lets it download models only from known hosts (Hugging Face, storage.googleapis.com, …; listed in csp.config.ts). Host the files somewhere that does both, or download them and choose them as files.`,
      `URL ${url}`,
    )
  }
  if (!res.ok) {
    const hint = res.status === 404 ? ' (not found: check the address, and that every weight file named in model.json sits next to it)' : res.status === 403 ? ' (forbidden: the host refuses this file)' : ''
    throw new ModelLoadError(`Could not download ${fileName(url)}: the server answered HTTP ${res.status}${hint}.`, `URL ${url}`)
  }
  return res
}

export async function fetchModelJson(fetchFn: FetchFn, url: string): Promise<unknown> {
  const res = await fetchExplained(fetchFn, url)
  const text = await res.text()
  try {
    return JSON.parse(text)
  } catch {
    throw new ModelLoadError(`${fileName(url)} is not JSON (${startText(text)}): choose, or give the address of, the model.json of a TensorFlow.js model.`, `file ${fileName(url)}`)
  }
}

/** What a file that should be JSON starts with, fit to show: its first characters, or
 *  "binary data" when it is not text at all (random bytes printed as text are noise). */
function startText(text: string): string {
  const head = text.slice(0, 40)
  // U+FFFD: bytes that were not UTF-8; control characters other than whitespace.
  const odd = [...head].filter((c) => c === '\uFFFD' || (c < ' ' && !/\s/.test(c))).length
  return odd > head.length / 10 ? 'it holds binary data' : `it starts with "${head.replace(/\s+/g, ' ')}"`
}


export interface LayersLoadOptions {
  fetchFn: FetchFn
  onProgress?: (loadedBytes: number, totalBytes: number) => void
  budgetBytes?: number
  cache?: ModelCache | null // URL sources only
}

export interface LoadedLayers {
  model: tf.LayersModel
  url: string
  diskBytes: number
  fromCache: boolean
}

function checkJson(json: unknown, url: string): { topology: object; groups: ManifestGroup[] } {
  const kind = modelJsonKind(json)
  const name = fileName(url)
  if (kind === 'graph-model') {
    throw new ModelLoadError(
      `${name} is a TensorFlow.js graph model (a frozen inference graph): tf.loadGraphModel can run it for predictions, but it has no layers or trainable weights, so it cannot be fine-tuned. Load the layers version of the model instead (model.json with "format": "layers-model", e.g. a Keras model converted with tensorflowjs_converter --output_format tfjs_layers_model), or use the built-in model.`,
      `file ${name}`,
    )
  }
  if (kind !== 'layers-model') throw new ModelLoadError(`${name} is not a TensorFlow.js model.json (no modelTopology or format): choose the model.json of a layers model.`, `file ${name}`)
  const j = json as { modelTopology: object; weightsManifest?: unknown }
  if (!Array.isArray(j.weightsManifest)) throw new ModelLoadError(`${name} has a topology but no weightsManifest, so there are no weights to load: export the model again with its weights.`, `file ${name}`)
  return { topology: j.modelTopology, groups: j.weightsManifest as ManifestGroup[] }
}

/** Model.json (already fetched) → a LayersModel with its weights. */
export async function loadLayersModel(url: string, json: unknown, opts: LayersLoadOptions): Promise<LoadedLayers> {
  const cached = opts.cache ? await opts.cache.get(url).catch(() => undefined) : undefined
  if (cached) json = cached.modelJson
  const { topology, groups } = checkJson(json, url)
  const specs = groups.flatMap((g) => g.weights)
  const sizes = groups.map((g) => g.weights.reduce((a, w) => a + entryBytes(w).disk, 0))
  const total = sizes.reduce((a, b) => a + b, 0)
  const memory = specs.reduce((a, w) => a + entryBytes(w).memory, 0)
  const budget = opts.budgetBytes ?? defaultMemoryBudget()
  if (memory > budget) {
    throw new ModelLoadError(
      `${fileName(url)} declares ${mb(memory)} of weights in memory (${mb(total)} to download); the budget for one model on this device is ${mb(budget)} (an eighth of its memory, since fine-tuning needs several copies). Nothing was downloaded. Choose a smaller model, such as MobileNet v1 0.25.`,
      `file ${fileName(url)}`,
    )
  }
  // Build the layers first: an unknown layer class fails here, before any download.
  const model = await buildTopology(topology, url)
  try {
    checkWeightsFit(model, specs, url)
    let buffers: ArrayBuffer[]
    if (cached) {
      buffers = cached.weights
      opts.onProgress?.(total, total)
    } else {
      buffers = await downloadGroups(url, groups, sizes, total, opts)
      await opts.cache?.put({ url, modelJson: json, weights: buffers, bytes: total, savedAt: Date.now() }).catch(() => undefined) // a full disk only costs the cache
    }
    const named = tf.io.decodeWeights(buffers.length === 1 ? buffers[0]! : concat(buffers), specs as tf.io.WeightsManifestEntry[])
    try {
      model.loadWeights(named, true)
    } finally {
      tf.dispose(Object.values(named))
    }
    // Class names, feature columns and a title a studio export saved (layersBody.studioMetadata);
    // optional, so a malformed value is ignored rather than failing the load.
    const meta: unknown = (json as { userDefinedMetadata?: unknown }).userDefinedMetadata
    if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
      try {
        model.setUserDefinedMetadata(meta as {})
      } catch {
        /* not a plain JSON object */
      }
    }
    return { model, url, diskBytes: total, fromCache: !!cached }
  } catch (e) {
    model.dispose()
    throw e
  }
}

async function buildTopology(topology: object, url: string): Promise<tf.LayersModel> {
  try {
    return await tf.models.modelFromJSON({ modelTopology: topology } as tf.io.ModelJSON)
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e)
    const unknown = /Unknown layer: ([\w-]+(?:\.[\w-]+)*)/.exec(msg)
    if (unknown) {
      throw new ModelLoadError(
        `${fileName(url)} uses the layer class ${unknown[1]}, which TensorFlow.js does not know (a custom layer of the original code, or a newer Keras layer). Only built-in layer classes can be loaded here: rebuild the model without it, or replace it with built-in layers before converting.`,
        `layer class ${unknown[1]}`,
      )
    }
    throw new ModelLoadError(`${fileName(url)}: the model topology could not be built (${msg}).`, `file ${fileName(url)}`)
  }
}

/** Every weight of the topology must be in the manifest with its shape, and nothing else. */
function checkWeightsFit(model: tf.LayersModel, specs: ManifestEntry[], url: string): void {
  const byName = new Map(specs.map((s) => [s.name, s] as const))
  const layerOf = (weight: string) => weight.slice(0, weight.lastIndexOf('/')) || weight
  const needed = new Set<string>()
  for (const w of model.weights) {
    needed.add(w.originalName)
    const spec = byName.get(w.originalName)
    const shape = `[${w.shape.join(', ')}]`
    if (!spec) {
      throw new ModelLoadError(
        `Layer ${layerOf(w.originalName)} needs the weight ${w.originalName} ${shape}, but the weights manifest of ${fileName(url)} has no weight of that name: the weights belong to another model. Export the model and its weights together again.`,
        `layer ${layerOf(w.originalName)}`,
      )
    }
    if (spec.shape.join(',') !== w.shape.join(',')) {
      throw new ModelLoadError(
        `Layer ${layerOf(w.originalName)}: the weight ${w.originalName} is [${spec.shape.join(', ')}] in the weight files but the topology needs ${shape}. The weights do not match this model.json: export the model and its weights together again.`,
        `layer ${layerOf(w.originalName)}`,
      )
    }
  }
  const extra = specs.find((s) => !needed.has(s.name))
  if (extra) {
    throw new ModelLoadError(`The weights manifest of ${fileName(url)} has ${extra.name}, which no layer of the topology uses: the weights belong to another model.`, `layer ${layerOf(extra.name)}`)
  }
}

async function downloadGroups(url: string, groups: ManifestGroup[], sizes: number[], total: number, opts: LayersLoadOptions): Promise<ArrayBuffer[]> {
  let loaded = 0
  opts.onProgress?.(0, total)
  const out: ArrayBuffer[] = []
  for (const [gi, g] of groups.entries()) {
    const parts: { name: string; bytes: Uint8Array; declared: number | null }[] = []
    for (const path of g.paths) {
      const shardUrl = resolveNextTo(url, path)
      const res = await fetchExplained(opts.fetchFn, shardUrl)
      const declared = Number(res.headers.get('content-length'))
      const bytes = await readBody(res, (n) => {
        loaded += n
        opts.onProgress?.(loaded, total)
      })
      parts.push({ name: fileName(path), bytes, declared: declared > 0 ? declared : null })
    }
    const got = parts.reduce((a, p) => a + p.bytes.length, 0)
    const expected = sizes[gi] ?? 0
    if (got !== expected) throw truncation(parts, expected, got)
    out.push(concat(parts.map((p) => p.bytes)))
  }
  return out
}

function truncation(parts: { name: string; bytes: Uint8Array; declared: number | null }[], expected: number, got: number): ModelLoadError {
  // Name the shard the server sent short; else, since tensorflowjs writes equal shards and a
  // shorter last one, the first shard whose length breaks that pattern.
  const cut = parts.find((p) => p.declared !== null && p.declared !== p.bytes.length)
  const sizes = parts.slice(0, -1).map((p) => p.bytes.length)
  const shard = mode(sizes) ?? expected
  const expectedOf = (i: number) => (i < parts.length - 1 ? shard : expected - shard * (parts.length - 1))
  const suspect = cut ?? parts.find((p, i) => p.bytes.length !== expectedOf(i))
  const list = parts.map((p) => `${p.name} (${p.bytes.length} bytes)`).join(' + ')
  const what = got < expected ? 'missing or truncated' : 'longer than the manifest says (a different version of the file?)'
  const which = suspect ? `${suspect.name} is ${what}` : `a weight file is ${what}`
  return new ModelLoadError(
    `Weight files ${list}: expected ${expected} bytes, got ${got} — ${which}. Download the model again, or choose all its .bin files unchanged.`,
    `file ${suspect?.name ?? parts.map((p) => p.name).join(', ')}`,
  )
}

function mode(values: number[]): number | undefined {
  const counts = new Map<number, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0]
}

function concat(parts: (Uint8Array | ArrayBuffer)[]): ArrayBuffer {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(p)))
  const all = new Uint8Array(arrays.reduce((a, p) => a + p.length, 0))
  let at = 0
  for (const a of arrays) {
    all.set(a, at)
    at += a.length
  }
  return all.buffer
}
