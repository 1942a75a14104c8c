import * as tf from '@tensorflow/tfjs'
import { BpeTokenizer, type BpeTokenizerJson } from '../data/bpeTokenizer'
import { fetchOk, readBody } from './modelFetch'
import { fileName, resolveNextTo } from './modelLoadError'
import { TinyGpt, type TinyGptConfig } from './tinyGpt'

/** The studio's file format for a TinyGpt: `model.json` (config, tokenizer, card and a
 *  tf.io-compatible weights manifest) next to float32 shards such as `weights.bin`. */
export const MODEL_FORMAT = 'studio-tinygpt'
export const MODEL_FORMAT_VERSION = 1

/** Free-form facts about a model (data, licence, metrics); shown to people, not interpreted. */
export type ModelCard = Record<string, unknown>

export interface WeightSpec {
  name: string
  shape: number[]
  dtype: 'float32'
}

export interface WeightsGroup {
  paths: string[]
  weights: WeightSpec[]
}

export interface TinyGptModelJson {
  format: typeof MODEL_FORMAT
  version: typeof MODEL_FORMAT_VERSION
  config: TinyGptConfig
  /** Inline tokenizer, or a file name next to model.json. */
  tokenizer: BpeTokenizerJson | string
  card: ModelCard
  weightsManifest: WeightsGroup[]
}

export interface LoadedTinyGpt {
  model: TinyGpt
  tokenizer: BpeTokenizer
  card: ModelCard
}

export type FetchFn = (url: string) => Promise<Response>
export type LoadProgress = (loadedBytes: number, totalBytes: number) => void

export async function serializeTinyGpt(
  model: TinyGpt,
  tokenizer: BpeTokenizer,
  card: ModelCard,
  weightsFile = 'weights.bin',
): Promise<{ json: TinyGptModelJson; weights: ArrayBuffer }> {
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new Error(`Tokenizer has ${tokenizer.vocabSize} ids but the model only ${model.config.vocabSize}`)
  }
  const specs: WeightSpec[] = []
  const total = model.params.reduce((n, p) => n + p.variable.size, 0)
  const data = new Float32Array(total)
  let at = 0
  for (const p of model.params) {
    // await data(): dataSync can return zeros on some webgpu set-ups.
    const values = await p.variable.data<'float32'>()
    data.set(values, at)
    at += values.length
    specs.push({ name: p.name, shape: [...p.variable.shape], dtype: 'float32' })
  }
  const json: TinyGptModelJson = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    config: { ...model.config },
    tokenizer: tokenizer.toJSON(),
    card,
    weightsManifest: [{ paths: [weightsFile], weights: specs }],
  }
  return { json, weights: data.buffer }
}




function checkModelJson(json: unknown, url: string): TinyGptModelJson {
  const j = json as Partial<TinyGptModelJson> | null
  if (!j || typeof j !== 'object' || j.format !== MODEL_FORMAT) {
    throw new Error(`${fileName(url)} is not a ${MODEL_FORMAT} model file`)
  }
  if (j.version !== MODEL_FORMAT_VERSION) {
    throw new Error(`${fileName(url)} has format version ${String(j.version)}; this studio reads version ${MODEL_FORMAT_VERSION}`)
  }
  if (!j.config || !Array.isArray(j.weightsManifest) || j.tokenizer === undefined) {
    throw new Error(`${fileName(url)} lacks config, tokenizer or weightsManifest`)
  }
  return j as TinyGptModelJson
}

