/**
 * The worker's image-model side: loads a TinyCnn (model.json `format` "studio-tinycnn"),
 * describes it, plans and trains it on the current image set. The handler keeps the text
 * model; it asks `probeModel` which kind a URL holds and delegates image models here.
 */
import { refuseSettings, runEvents } from './runEvents'
import { formatBytesOf } from '../format/format'
import * as tf from '@tensorflow/tfjs'
import { rgbaToInput } from '../engine/data/imageInput'
import { SYMMETRIC } from '../engine/data/images/pixels'
import { describeAugment } from '../engine/data/images/augment'
import { loadImageBatch, type ImageSource } from '../engine/data/images/imageBatches'
import type { ImageDecoder, ImageSetInfo, Rgba } from '../engine/data/images/types'
import { encodeImageSplit } from '../engine/data/imageEncode'
import { CNN_FORMAT, checkCnnModelJson, loadTinyCnnFromJson, type LoadedTinyCnn } from '../engine/models/cnnFile'
import type { FetchFn } from '../engine/models/modelFile'
import type { TinyCnn } from '../engine/models/tinyCnn'
import { fineTune, evaluate, Tuning, type Encoded, type FineTuneCallbacks } from '../engine/train/fineTune'
import type { ResumeInput } from '../engine/train/loopState'
import { FeatureCache } from '../engine/train/featureCache'
import type { EncodedImages } from '../engine/train/imageBatches'
import { RunControl } from '../engine/train/runControl'
import { trainableBlocks } from '../engine/tuning/freeze'
import type { Head } from '../engine/tuning/heads'
import { resetWeights, disposeWeights, snapshotWeights, type WeightMap } from '../engine/tuning/interpolate'
import { validateSettings } from '../settings/validate'
import { modelLimits } from '../engine/models/limits'
import type { Settings } from '../settings/types'
import type { FromWorker, LayerSummary, Metrics, ModelSummary, ToWorker } from './protocol'
import type { RunRecorder } from './checkpointHost'
import { layersImageBody, type ImageBody } from './imageBodies'
import { explainEngineError } from '../engine/engineErrors'
import type { CurrentLayers } from './layersModels'

type Post = (e: FromWorker) => void

/** model.json fetched once: its parsed body, and a fetch that answers that URL from memory
 *  so the text loader does not download it twice. */
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

export function isImageModel(p: ModelProbe): boolean {
  return (p.json as { format?: unknown } | null)?.format === CNN_FORMAT
}

/** What the image trainer needs of the current dataset (DataHost.imageSet). */
export interface ImageData {
  info: ImageSetInfo
  source: ImageSource
}

export class ImageModelHost {
  loaded: (LoadedTinyCnn & { summary: ModelSummary }) | null = null
  tuning: Tuning | null = null
  lastVal: EncodedImages | null = null
  private base: WeightMap | null = null

  constructor(
    private readonly post: Post,
    private readonly decoder: ImageDecoder | null,
  ) {}

  private layers: CurrentLayers | null = null // a loaded layers image model (the handler owns and disposes it)

  /** Fine-tune a loaded layers model (LayersBody) instead of a TinyCnn; its pretrained
   *  weights become the base every run starts from. */
  useLayers(cur: CurrentLayers): void {
    this.clear()
    this.layers = cur
    this.base = snapshotWeights(cur.body.params)
  }

  /** Whether an image body (TinyCnn or layers model) is current. */
  get active(): boolean {
    return this.current() !== null
  }

  /** Whether the playground should ask this host (a TinyCnn, or a layers model after a run). */
  get predicts(): boolean {
    return !!this.loaded || (!!this.layers && !!this.tuning?.head)
  }

  /** The body being fine-tuned, with its input size, normalisation and layer table. */
  current(): ImageBody | null {
    if (this.layers) return layersImageBody(this.layers)
    if (!this.loaded) return null
    const { model, summary } = this.loaded
    return {
      body: model,
      size: model.config.imageSize,
      norm: SYMMETRIC,
      summary,
      toInput: (img) => rgbaToInput(img, model.config.imageSize),
      describe: (trainable) => describeCnnLayers(model, trainable),
      methodProblem: () => null,
    }
  }

