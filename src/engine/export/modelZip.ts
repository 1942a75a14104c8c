import * as tf from '@tensorflow/tfjs'
import { zipSync, strToU8 } from 'fflate'
import type { Body } from '../models/body'
import { CNN_FORMAT, checkCnnModelJson, type TinyCnnModelJson } from '../models/cnnFile'
import { loadTinyGpt, type FetchFn, type LoadedTinyGpt, type ModelCard } from '../models/modelFile'
import type { Tuning } from '../train/fineTune'
import type { TunedBlend } from '../tuning/blend'
import type { WeightMap } from '../tuning/interpolate'
import { cardReadme, makeCard, type ExportCard, type ExportFacts } from './modelCard'
import { safeUnzip, type UnzipLimits } from './safeUnzip'
import { fingerprintWeights, packBytes, readTuningPack, type ExportChoice, type PackSection, type TuningJson, type TuningPack } from './tuningPack'

/**
 * One .zip per export:
 *  merged / interpolated: model.json + weights.bin (the studio's TinyGpt format, loadable by
 *    loadTinyGpt, or for an image CNN the studio-tinycnn format of cnnFile.ts; LoRA folded in)
 *    + tuning.json/.bin (task head with its class names; adapters, which cannot fold)
 *  adapter: tuning.json/.bin only (head, LoRA, adapters and any body weight the run changed)
 *    + the fingerprint of the base model they apply to
 *  all: card.json + README.md.
 */
export interface ExportInput {
  choice: ExportChoice
  alpha: number // used by 'interpolated'
  body: Body
  /** The body in its own model format (model.json and weights): its family knows which. */
  serialize: (card: ExportCard) => Promise<{ json: unknown; weights: ArrayBuffer }>
  baseCard: ModelCard
  base: WeightMap // the pretrained body
  tuning: Tuning
  blend: TunedBlend
  task: TuningJson['task']
  classes: string[] | null
  facts: ExportFacts
  onProgress?: (done: number, total: number, label: string) => void
}

export interface BuiltExport {
  bytes: Uint8Array
  fileName: string
  card: ExportCard
}

export async function buildModelZip(x: ExportInput): Promise<BuiltExport> {
  const { body: model, tuning, blend, choice } = x
  const alpha = choice === 'interpolated' ? x.alpha : 1
  if (!Number.isFinite(alpha) || alpha < 0 || alpha > 1) throw new Error(`α must be between 0 and 1, got ${x.alpha}`)
  if (choice === 'adapter' && !tuning.head && !tuning.lora && !tuning.adapters && tuning.settings.method === 'full') {
    throw new Error('Full fine-tuning changed every weight, so there is no small adapter to export: choose "Merged".')
  }
  const before = blend.alpha
  const progress = (done: number, label: string) => x.onProgress?.(done, 4, label)
  try {
    progress(0, 'Preparing the weights')
    if (blend.alpha !== alpha) blend.apply(alpha)
    const entries: { section: PackSection; name: string; tensor: tf.Tensor }[] = []
    for (const p of tuning.head?.params ?? []) entries.push({ section: 'head', name: p.name, tensor: p.variable })
    for (const p of tuning.adapters?.params ?? []) entries.push({ section: 'adapters', name: p.name, tensor: p.variable })
    const changedBody: string[] = []
    if (choice === 'adapter') {
      for (const p of tuning.lora?.params ?? []) entries.push({ section: 'lora', name: p.name, tensor: p.variable })
      for (const p of model.params) {
        const b = x.base.get(p.name)
        if (!b || !(await sameBits(b, p.variable))) {
          changedBody.push(p.name)
          entries.push({ section: 'body', name: p.name, tensor: p.variable })
        }
      }
    }
    progress(1, 'Packing the task head and adapters')
    const pack = await packBytes(entries)
    const files: Record<string, Uint8Array | [Uint8Array, { level: 0 }]> = {}
    const names = choice === 'adapter' ? ['tuning.json', 'tuning.bin', 'card.json', 'README.md'] : ['model.json', 'weights.bin', 'tuning.json', 'tuning.bin', 'card.json', 'README.md']
    const card = makeCard(x.facts, choice, alpha, names, x.baseCard)
    if (choice !== 'adapter') {
      progress(2, 'Writing the model weights')
      const { json, weights } = await withMergedLora(model, tuning, () => x.serialize(card))
      files['model.json'] = strToU8(JSON.stringify(json))
      files['weights.bin'] = [new Uint8Array(weights), { level: 0 }] // float32 barely compresses
    }
    const tuningJson: TuningJson = {
      format: 'studio-tuning',
      version: 1,
      choice,
      alpha,
      base: { title: x.facts.baseModel.title, fingerprint: await fingerprintWeights(x.base) },
      settings: tuning.settings,
      method: choice !== 'adapter' && tuning.settings.method === 'lora' ? 'full' : tuning.settings.method,
      task: x.task,
      classes: x.classes,
      weights: pack.weights,
    }
    files['tuning.json'] = strToU8(JSON.stringify(tuningJson, null, 1))
    files['tuning.bin'] = [pack.bytes, { level: 0 }]
    files['card.json'] = strToU8(JSON.stringify(card, null, 2))
    files['README.md'] = strToU8(cardReadme(card))
    progress(3, 'Zipping')
    const bytes = zipSync(files, { level: 6, mtime: new Date(x.facts.date) })
    progress(4, 'Done')
    return { bytes, fileName: exportFileName(card, choice, alpha), card }
  } finally {
    if (blend.alpha !== before) blend.apply(before)
  }
}

