import * as tf from '@tensorflow/tfjs'
import type { FetchFn, LoadProgress, ModelCard, WeightSpec, WeightsGroup } from './modelFile'
import { TinyCnn, expectedCnnWeightShapes, type TinyCnnConfig } from './tinyCnn'
import { fetchOk } from './modelFetch'
import { resolveNextTo } from './modelLoadError'

/** The studio's file format for a TinyCnn: `model.json` (config, input convention, class
 *  names of the pretraining task, card, tf.io-style weights manifest) + float32 `weights.bin`. */
export const CNN_FORMAT = 'studio-tinycnn'
export const CNN_FORMAT_VERSION = 1

/** How pixels become model input, so a loader can check it understands the model. */
export const CNN_INPUT = 'rgb-minus1-1-on-white' as const

export interface TinyCnnModelJson {
  format: typeof CNN_FORMAT
  version: typeof CNN_FORMAT_VERSION
  config: TinyCnnConfig
  input: typeof CNN_INPUT
  /** Classes of the pretraining task (the head itself is not stored). */
  pretrainClasses?: string[]
  card: ModelCard
  weightsManifest: WeightsGroup[]
}

export interface LoadedTinyCnn {
  model: TinyCnn
  card: ModelCard
  json: TinyCnnModelJson
}

export async function serializeTinyCnn(
  model: TinyCnn,
  card: ModelCard,
  extra: { pretrainClasses?: string[]; weightsFile?: string } = {},
): Promise<{ json: TinyCnnModelJson; weights: ArrayBuffer }> {
  const specs: WeightSpec[] = []
  const data = new Float32Array(model.parameterCount())
  let at = 0
  for (const p of model.params) {
    const values = await p.variable.data<'float32'>()
    data.set(values, at)
    at += values.length
    specs.push({ name: p.name, shape: [...p.variable.shape], dtype: 'float32' })
  }
  const { imageSize, stemChannels, blocks } = model.config
  const json: TinyCnnModelJson = {
    format: CNN_FORMAT,
    version: CNN_FORMAT_VERSION,
    config: { imageSize, stemChannels, blocks: blocks.map((b) => ({ ...b })) },
    input: CNN_INPUT,
    ...(extra.pretrainClasses ? { pretrainClasses: extra.pretrainClasses } : {}),
    card,
    weightsManifest: [{ paths: [extra.weightsFile ?? 'weights.bin'], weights: specs }],
  }
  return { json, weights: data.buffer }
}

/** Checks model.json's shape and returns it typed; `where` names the file in messages. */
export function checkCnnModelJson(json: unknown, where: string): TinyCnnModelJson {
  const j = json as Partial<TinyCnnModelJson> | null
  if (!j || typeof j !== 'object' || j.format !== CNN_FORMAT) throw new Error(`${where} is not a ${CNN_FORMAT} model file`)
  if (j.version !== CNN_FORMAT_VERSION) throw new Error(`${where} has format version ${String(j.version)}; this studio reads version ${CNN_FORMAT_VERSION}`)
  if (j.input !== CNN_INPUT) throw new Error(`${where} expects input "${String(j.input)}"; this studio feeds "${CNN_INPUT}"`)
  const c = j.config
  if (!c || !Number.isInteger(c.imageSize) || !Number.isInteger(c.stemChannels) || !Array.isArray(c.blocks) || !Array.isArray(j.weightsManifest)) {
    throw new Error(`${where} lacks a valid config or weightsManifest`)
  }
  return j as TinyCnnModelJson
}

/** Builds the model from a checked model.json and the concatenated bytes of its shards. */
export function tinyCnnFromParts(json: TinyCnnModelJson, bytes: Uint8Array, where = 'weights.bin'): TinyCnn {
  const specs = json.weightsManifest.flatMap((g) => g.weights)
  const expectedBytes = specs.reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0)
  if (bytes.length !== expectedBytes) {
    throw new Error(`${where}: expected ${expectedBytes} bytes of weights, got ${bytes.length}${bytes.length < expectedBytes ? ' (truncated download?)' : ''}`)
  }
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice()
  const floats = new Float32Array(aligned.buffer, aligned.byteOffset, bytes.length / 4)
  const expected = expectedCnnWeightShapes(json.config)
  const init = new Map<string, tf.Tensor>()
  try {
    let offset = 0
    for (const w of specs) {
      if (w.dtype !== 'float32') throw new Error(`Weight ${w.name} has dtype ${String(w.dtype)}; only float32 is supported`)
      const shape = expected.get(w.name)
      if (!shape) throw new Error(`Weight ${w.name} in the file is not part of a TinyCnn with this config`)
      if (shape.join(',') !== w.shape.join(',')) throw new Error(`Weight ${w.name} has shape [${w.shape.join(', ')}] but the config needs [${shape.join(', ')}]`)
      const size = w.shape.reduce((a, b) => a * b, 1)
      init.set(w.name, tf.tensor(floats.slice(offset, offset + size), w.shape, 'float32'))
      offset += size
    }
    for (const [name, shape] of expected) {
      if (!init.has(name)) throw new Error(`Weight ${name} is missing from the file (the config needs shape [${shape.join(', ')}])`)
    }
    return new TinyCnn(json.config, init)
  } finally {
    for (const t of init.values()) t.dispose()
  }
}


/** Loads a TinyCnn from `model.json` at `url` and the shards it names. */
export async function loadTinyCnn(url: string, fetchFn: FetchFn = (u) => fetch(u), onProgress?: LoadProgress): Promise<LoadedTinyCnn> {
  const name = url.slice(url.lastIndexOf('/') + 1) || url
  const json = checkCnnModelJson(await (await fetchOk(fetchFn, url)).json(), name)
  return loadTinyCnnFromJson(json, url, fetchFn, onProgress)
}

/** As loadTinyCnn, for a model.json already fetched (e.g. after dispatching on `format`). */
export async function loadTinyCnnFromJson(json: TinyCnnModelJson, url: string, fetchFn: FetchFn = (u) => fetch(u), onProgress?: LoadProgress): Promise<LoadedTinyCnn> {
  const paths = json.weightsManifest.flatMap((g) => g.paths)
  const total = json.weightsManifest.flatMap((g) => g.weights).reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0)
  onProgress?.(0, total)
  const shards: Uint8Array[] = []
  let loaded = 0
  for (const p of paths) {
    const bytes = new Uint8Array(await (await fetchOk(fetchFn, resolveNextTo(url, p))).arrayBuffer())
    shards.push(bytes)
    loaded += bytes.length
    onProgress?.(loaded, total)
  }
  const all = new Uint8Array(loaded)
  let at = 0
  for (const s of shards) {
    all.set(s, at)
    at += s.length
  }
  const model = tinyCnnFromParts(json, all, paths.join(' + '))
  return { model, card: json.card, json }
}
