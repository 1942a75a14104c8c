import * as tf from '@tensorflow/tfjs'
import type { LayerSummary, ModelInput } from '../types/model'
import type { Body } from './body'
import type { ForwardOptions, Param } from './tinyGpt'
import { registerWasmConvGrads } from './wasmConvGrads'

/**
 * A tf.LayersModel as a fine-tunable Body. The model is cut at its feature layer (the last
 * global pooling or flatten layer, else the layer before the classifier) and the layers up to
 * there are run one by one, so the loop can stop after any block and restart from it.
 * Blocks are runs of layers between "cut points" (layers no skip connection jumps over),
 * split so each block starts at a weighted layer (conv, dense, …) with its batch norm and
 * activation: MobileNet v1 gives one block per conv, MobileNet v2 one per residual block.
 * Block -1 (stem) is input normalisation and has no weights; there is no final norm (block n).
 *
 * Inference mode throughout: batch-norm statistics stay as pretrained and dropout inside the
 * base model stays off (the usual transfer-learning advice; the task head has its own dropout).
 * Image inputs are RGB pixels 0-255, scaled to [-1, 1] — MobileNet's and Teachable Machine's
 * convention; a model trained on [0, 1] inputs will still fine-tune, just from a shifted start.
 */
type Layer = tf.layers.Layer
interface InboundNode {
  inboundLayers: Layer[]
  nodeIndices: number[]
  tensorIndices: number[]
}

const POOLING = /^(GlobalAveragePooling[123]D|GlobalMaxPooling[123]D|Flatten)$/
const HEAD_TAIL = /^(Dense|Activation|Softmax|Dropout|Reshape|Flatten)$/
const NORMALISATION = /^(BatchNormalization|LayerNormalization)$/

/** The layer whose output becomes the features: last pooling/flatten, else before the classifier. */
export function featureLayer(model: tf.LayersModel): Layer {
  const layers = model.layers
  for (let i = layers.length - 1; i >= 0; i--) if (POOLING.test(layers[i]!.getClassName())) return layers[i]!
  let i = layers.length - 1
  while (i > 0 && HEAD_TAIL.test(layers[i]!.getClassName())) {
    if (layers[i]!.getClassName() === 'Dense') {
      i--
      break
    }
    i--
  }
  const cut = layers[i]
  if (!cut || i === layers.length - 1 || cut.getClassName() === 'InputLayer') {
    throw new Error(`${model.name}: no feature layer to cut at (no pooling or flatten layer, and no dense classifier at the end); this model cannot get a new head.`)
  }
  return cut
}

/** What a studio export writes into model.json's userDefinedMetadata (layersExport.ts,
 *  tabularLayers.ts): the card's title, class names in output order; for a tabular model its feature columns in
 *  input order, the target's name (regression) and typical values (the training means). */
