/** The studio's image CNN (TinyCnn, model.json format "studio-tinycnn"): reads an image set
 *  (a zip of class folders) decoded batch by batch, answers a picture in the playground with
 *  class probabilities before and after, exports in the studio-tinycnn format. */
import * as tf from '@tensorflow/tfjs'
import { describeAugment } from '../../data/images/augment'
import { loadImageBatch } from '../../data/images/imageBatches'
import { SYMMETRIC, resizeRgba, rgbaToFloat, type Normalisation } from '../../data/images/pixels'
import type { Rgba } from '../../data/images/types'
import { encodeImageSplit } from '../../data/imageEncode'
import { rgbaToInput } from '../../data/imageInput'
import { serializeTinyCnn, type LoadedTinyCnn } from '../../models/cnnFile'
import type { Body } from '../../models/body'
import { modelLimits } from '../../models/limits'
import type { TinyCnn } from '../../models/tinyCnn'
import type { EncodedImages } from '../../train/imageBatches'
import { Tuning } from '../../train/fineTune'
import type { Head } from '../../tuning/heads'
import { disposeWeights, resetWeights, snapshotWeights } from '../../tuning/interpolate'
import type { LayerSummary, ModelSummary } from '../../types/model'
import type { PlaygroundAnswer } from '../../types/playground'
import type { Settings } from '../../../settings/types'
import { studioZip } from './studioZip'
import { classesOf, type HeldModel, type ModelFamily, type SessionData } from '../family'
import { fineTunedFromCard } from '../../export/modelCard'

export interface HeldCnn extends HeldModel {
  readonly body: TinyCnn
}

/** A loaded TinyCnn as the session holds it; its weights become the base every run starts from. */
export function holdCnn(loaded: LoadedTinyCnn, id: string): HeldCnn {
  const { model, card } = loaded
  const all = new Set(Array.from({ length: model.config.nLayers + 2 }, (_, i) => i - 1))
  const size = model.config.imageSize
  const from = fineTunedFromCard(card) // a studio export's card says it is fine-tuned, from which base
  const summary: ModelSummary = {
    id,
    title: String(card.title ?? card.name ?? 'Image CNN'),
    ...(from ? { finetunedFrom: from } : {}),
    description: String(card.description ?? card.intendedUse ?? ''),
    pretrained: true,
    card,
    layers: describeCnnLayers(model, all),
    totalParams: model.parameterCount(),
    trainableParams: model.parameterCount(),
    nLayers: model.config.nLayers,
    dModel: model.config.dModel,
    seqLen: 0,
    vocabSize: 0,
    limits: modelLimits(model),
    input: { kind: 'image', shape: `[B, ${size}, ${size}, 3]`, description: `${size}×${size} RGB images, pixels scaled to [-1, 1], transparency on white` },
  }
  return { family: cnnFamily as ModelFamily, body: model, summary, card, base: snapshotWeights(model.params), tuning: null, validationSplit: null }
}

/** How an image body's pictures are prepared: square side, normalisation, one picture → input. */
export interface PixelInput {
  size: number
  /** How decoded pixels are scaled for `body.embed` (see loadImageBatch). */
  norm: Normalisation
  /** One picture → its input pixels [size · size · 3], prepared as the training batches are. */
  toInput(img: Rgba): Float32Array
}

/** Raw 0–255 values: LayersBody.embed does the model's own scaling to [-1, 1]. */
export const PIXEL_VALUES: Normalisation = { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] }

/** A square layers image model's pictures: bilinear resize, transparency on white, raw values. */
export function layersPixels(size: number): PixelInput {
  return {
    size,
    norm: PIXEL_VALUES,
    toInput: (img) => {
      const out = new Float32Array(size * size * 3)
      rgbaToFloat(resizeRgba(img, size, size), PIXEL_VALUES, out)
      return out
    },
  }
}

const cnnPixels = (model: TinyCnn): PixelInput => ({ size: model.config.imageSize, norm: SYMMETRIC, toInput: (img) => rgbaToInput(img, model.config.imageSize) })

/** Train/validation images at the model's input size, decoded batch by batch. */
export function encodeImages(pixels: PixelInput, settings: Settings, data: SessionData): { train: EncodedImages; val: EncodedImages } {
  const images = data.images
  if (!images) throw new Error('The loaded model reads images: load an image dataset (a zip of class folders) before training.')
  const decoder = data.decoder
  if (!decoder) throw new Error('This worker has no image decoder, so it cannot read images.')
  const { size, norm } = pixels
  return encodeImageSplit(
    {
      labels: images.info.labels,
      classes: images.info.classes.map((c) => c.name),
      loadPixels: async (rows) => (await loadImageBatch(images.source, rows, decoder, { size, norm, maxSide: images.info.maxSide, storedBytesPerImage: images.info.storedBytes / Math.max(1, images.info.count) })).x,
    },
    { size, valSplit: settings.valSplit, seed: settings.seed, norm },
  )
}

/** The plan of an image body: the image set's size and classes. */
export function imagePlanShape(settings: Settings, data: SessionData): { trainSize: number; need: number } {
  const n = data.images?.info.count ?? 0
  return { trainSize: n - Math.round(n * settings.valSplit), need: Math.max(2, data.images?.info.classes.length ?? 2) }
}

/** Playground: class probabilities for one picture, with the base weights and the run's
 *  initial head ("before") and as tuned ("after"). */
