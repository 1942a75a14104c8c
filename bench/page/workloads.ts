/** The built-in models with their shipped sample data, as the benchmark loops see them: a
 *  Body, every sample row encoded once, and how rows become device tensors. */
import * as tf from '@tensorflow/tfjs'
import { parseDataset } from '../../src/engine/data/dataset'
import { rgbaToInput } from '../../src/engine/data/imageInput'
import { readImageZip } from '../../src/engine/data/images/zipImages'
import { encodeClassification } from '../../src/engine/data/textBatches'
import type { Body } from '../../src/engine/models/body'
import { loadTinyCnn } from '../../src/engine/models/cnnFile'
import { loadTinyGpt } from '../../src/engine/models/modelFile'
import { TinyGpt } from '../../src/engine/models/tinyGpt'
import type { Encoded } from '../../src/engine/train/fineTune'
import type { EncodedImages } from '../../src/engine/train/imageBatches'
import type { ImageDecoder } from '../../src/engine/data/images/types'
import { browserImageDecoder } from '../../src/worker/imageDecoder'
import type { Settings } from '../../src/settings/types'

export type WorkloadId = 'tiny-lm' | 'emoji-cnn'
export type BenchMethod = 'full' | 'head' | 'lora' | 'last-block'
export type Rows = (Encoded & { kind: 'classification' }) | EncodedImages

export interface Workload {
  id: WorkloadId
  /** One line for the report: model, data, batch shape. */
  describe: string
  model: Body
  all: Rows
  classes: number
  /** Method settings on this model ('last-block' trains the last block, the final norm and the head). */
  method(m: BenchMethod): Partial<Settings>
}

export const WORKLOAD_IDS: readonly WorkloadId[] = ['tiny-lm', 'emoji-cnn']

const cache = new Map<string, Promise<Workload>>()

/** Disposes the loaded models and forgets them: a model's weights live on the backend that
 *  loaded it, so a page or process that changes backend loads them again (bench/node/). */
export async function forgetWorkloads(): Promise<void> {
  const loaded = await Promise.all(cache.values())
  cache.clear()
  for (const w of loaded) w.model.dispose()
}

/** How sample images are decoded: the page's own decoder, or pngjs in Node (bench/node/). */
let imageDecoder: () => ImageDecoder | null = browserImageDecoder
export function useImageDecoder(d: ImageDecoder): void {
  imageDecoder = () => d
}

/** Loads a workload once per page (and per sequence length for text). */
export function workload(id: WorkloadId, seqLen: number): Promise<Workload> {
  const key = `${id}:${seqLen}`
  let w = cache.get(key)
  if (!w) {
    w = id === 'tiny-lm' ? textWorkload(seqLen) : imageWorkload()
    cache.set(key, w)
  }
  return w
}

const methods = (nLayers: number) => (m: BenchMethod): Partial<Settings> =>
  m === 'last-block' ? { method: 'freeze', freezeFirst: nLayers - 1 } : { method: m }

async function textWorkload(seqLen: number): Promise<Workload> {
  const { model, tokenizer } = await loadTinyGpt('/models/tiny-lm/model.json')
  const bytes = new Uint8Array(await (await fetch('/samples/spam-ham.csv')).arrayBuffer())
  const parsed = await parseDataset('spam-ham.csv', bytes)
  if (!parsed.ok) throw new Error(parsed.error.message)
  const d = parsed.dataset
  const a = encodeClassification(d, tokenizer, { seqLen })
  const classes = (d.classes[d.roles.labels[0] ?? ''] ?? []).map((c) => c.label)
  const all: Rows = { kind: 'classification', n: a.n, seqLen, tokens: a.ids, mask: a.mask, labels: a.labels, classes }
  const c = model.config
  return {
    id: 'tiny-lm',
    describe: `TinyGpt tiny-lm (${c.nLayers} blocks, d=${c.dModel}, vocab ${c.vocabSize}) on the spam-ham sample (${a.n} e-mails), ${seqLen} tokens`,
    model,
    all,
    classes: classes.length,
    method: methods(c.nLayers),
  }
}

/** The emoji CNN on the OpenMoji sample zip, decoded in the page as the worker decodes it. */
async function imageWorkload(): Promise<Workload> {
  const { model } = await loadTinyCnn('/models/emoji-cnn/model.json')
  const bytes = new Uint8Array(await (await fetch('/samples/emoji-openmoji.zip')).arrayBuffer())
  const zip = readImageZip('emoji-openmoji.zip', bytes)
  if (!zip.ok) throw new Error(zip.error.message)
  const decoder = imageDecoder()
  if (!decoder) throw new Error('This browser page cannot decode images (no createImageBitmap / OffscreenCanvas)')
  const size = model.config.imageSize
  const per = size * size * 3
  const images = zip.plan.images
  const pixels = new Float32Array(images.length * per)
  for (const [i, img] of images.entries()) rgbaToInput(await decoder.decode(zip.files.get(img.path)!, img.mime), size, pixels, i * per)
  const all: Rows = { kind: 'image', n: images.length, height: size, width: size, pixels, labels: Int32Array.from(images, (x) => x.label), classes: zip.plan.classes }
  const c = model.config
  return {
    id: 'emoji-cnn',
    describe: `TinyCnn emoji-cnn (${c.nLayers} separable blocks, ${model.parameterCount().toLocaleString('en')} weights) on the OpenMoji sample (${images.length} images, ${zip.plan.classes.length} classes), ${size}×${size} RGB`,
    model,
    all,
    classes: zip.plan.classes.length,
    method: methods(c.nLayers),
  }
}

/** Rows [from, from + n) of the sample (wrapping around), as their own set. */
export function slice(all: Rows, from: number, n: number): Rows {
  const pick = (r: number) => (from + r) % all.n
  const labels = Int32Array.from({ length: n }, (_, i) => all.labels[pick(i)]!)
  if (all.kind === 'image') {
    const per = all.height * all.width * 3
    const pixels = new Float32Array(n * per)
    for (let i = 0; i < n; i++) pixels.set(all.pixels!.subarray(pick(i) * per, (pick(i) + 1) * per), i * per)
    return { ...all, n, pixels, labels }
  }
  const T = all.seqLen
  const tokens = new Int32Array(n * T)
  const mask = new Float32Array(n * T)
  for (let i = 0; i < n; i++) {
    tokens.set(all.tokens.subarray(pick(i) * T, (pick(i) + 1) * T), i * T)
    mask.set(all.mask.subarray(pick(i) * T, (pick(i) + 1) * T), i * T)
  }
  return { ...all, n, tokens, mask, labels }
}

/** A set's inputs as device tensors: tokens [n, T] and mask, or pixels [n, S, S, 3] (no mask). */
export function inputTensors(rows: Rows): { x: tf.Tensor; mask: tf.Tensor2D | null; labels: tf.Tensor1D } {
  const labels = tf.tensor1d(rows.labels, 'int32')
  if (rows.kind === 'image') return { x: tf.tensor4d(rows.pixels!, [rows.n, rows.height, rows.width, 3]), mask: null, labels }
  return { x: tf.tensor2d(rows.tokens, [rows.n, rows.seqLen], 'int32'), mask: tf.tensor2d(rows.mask, [rows.n, rows.seqLen]), labels }
}

export const isText = (w: Workload): w is Workload & { model: TinyGpt } => w.model instanceof TinyGpt