export interface StudioMetadata {
  title?: string
  classes?: string[]
  features?: string[]
  target?: string
  typical?: number[]
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')

/** The metadata above from any layers model, keeping only well-formed fields (a model from
 *  elsewhere may carry anything there, or nothing). */
export function studioMetadata(model: tf.LayersModel): StudioMetadata {
  const m: unknown = model.getUserDefinedMetadata()
  if (!m || typeof m !== 'object') return {}
  const r = m as Record<string, unknown>
  const out: StudioMetadata = {}
  if (typeof r.title === 'string' && r.title) out.title = r.title.slice(0, 200)
  if (strings(r.classes)) out.classes = r.classes
  if (strings(r.features)) out.features = r.features
  if (typeof r.target === 'string' && r.target) out.target = r.target
  if (Array.isArray(r.typical) && r.typical.every((x) => typeof x === 'number' && Number.isFinite(x))) out.typical = r.typical as number[]
  return out
}

/** Activation memory one inference pass (feature caching, evaluation) may use: about three
 *  of the largest layer output alive at once, since run() frees what no later layer reads. A
 *  MobileNetV2 at 224 px (112×112×96 floats, 4.8 MB per image) gets 13 rows a pass. Without
 *  the bound and the freeing, 64 images at 224 px kept 5.6 GB of intermediates in one
 *  tf.tidy, past the WebAssembly heap's 4 GB: the wasm backend aborted ("Aborted()"). */
export const ROWS_PER_PASS_BYTES = 192 * 2 ** 20

const shapeSize = (shape: tf.Shape | tf.Shape[]): number => {
  const s = (Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[]
  return s.slice(1).reduce<number>((a, d) => a * Math.max(1, d ?? 1), 1)
}

const shapeText = (s: (number | null)[]) => `[${s.map((d) => (d === null ? 'B' : String(d))).join(', ')}]`

/** Keras names a layer's weights kernel, depthwise_kernel, pointwise_kernel,
 *  recurrent_kernel, bias, gamma, beta, embeddings…: kernels decay, the rest (biases, batch-
 *  norm gains and shifts, embedding tables) do not. */
export function decaysInLayers(weightName: string): boolean {
  const leaf = weightName.slice(weightName.lastIndexOf('/') + 1)
  return /kernel(_\d+)?$/.test(leaf)
}

export class LayersBody implements Body {
  readonly kind: 'text' | 'image'
  readonly config: { nLayers: number; dModel: number }
  readonly params: Param[] = []
  readonly featureDim: number
  /** Input shape without the batch dimension, e.g. [224, 224, 3]. */
  readonly inputShape: number[]
  readonly features: tf.LayersModel
  private readonly order: Layer[] // the feature model's layers, input layer excluded, in topological order
  private readonly blockEnd: number[] // index in `order` of each block's last layer
  private readonly byName = new Map<string, tf.Variable>()
  private readonly lastUse: number[] // index in `order` of the last layer reading each layer's output
  private readonly position = new Map<string, number>() // layer name → index in `order`
  readonly meta: StudioMetadata
  /** Rows one inference pass may hold at once (see ROWS_PER_PASS_BYTES). */
  readonly rowsPerPass: number

  constructor(readonly full: tf.LayersModel) {
    registerWasmConvGrads() // so conv blocks can train on wasm too
    const input = full.inputs[0]
    if (full.inputs.length !== 1 || !input) throw new Error(`${full.name} has ${full.inputs.length} inputs; only single-input models can be fine-tuned here.`)
    this.inputShape = input.shape.slice(1).map((d) => d ?? -1)
    this.kind = this.inputShape.length === 3 ? 'image' : 'text'
    this.meta = studioMetadata(full)
    const cut = featureLayer(full)
    this.features = cut === full.layers[full.layers.length - 1] ? full : tf.model({ inputs: full.inputs, outputs: cut.output as tf.SymbolicTensor, name: `${full.name}_features` })
    this.order = this.features.layers.filter((l) => l.getClassName() !== 'InputLayer')
    for (const l of this.order) {
      const nodes = l.inboundNodes as unknown as InboundNode[]
      if (nodes.length !== 1) throw new Error(`Layer ${l.name} is used ${nodes.length} times (a shared layer); such models cannot be split into blocks here.`)
    }
    this.blockEnd = this.blocks()
    this.order.forEach((l, i) => this.position.set(l.name, i))
    this.lastUse = this.order.map(() => -1)
    this.order.forEach((l, i) => {
      for (const src of this.inbound(l).inboundLayers) {
        const j = this.position.get(src.name)
        if (j !== undefined) this.lastUse[j] = i
      }
    })
    const largest = Math.max(1, ...this.order.map((l) => shapeSize(l.outputShape)))
    this.rowsPerPass = Math.max(1, Math.min(64, Math.floor(ROWS_PER_PASS_BYTES / (3 * 4 * largest))))
    const outShape = this.features.outputs[0]!.shape
    this.featureDim = outShape[outShape.length - 1] ?? 0
    this.order.forEach((l, i) => {
      const block = this.blockEnd.findIndex((end) => i <= end)
      for (const w of l.trainableWeights) {
        const variable = w.read() as tf.Variable
        const name = w.originalName.replace(/\//g, '.')
        this.params.push({ name, layer: l.name, block, variable, decay: decaysInLayers(w.originalName) })
        this.byName.set(name, variable)
      }
    })
    this.config = { nLayers: this.blockEnd.length, dModel: this.featureDim }
  }

  /** Cut points, then grouped so each block begins at a weighted, non-normalising layer. */
  private blocks(): number[] {
    const index = new Map(this.order.map((l, i) => [l.name, i] as const))
    const lastUse = this.order.map(() => -1)
    this.order.forEach((l, i) => {
      for (const src of this.inbound(l).inboundLayers) {
        const j = index.get(src.name)
        if (j !== undefined) lastUse[j] = Math.max(lastUse[j]!, i)
      }
    })
    const ends: number[] = []
    // Furthest consumer of anything strictly before layer i (the model input included):
    // a block may end at i only if nothing earlier is read after i.
    let reachPrev = Math.max(-1, ...this.order.map((l, i) => (this.inbound(l).inboundLayers.some((src) => !index.has(src.name)) ? i : -1)))
    let blockHasWeights = false
    for (let i = 0; i < this.order.length; i++) {
      const l = this.order[i]!
      blockHasWeights ||= l.trainableWeights.length > 0
      const next = this.order[i + 1]
      const cutHere = reachPrev <= i
      const nextStarts = next !== undefined && next.trainableWeights.length > 0 && !NORMALISATION.test(next.getClassName())
      if (next === undefined || (cutHere && nextStarts && blockHasWeights)) {
        ends.push(i)
        blockHasWeights = false
      }
      reachPrev = Math.max(reachPrev, lastUse[i]!)
    }
    return ends
  }

  private inbound(l: Layer): InboundNode {
    return (l.inboundNodes as unknown as InboundNode[])[0]!
  }

  get(name: string): tf.Variable {
    const v = this.byName.get(name)
    if (!v) throw new Error(`${this.full.name} has no trainable weight named ${name}`)
    return v
  }

  /** What the model reads, for the panel. */
  describeInput(): ModelInput {
    const shape = shapeText([null, ...this.inputShape.map((d) => (d < 0 ? null : d))])
    if (this.kind === 'image') {
      const [h, w, c] = this.inputShape
      return { kind: 'image', shape, description: `${w}×${h} ${c === 1 ? 'greyscale' : 'RGB'} images, pixels scaled from 0–255 to [-1, 1]` }
    }
    const { features, target, typical } = this.meta
    if (features && this.inputShape.length === 1 && features.length === this.inputShape[0]) {
      const predicts = target ? `; predicts ${target}` : this.meta.classes ? `; classifies into ${this.meta.classes.join(', ')}` : ''
      return { kind: 'tabular', shape, description: `rows of ${features.length} raw numbers: ${features.join(', ')}${predicts}`, features, ...(typical?.length === features.length ? { typical } : {}) }
    }
    // Token ids go into an Embedding first; a Dense (or other) first layer reads plain numbers.
    const firstLayer = this.full.layers.find((l) => l.getClassName() !== 'InputLayer')
    if (this.inputShape.length === 1 && firstLayer?.getClassName() !== 'Embedding') {
      return { kind: 'text', shape, description: `rows of ${this.inputShape[0]} numbers (the file does not name the columns they come from)` }
    }
    return { kind: 'text', shape, description: `sequences of ${this.inputShape.join('×')} values (no tokenizer comes with a layers model)` }
  }

  /** Pixels 0-255 → the model's input scale (RGB averaged for a greyscale model, as
   *  pixelsToInput does). Other inputs pass unchanged. */
  embed(input: tf.Tensor): tf.Tensor {
    if (this.kind !== 'image') return input
    const x = this.inputShape[2] === 1 && input.shape[3] === 3 ? tf.mean(input, 3, true) : input
    return tf.sub(tf.div(tf.cast(x, 'float32'), 127.5), 1)
  }

  prefix(input: tf.Tensor, n: number, _opts?: ForwardOptions): tf.Tensor {
    return this.run(this.embed(input), 0, n)
  }

  forwardFrom(x: tf.Tensor, n: number, _opts?: ForwardOptions): tf.Tensor {
    return this.run(x, n, this.blockEnd.length)
  }

  /** Features [B, …] → [B, featureDim] (global average over space or time). */
  pool(hidden: tf.Tensor, _mask: tf.Tensor2D | null): tf.Tensor2D {
    if (hidden.rank === 2) return hidden as tf.Tensor2D
    return tf.mean(hidden, Array.from({ length: hidden.rank - 2 }, (_, i) => i + 1)) as tf.Tensor2D
  }

  /** The original model's own output (its pretrained classes), for "before" in the playground. */
  predictOriginal(pixels: tf.Tensor): tf.Tensor {
    return this.full.apply(this.embed(pixels), { training: false }) as tf.Tensor
  }

  /** Resizes RGBA pixels to the model's input size: [1, H, W, C] values 0-255. */
  pixelsToInput(rgba: Uint8ClampedArray, width: number, height: number): tf.Tensor4D {
    const [h, w, c] = this.inputShape as [number, number, number]
    return tf.tidy(() => {
      const img = tf.tensor3d(Uint8Array.from(rgba), [height, width, 4], 'int32').slice([0, 0, 0], [height, width, 3]).toFloat()
      const sized = tf.image.resizeBilinear(img, [h > 0 ? h : height, w > 0 ? w : width])
      const chans = c === 1 ? tf.mean(sized, 2, true) : sized
      return chans.expandDims(0) as tf.Tensor4D
    })
  }

  /** Blocks [from, to) on x (the output of block from-1, or the normalised input). */
  private run(x: tf.Tensor, from: number, to: number): tf.Tensor {
    if (from >= to) return x
    const startAt = from === 0 ? 0 : this.blockEnd[from - 1]! + 1
    const stopAt = this.blockEnd[to - 1]!
    const outputs = new Map<string, tf.Tensor | tf.Tensor[]>()
    const seed = from === 0 ? this.features.inputLayers[0]!.name : this.order[startAt - 1]!.name
    outputs.set(seed, x)
    let last: tf.Tensor = x
    // Without a gradient being recorded (feature caching, evaluation, prediction) an output
    // no later layer reads is freed at once: a 224 px MobileNet keeps 88 MB of activations
    // per image otherwise. Under a gradient tape the backward pass needs them all.
    const free = tf.engine().state.gradientDepth === 0
    for (let i = startAt; i <= stopAt; i++) {
      const l = this.order[i]!
      const node = this.inbound(l)
      const inputs = node.inboundLayers.map((src, k) => {
        const out = outputs.get(src.name)
        if (out === undefined) throw new Error(`Layer ${l.name} reads ${src.name}, which is outside blocks ${from}..${to - 1}`)
        return Array.isArray(out) ? out[node.tensorIndices[k] ?? 0]! : out
      })
      const y = l.apply(inputs.length === 1 ? inputs[0]! : inputs, { training: false }) as tf.Tensor | tf.Tensor[]
      outputs.set(l.name, y)
      last = Array.isArray(y) ? y[0]! : y
      if (free) this.freeSpent(outputs, i, x, stopAt)
    }
    return last
  }

  /** Disposes the outputs of layers whose last reader is at or before `i` (never `x`, the
   *  caller's, never the block's result, nor a tensor another live output still is). */
  private freeSpent(outputs: Map<string, tf.Tensor | tf.Tensor[]>, i: number, x: tf.Tensor, stopAt: number): void {
    const spent: string[] = []
    for (const name of outputs.keys()) {
      const j = this.position.get(name) ?? -1
      if (j >= 0 && j !== stopAt && this.lastUse[j]! <= i) spent.push(name)
    }
    if (!spent.length) return
    const flat = (v: tf.Tensor | tf.Tensor[]) => (Array.isArray(v) ? v : [v])
    const doomed = spent.flatMap((name) => flat(outputs.get(name)!))
    spent.forEach((name) => outputs.delete(name))
    const live = new Set([x, ...[...outputs.values()].flatMap(flat)])
    for (const t of doomed) if (!live.has(t) && !t.isDisposed) t.dispose()
  }

  /** One row per body layer, plus the original head's layers (replaced by the task head). */
  describeLayers(trainableBlocks: Set<number>): LayerSummary[] {
    const block = (i: number) => this.blockEnd.findIndex((end) => i <= end)
    const rows: LayerSummary[] = this.order.map((l, i) => ({
      name: l.name,
      type: l.getClassName(),
      block: block(i),
      outputShape: shapeText(l.outputShape as (number | null)[]),
      params: l.countParams(),
      trainable: l.trainableWeights.length > 0 && trainableBlocks.has(block(i)),
    }))
    if (this.features !== this.full) {
      const inBody = new Set(this.order.map((l) => l.name))
      for (const l of this.full.layers) {
        if (inBody.has(l.name) || l.getClassName() === 'InputLayer') continue
        rows.push({ name: l.name, type: `${l.getClassName()} (original head: replaced by the task head)`, block: this.blockEnd.length, outputShape: shapeText(l.outputShape as (number | null)[]), params: l.countParams(), trainable: false })
      }
    }
    return rows
  }

  parameterCount(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0)
  }

  dispose(): void {
    this.full.dispose()
    this.params.length = 0
    this.byName.clear()
  }
}