export async function loadTinyGpt(url: string, fetchFn: FetchFn = (u) => fetch(u), onProgress?: LoadProgress): Promise<LoadedTinyGpt> {
  const json = checkModelJson(await (await fetchOk(fetchFn, url)).json(), url)
  const tokenizerJson: BpeTokenizerJson =
    typeof json.tokenizer === 'string'
      ? ((await (await fetchOk(fetchFn, resolveNextTo(url, json.tokenizer))).json()) as BpeTokenizerJson)
      : json.tokenizer
  const tokenizer = BpeTokenizer.fromJSON(tokenizerJson)
  if (tokenizer.vocabSize > json.config.vocabSize) {
    throw new Error(`Tokenizer has ${tokenizer.vocabSize} ids but the model's vocabSize is ${json.config.vocabSize}`)
  }

  const groupBytes = json.weightsManifest.map((g) => {
    for (const w of g.weights) {
      if (w.dtype !== 'float32') throw new Error(`Weight ${w.name} has dtype ${String(w.dtype)}; only float32 is supported`)
    }
    return g.weights.reduce((n, w) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0)
  })
  const totalBytes = groupBytes.reduce((a, b) => a + b, 0)
  let loadedBytes = 0
  onProgress?.(0, totalBytes)

  const init = new Map<string, tf.Tensor>()
  try {
    for (const [gi, group] of json.weightsManifest.entries()) {
      // A group's weights are laid out back to back across its shards, as in tf.io.
      const shards: Uint8Array[] = []
      for (const path of group.paths) {
        const shardUrl = resolveNextTo(url, path)
        const bytes = await readBody(await fetchOk(fetchFn, shardUrl), (n) => {
          loadedBytes += n
          onProgress?.(loadedBytes, totalBytes)
        })
        shards.push(bytes)
      }
      const got = shards.reduce((n, s) => n + s.length, 0)
      const expected = groupBytes[gi] ?? 0
      if (got !== expected) {
        const names = group.paths.map(fileName).join(' + ')
        throw new Error(`${names}: expected ${expected} bytes of weights, got ${got}${got < expected ? ' (truncated download?)' : ''}`)
      }
      const all = new Uint8Array(got)
      let at = 0
      for (const s of shards) {
        all.set(s, at)
        at += s.length
      }
      const floats = new Float32Array(all.buffer, all.byteOffset, got / 4)
      let offset = 0
      for (const w of group.weights) {
        const size = w.shape.reduce((a, b) => a * b, 1)
        init.set(w.name, tf.tensor(floats.slice(offset, offset + size), w.shape, 'float32'))
        offset += size
      }
    }
    checkWeightsFitConfig(init, json.config)
    const model = new TinyGpt(json.config, init)
    return { model, tokenizer, card: json.card }
  } finally {
    // The variables hold their own reference to the data.
    for (const t of init.values()) t.dispose()
  }
}

/** Names and shapes every TinyGpt of this config has; keep in step with TinyGpt's constructor. */
export function expectedWeightShapes(config: TinyGptConfig): Map<string, number[]> {
  const { vocabSize, seqLen, dModel: d, nLayers, dFF } = config
  const m = new Map<string, number[]>([
    ['wte.embeddings', [vocabSize, d]],
    ['wpe.embeddings', [seqLen, d]],
  ])
  for (let i = 0; i < nLayers; i++) {
    m.set(`h${i}.ln1.gamma`, [d]).set(`h${i}.ln1.beta`, [d])
    m.set(`h${i}.attn.qkv.kernel`, [d, 3 * d]).set(`h${i}.attn.qkv.bias`, [3 * d])
    m.set(`h${i}.attn.proj.kernel`, [d, d]).set(`h${i}.attn.proj.bias`, [d])
    m.set(`h${i}.ln2.gamma`, [d]).set(`h${i}.ln2.beta`, [d])
    m.set(`h${i}.mlp.fc.kernel`, [d, dFF]).set(`h${i}.mlp.fc.bias`, [dFF])
    m.set(`h${i}.mlp.out.kernel`, [dFF, d]).set(`h${i}.mlp.out.bias`, [d])
  }
  m.set('lnf.gamma', [d]).set('lnf.beta', [d])
  return m
}

function checkWeightsFitConfig(init: Map<string, tf.Tensor>, config: TinyGptConfig): void {
  const expected = expectedWeightShapes(config)
  for (const [name, shape] of expected) {
    const t = init.get(name)
    if (!t) throw new Error(`Weight ${name} is missing from the file (the config needs shape [${shape.join(', ')}])`)
    if (t.shape.join(',') !== shape.join(',')) {
      throw new Error(`Weight ${name} has shape [${t.shape.join(', ')}] but the config needs [${shape.join(', ')}]`)
    }
  }
  for (const name of init.keys()) {
    if (!expected.has(name)) throw new Error(`Weight ${name} in the file is not part of a TinyGpt with this config`)
  }
}