export async function predictPicture(held: HeldModel, pixels: PixelInput, requestId: string, img: Rgba & { name: string }, answer: (a: PlaygroundAnswer) => void, untrainedWords: string): Promise<void> {
  const tuning = held.tuning
  const classes = held.validationSplit ? classesOf(held.validationSplit) : null
  if (!tuning?.head || !classes) {
    answer({ type: 'playground', requestId, message: untrainedWords })
    return
  }
  const model: Body = held.body
  const { size } = pixels
  const x = pixels.toInput(img)
  const named = (probs: Float32Array) => Array.from(probs, (prob, i) => ({ name: classes[i] ?? `class ${i}`, prob }))
  const classify = async (head: Head, hooks: Tuning['hooks']) => {
    // The loop's own path (fillCache): stem, every block, pool, head.
    const p = tf.tidy(() => tf.softmax(head.apply(model.pool(model.forwardFrom(model.prefix(tf.tensor4d(x, [1, size, size, 3]), 0, { hooks }), 0, { hooks }), null), false)))
    const v = (await p.data()) as Float32Array
    p.dispose()
    return v
  }
  const fresh = new Tuning(model, tuning.settings, tuning.head.outputDim) // same seed: the head as before step one
  const current = snapshotWeights(model.params)
  try {
    if (held.base) resetWeights(model, held.base)
    const before = await classify(fresh.head!, fresh.hooks)
    answer({ type: 'prediction', requestId, which: 'before', classes: named(before), note: 'pretrained body, untrained head (what the baseline measured)' })
  } finally {
    resetWeights(model, current)
    disposeWeights(current)
    fresh.dispose()
  }
  const after = await classify(tuning.head, tuning.hooks)
  answer({ type: 'prediction', requestId, which: 'after', classes: named(after), note: `after fine-tuning (${tuning.settings.method})` })
}

export const cnnFamily: ModelFamily<HeldCnn> = {
  name: 'image',
  examples: 'images',
  fitProblem: () => null,
  runSettings: (s) => s,
  planShape: (_held, settings, data) => imagePlanShape(settings, data),
  checkContext: (held) => ({ limits: modelLimits(held.body) }),
  extraProblems: () => [],
  describe: (held, trainable) => describeCnnLayers(held.body, trainable),
  encode: (held, settings, data) => encodeImages(cnnPixels(held.body), settings, data),
  zeroShot: async () => null,
  endNote(settings) {
    const augmented = describeAugment(settings)
    return augmented ? `. Training images were augmented (${augmented}); validation images were not.` : ''
  },
  async predict(held, requestId, input, answer) {
    if (input.kind !== 'image') {
      answer({ type: 'playground', requestId, message: `${held.summary.title} reads images: choose a picture, or load a text model.` })
      return
    }
    const untrained = `${input.name}: train the image model on an image dataset first; then before = pretrained body with the untrained head, after = fine-tuned.`
    return predictPicture(held, cnnPixels(held.body), requestId, { width: input.width, height: input.height, data: input.rgba, name: input.name }, answer, untrained)
  },
  export: (held, r) => studioZip(held, r, 'image-classification', (card) => serializeTinyCnn(held.body, card)),
  packTask: () => 'image-classification',
  classesOnly: (held, classes) => ({ kind: 'image', n: 0, height: held.body.config.imageSize, width: held.body.config.imageSize, pixels: new Float32Array(0), labels: new Int32Array(0), classes }),
}

const TYPES: Record<string, string> = {
  'stem.conv': 'Conv 3×3 (im2col dense) + 2×2 avg pool',
  'stem.norm': 'LayerNorm (channels)',
  dw: 'Depthwise conv 3×3',
  pw: 'Pointwise conv 1×1 (dense over channels)',
  norm: 'LayerNorm (channels)',
  lnf: 'LayerNorm (final) + global average pool',
}

/** One row per layer for the model panel (B = batch; H, W at the layer's resolution). */
export function describeCnnLayers(model: TinyCnn, trainable: Set<number>): LayerSummary[] {
  const { imageSize, stemChannels, blocks } = model.config
  const side: number[] = []
  let s = imageSize / 2
  for (const b of blocks) {
    if (b.stride === 2) s /= 2
    side.push(s)
  }
  const shapeOf = (layer: string): string => {
    if (layer.startsWith('stem.')) return `[B, ${imageSize / 2}, ${imageSize / 2}, ${stemChannels}]`
    if (layer === 'lnf') return `[B, ${model.featureDim}] after pooling`
    const i = Number(layer.slice(1, layer.indexOf('.')))
    const cin = i === 0 ? stemChannels : blocks[i - 1]!.channels
    const c = layer.endsWith('.dw') ? cin : blocks[i]!.channels
    return `[B, ${side[i]}, ${side[i]}, ${c}]`
  }
  const rows = new Map<string, LayerSummary>()
  for (const p of model.params) {
    const key = p.layer.startsWith('stem.') || p.layer === 'lnf' ? p.layer : p.layer.slice(p.layer.indexOf('.') + 1)
    const row = rows.get(p.layer) ?? { name: p.layer, type: TYPES[key] ?? key, block: p.block, outputShape: shapeOf(p.layer), params: 0, trainable: trainable.has(p.block) }
    row.params += p.variable.size
    rows.set(p.layer, row)
  }
  return [...rows.values()]
}