  async load(probe: ModelProbe, id: string): Promise<void> {
    const json = checkCnnModelJson(probe.json, probe.url.slice(probe.url.lastIndexOf('/') + 1))
    const loaded = await loadTinyCnnFromJson(json, probe.url, probe.fetch, (done, total) =>
      this.post({ type: 'progress', task: 'model', done, total, label: `Downloading the model: ${formatBytesOf(done, total)}` }),
    )
    this.clear()
    this.base = snapshotWeights(loaded.model.params)
    const { model, card } = loaded
    const all = new Set(Array.from({ length: model.config.nLayers + 2 }, (_, i) => i - 1))
    const size = model.config.imageSize
    const summary: ModelSummary = {
      id,
      title: String(card.title ?? card.name ?? 'Image CNN'),
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
    this.loaded = { ...loaded, summary }
    this.post({ type: 'model', summary })
  }

  /** Forgets the image model (another model was loaded). */
  clear(): void {
    this.tuning?.dispose()
    this.tuning = null
    this.lastVal = null
    if (this.base) disposeWeights(this.base)
    this.base = null
    this.loaded?.model.dispose()
    this.loaded = null
    this.layers = null
  }

  /** Parameter counts and problems for these settings, as the handler's plan does for text. */
  plan(settings: Settings, images: ImageData | null, fitProblem: string | null = null): void {
    const cur = this.current()
    if (!cur) return
    const model = cur.body
    const n = images?.info.count ?? 0
    // A model that does not fit the dataset at all: say that alone, not "no examples left
    // for training" about an image set that is not there.
    const problems: { field: string; message: string }[] = fitProblem ? [] : validateSettings(settings, { trainSize: n - Math.round(n * settings.valSplit), nLayers: model.config.nLayers, dModel: model.config.dModel, hasHead: true, limits: modelLimits(model) })
    const methodProblem = cur.methodProblem(settings)
    if (methodProblem) problems.push({ field: 'method', message: methodProblem })
    let counts = { total: model.parameterCount(), trainable: 0 }
    if (!problems.length) {
      try {
        const t = new Tuning(model, settings, Math.max(2, images?.info.classes.length ?? 2))
        counts = t.counts(0)
        t.dispose()
      } catch (e) {
        problems.push({ field: 'method', message: e instanceof Error ? e.message : String(e) })
      }
    }
    if (fitProblem) problems.unshift({ field: 'dataset', message: fitProblem }) // counts stay meaningful
    this.post({ type: 'plan', trainableParams: counts.trainable, totalParams: counts.total, problems })
    const layers = cur.describe(trainableBlocks(model.config.nLayers, settings, 0))
    this.post({ type: 'model', summary: { ...cur.summary, layers, trainableParams: counts.trainable, totalParams: counts.total } })
  }

  /** Train/validation images at the model's input size, decoded batch by batch. */
  encode(settings: Settings, images: ImageData): { train: EncodedImages; val: EncodedImages } {
    const decoder = this.decoder
    if (!decoder) throw new Error('This worker has no image decoder, so it cannot read images.')
    const { size, norm } = this.current()!
    return encodeImageSplit(
      {
        labels: images.info.labels,
        classes: images.info.classes.map((c) => c.name),
        loadPixels: async (rows) => (await loadImageBatch(images.source, rows, decoder, { size, norm })).x,
      },
      { size, valSplit: settings.valSplit, seed: settings.seed, norm },
    )
  }

  /** One fine-tuning run of the image model; `setRun` lets the handler route pause/stop. */
  async train(
    msg: Extract<ToWorker, { type: 'train' }>,
    images: ImageData | null,
    setRun: (r: { id: string; control: RunControl } | null) => void,
    // Recording and checkpointing (CheckpointHost.startRun) and, to continue a run, its saved state.
    rec?: { start: (control: RunControl, cb: FineTuneCallbacks) => Promise<RunRecorder>; resume?: ResumeInput },
  ): Promise<void> {
    const { runId, settings } = msg
    const cur = this.current()
    if (!cur) throw new Error('Load an image model before training it.')
    if (!images) throw new Error('The loaded model reads images: load an image dataset (a zip of class folders) before training.')
    const model = cur.body
    const data = this.encode(settings, images)
    if (data.train.n === 0 || data.val.n === 0) {
      throw new Error(`The split left ${data.train.n} training and ${data.val.n} validation images. Add images, or change the validation split.`)
    }
    const problems = validateSettings(settings, { trainSize: data.train.n, nLayers: model.config.nLayers, dModel: model.config.dModel, hasHead: true, limits: modelLimits(model) })
    const methodProblem = cur.methodProblem(settings)
    if (methodProblem) problems.push({ field: 'method', message: methodProblem })
    if (problems.length) {
      refuseSettings(this.post, runId, problems, model.parameterCount())
      return
    }
    this.tuning?.dispose()
    this.tuning = null
    if (this.base) resetWeights(model, this.base) // every run starts from the pretrained body
    const tuning = new Tuning(model, settings, data.train.classes.length)
    this.tuning = tuning
    this.lastVal = data.val
    const control = new RunControl()
    setRun({ id: runId, control })
    this.post({ type: 'state', runId, state: 'running' })
    try {
      const cb: FineTuneCallbacks = runEvents(this.post, runId)
      const recorder = rec ? await rec.start(control, cb) : null
      const result = await fineTune(model, tuning, data, settings, control, recorder?.callbacks() ?? cb, rec?.resume).catch(async (e: unknown) => {
        await recorder?.fail(explainEngineError(e, { doing: 'training', backend: tf.getBackend() }).message)
        throw e
      })
      const augmented = describeAugment(settings)
      if (augmented) result.message += `. Training images were augmented (${augmented}); validation images were not.`
      await recorder?.finish(result)
      this.post({ type: 'done', runId, reason: result.reason, summary: result.summary, message: result.message })
    } finally {
      setRun(null)
    }
  }

  /** Playground: class probabilities for one picture, with the base weights and the run's
   *  initial head ("before") and as tuned ("after"). */
  async predict(requestId: string, img: Rgba & { name: string }): Promise<void> {
    const tuning = this.tuning
    const classes = this.lastVal?.classes
    const cur = this.current()
    if (!cur || !tuning?.head || !classes) {
      this.post({ type: 'playground', requestId, message: `${img.name}: train the image model on an image dataset first; then before = pretrained body with the untrained head, after = fine-tuned.` })
      return
    }
    const { body: model, size } = cur
    const x = cur.toInput(img)
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
      if (this.base) resetWeights(model, this.base)
      const before = await classify(fresh.head!, fresh.hooks)
      this.post({ type: 'prediction', requestId, which: 'before', classes: named(before), note: 'pretrained body, untrained head (what the baseline measured)' })
    } finally {
      resetWeights(model, current)
      disposeWeights(current)
      fresh.dispose()
    }
    const after = await classify(tuning.head, tuning.hooks)
    this.post({ type: 'prediction', requestId, which: 'after', classes: named(after), note: `after fine-tuning (${tuning.settings.method})` })
  }

  /** The pretrained weights every run starts from (not a copy: do not dispose). */
  get baseWeights(): WeightMap | null {
    return this.base
  }

  /** Makes a restored or imported tuning current (the model already holds its body weights). */
  adopt(tuning: Tuning, val?: EncodedImages): void {
    if (this.tuning !== tuning) this.tuning?.dispose()
    this.tuning = tuning
    if (val) this.lastVal = val
  }

  /** Validation metrics of `tuning` on `val` (the model as it is now). */
  async evaluateWith(tuning: Tuning, val: Encoded): Promise<Metrics> {
    const cur = this.current()
    if (!cur) throw new Error('Load an image model first.')
    return evaluate(cur.body, tuning, val, new FeatureCache(0, false, { train: 0, val: val.n }), 'val')
  }

  /** Validation metrics of the last run's tuned model. */
  async evaluateLast(): Promise<Metrics> {
    const cur = this.current()
    if (!cur || !this.tuning || !this.lastVal) throw new Error('Train a model before evaluating it.')
    return evaluate(cur.body, this.tuning, this.lastVal, new FeatureCache(0, false, { train: 0, val: this.lastVal.n }), 'val')
  }
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