/** Runs `fn` with the LoRA update folded into the kernels, then puts the kernels back bit for bit. */
async function withMergedLora<T>(model: Body, tuning: Tuning, fn: () => Promise<T>): Promise<T> {
  if (!tuning.lora) return fn()
  const merged = tuning.lora.mergedKernels(model)
  const saved = new Map([...merged.keys()].map((n) => [n, tf.keep(model.get(n).clone())] as const))
  try {
    for (const [n, w] of merged) model.get(n).assign(w)
    return await fn()
  } finally {
    for (const [n, w] of saved) model.get(n).assign(w)
    tf.dispose([...saved.values(), ...merged.values()])
  }
}

async function sameBits(a: tf.Tensor, b: tf.Tensor): Promise<boolean> {
  if (!tf.util.arraysEqual(a.shape, b.shape)) return false
  const [x, y] = [await a.data<'float32'>(), await b.data<'float32'>()]
  const xi = new Int32Array(x.buffer, x.byteOffset, x.length)
  const yi = new Int32Array(y.buffer, y.byteOffset, y.length)
  for (let i = 0; i < xi.length; i++) if (xi[i] !== yi[i]) return false
  return true
}

function exportFileName(card: ExportCard, choice: ExportChoice, alpha: number): string {
  const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'model'
  const data = card.dataset ? slug(card.dataset.name.replace(/\.[a-z]+$/i, '')) : 'data'
  const suffix = choice === 'interpolated' ? `alpha-${alpha}` : choice
  return `${slug(String(card.baseModel.id))}-${data}-${suffix}.zip`
}

/** A studio-tinycnn model.json from a zip, with a fetch that reads its weights from the zip. */
export interface ZippedCnn {
  url: string
  json: TinyCnnModelJson
  fetch: FetchFn
}

export interface ReadExport {
  loaded: LoadedTinyGpt | null // null for an adapter-only file or an image model
  image: ZippedCnn | null // an image model (studio-tinycnn), loaded by the image host
  layersFiles: File[] | null // a TensorFlow.js layers model (model.json + weights), loaded like chosen files
  pack: TuningPack | null
  card: Record<string, unknown>
}

/** Unpacks a studio export. Model weights are checked by loadTinyGpt against their config,
 *  and nothing outside the zip is ever fetched. */
export async function readModelZip(bytes: Uint8Array, fileName: string, limits?: UnzipLimits, onProgress?: (done: number, total: number) => void): Promise<ReadExport> {
  const files = safeUnzip(bytes, fileName, limits)
  const hasModel = files.has('model.json')
  const tuningJson = files.get('tuning.json')
  if (!hasModel && !tuningJson) {
    throw new Error(`${fileName} is a zip, but not a studio export: it has neither model.json nor tuning.json (it holds ${[...files.keys()].slice(0, 5).join(', ') || 'nothing'})`)
  }
  let card: Record<string, unknown> = {}
  const cardBytes = files.get('card.json')
  if (cardBytes) {
    try {
      const c: unknown = JSON.parse(new TextDecoder().decode(cardBytes))
      if (c && typeof c === 'object' && !Array.isArray(c)) card = c as Record<string, unknown>
    } catch {
      throw new Error(`${fileName}: card.json is not valid JSON; the file is damaged: export the model again`)
    }
  }
  const pack = tuningJson ? readTuningPack(tuningJson, files.get('tuning.bin'), fileName) : null
  let loaded: LoadedTinyGpt | null = null
  let image: ZippedCnn | null = null
  let layersFiles: File[] | null = null
  if (hasModel) {
    const prefix = 'zip:/'
    const fromZip = async (url: string) => {
      const name = url.startsWith(prefix) ? url.slice(prefix.length) : null
      const data = name === null ? undefined : files.get(name)
      if (!data) throw new Error(`model.json refers to "${url.slice(0, 80)}", which is not in ${fileName}`)
      return new Response(data.slice())
    }
    try {
      const json = modelJsonOf(files.get('model.json')!)
      const format = (json as { format?: unknown } | null)?.format
      if (format === CNN_FORMAT) image = { url: `${prefix}model.json`, json: checkCnnModelJson(json, 'model.json'), fetch: fromZip }
      // A TensorFlow.js layers model (a fine-tuned layers or tabular model): its files, to load as one.
      else if (format === 'layers-model') layersFiles = [...files].map(([name, data]) => new File([data.slice()], name))
      else loaded = await loadTinyGpt(`${prefix}model.json`, fromZip, onProgress)
    } catch (e) {
      // Whatever is wrong inside, the way out is the same: a good export.
      throw new Error(`${fileName}: ${e instanceof Error ? e.message : String(e)}. The file is damaged or was not made by the studio: export the model again, or choose another file.`)
    }
  }
  return { loaded, image, layersFiles, pack, card: Object.keys(card).length ? card : (loaded?.card ?? image?.json.card ?? {}) }
}

function modelJsonOf(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new Error('model.json is not valid JSON (cut short, or not text)')
  }
}
