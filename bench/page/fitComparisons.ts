/** The studio's loop against tfjs' own `model.fit` on the same model, rows, batch size and
 *  backend: (1) a dense head on pooled features computed once (what head-only training is),
 *  (2) full fine-tuning of a tf.LayersModel, the one kind of model both can train as it is. */
import * as tf from '@tensorflow/tfjs'
import { LayersBody } from '../../src/engine/models/layersBody'
import { fineTune, Tuning } from '../../src/engine/train/fineTune'
import type { EncodedImages } from '../../src/engine/train/imageBatches'
import { RunControl } from '../../src/engine/train/runControl'
import { benchSettings, now } from './loops'
import { pairedRatio, type RatioEstimate } from './stats'
import { inputTensors, slice, type Rows, type Workload } from './workloads'

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export interface FitComparison {
  what: string
  rows: number
  valRows: number
  batchSize: number
  stepsPerEpoch: number
  epochs: number
  fitEpochMs: number // median over runs of each run's median timed epoch
  studioEpochMs: number
  fitEpochMsEach: number[]
  studioEpochMsEach: number[]
  studioFirstEpochMs: number // includes the feature cache for head-only
  overhead: RatioEstimate // studio / model.fit, paired run by run
}

/** Epoch times after the first (kernel compilation, caches). */
const timed = (epochs: number[]) => median(epochs.slice(1))

/** Runs fit, studio, fit, studio, …, fit and pairs each studio run with the fits around it. */
async function alternate(repeats: number, fit: () => Promise<number[]>, studio: () => Promise<number[]>) {
  const fits = [await fit()]
  const studios: number[][] = []
  for (let r = 0; r < repeats; r++) {
    studios.push(await studio())
    fits.push(await fit())
  }
  const f = fits.map(timed)
  const s = studios.map(timed)
  return { fitEpochMs: median(f), studioEpochMs: median(s), fitEpochMsEach: f, studioEpochMsEach: s, studioFirstEpochMs: studios[0]![0] ?? NaN, overhead: pairedRatio(s, f) }
}

/** Epoch durations of fineTune (each epoch ends with its validation pass). */
async function studioEpochs(w: Pick<Workload, 'model' | 'classes'>, data: { train: Rows | EncodedImages; val: Rows | EncodedImages }, s: ReturnType<typeof benchSettings>): Promise<number[]> {
  const tuning = new Tuning(w.model, s, w.classes)
  const stamps: number[] = []
  let t0 = now()
  try {
    await fineTune(w.model, tuning, data, s, new RunControl(), {
      onBaseline: () => void (t0 = now()), // the baseline evaluation is not part of an epoch
      onEpoch: () => void stamps.push(now()),
    })
  } finally {
    tuning.dispose()
  }
  return stamps.map((x, i) => x - (i ? stamps[i - 1]! : t0))
}

async function fitEpochs(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, val: [tf.Tensor, tf.Tensor], batchSize: number, epochs: number): Promise<number[]> {
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' })
  const out: number[] = []
  let t = 0
  await model.fit(x, y, {
    batchSize,
    epochs,
    shuffle: true,
    verbose: 0,
    validationData: val,
    callbacks: { onEpochBegin: async () => void (t = now()), onEpochEnd: async () => void out.push(now() - t) },
  })
  return out
}

/** Head-only: a tf.sequential dense softmax head fitted on pooled features computed once, vs the
 *  studio's head-only path, which caches the same pooled features. */
export async function headFitComparison(w: Workload, batchSize: number, repeats: number): Promise<FitComparison> {
  const rows = 256
  const valRows = 16
  const epochs = 8 // 7 timed: a 16-step epoch on WebGL is ~150 ms, so one epoch alone is noise
  const train = slice(w.all, 0, rows)
  const val = slice(w.all, Math.floor(w.all.n * 0.8), valRows)
  const pooled = (set: Rows) =>
    tf.tidy(() => {
      const { x, mask } = inputTensors(set)
      return w.model.pool(w.model.forwardFrom(w.model.prefix(x, 0), 0), mask)
    })
  const feats = pooled(train)
  const y = tf.oneHot(tf.tensor1d(train.labels, 'int32'), w.classes)
  const valX = pooled(val)
  const valY = tf.oneHot(tf.tensor1d(val.labels, 'int32'), w.classes)
  const s = benchSettings(w, 'head', batchSize, train.kind === 'image' ? 64 : train.seqLen, epochs)
  try {
    const r = await alternate(
      repeats,
      async () => {
        const seq = tf.sequential({ layers: [tf.layers.dense({ inputShape: [w.model.featureDim], units: w.classes, activation: 'softmax' })] })
        try {
          return await fitEpochs(seq, feats, y, [valX, valY], batchSize, epochs)
        } finally {
          seq.dispose()
        }
      },
      () => studioEpochs(w, { train, val }, s),
    )
    return { what: `${w.id}: dense head on pooled features`, rows, valRows, batchSize, stepsPerEpoch: Math.ceil(rows / batchSize), epochs, ...r }
  } finally {
    tf.dispose([feats, y, valX, valY])
  }
}

/** A MobileNet-style layers image model without batch norm (so model.fit and the studio, which
 *  keeps batch-norm statistics frozen, do the same arithmetic): a strided 3×3 conv, then
 *  depthwise-separable blocks, global average pooling and a dense classifier. */
export function benchLayersModel(size: number, seed = 1): tf.LayersModel {
  const init = (k: number) => tf.initializers.heNormal({ seed: seed * 100 + k })
  const input = tf.input({ shape: [size, size, 3], name: 'image' })
  let x = tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(0), name: 'stem' }).apply(input) as tf.SymbolicTensor
  const blocks: [number, number][] = [[64, 1], [96, 2], [96, 1], [192, 2], [192, 1]]
  blocks.forEach(([filters, stride], i) => {
    x = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', activation: 'relu', depthwiseInitializer: init(2 * i + 1), name: `dw${i}` }).apply(x) as tf.SymbolicTensor
    x = tf.layers.conv2d({ filters, kernelSize: 1, activation: 'relu', kernelInitializer: init(2 * i + 2), name: `pw${i}` }).apply(x) as tf.SymbolicTensor
  })
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor
  const out = tf.layers.dense({ units: 10, activation: 'softmax', name: 'pretrained_head' }).apply(pooled) as tf.SymbolicTensor
  return tf.model({ inputs: input, outputs: out, name: 'bench_mobilenet_like' })
}

/** Full fine-tuning of a layers model with a new head: the studio (LayersBody + fineTune,
 *  method full) against model.fit of the same layers plus a dense softmax head. A fresh model
 *  (same seed) per run. Pixels come from the image workload; model.fit is given them already
 *  scaled to [-1, 1], which saves it the studio's one elementwise scaling op per step. */
export async function layersFitComparison(images: Workload, batchSize: number, repeats: number): Promise<FitComparison & { layers: number; weights: number; blocks: number }> {
  if (images.all.kind !== 'image') throw new Error('layersFitComparison needs the image workload')
  const size = images.all.height
  const rows = 160
  const valRows = 16
  const epochs = 3
  const C = images.classes
  const toRaw = (set: Rows): EncodedImages => {
    const img = set as EncodedImages
    return { ...img, pixels: img.pixels!.map((p) => (p + 1) * 127.5) } // the studio's layers bodies read 0-255
  }
  const train = slice(images.all, 0, rows)
  const val = slice(images.all, Math.floor(images.all.n * 0.8), valRows)
  const scaled = (set: Rows) => tf.tensor4d((set as EncodedImages).pixels!, [set.n, size, size, 3])
  const x = scaled(train)
  const y = tf.oneHot(tf.tensor1d(train.labels, 'int32'), C)
  const valX = scaled(val)
  const valY = tf.oneHot(tf.tensor1d(val.labels, 'int32'), C)
  const probe = benchLayersModel(size)
  const probeBody = new LayersBody(probe) // also registers the wasm conv gradients model.fit needs
  const shape = { layers: probe.layers.length, weights: probe.countParams(), blocks: probeBody.config.nLayers }
  probeBody.dispose()
  const s = { ...benchSettings(images, 'full', batchSize, 64, epochs), method: 'full' as const }
  try {
    const r = await alternate(
      repeats,
      async () => {
        const base = benchLayersModel(size)
        const body = new LayersBody(base)
        const head = tf.layers.dense({ units: C, activation: 'softmax', name: 'task_head' })
        const fitModel = tf.model({ inputs: body.features.inputs, outputs: head.apply(body.features.outputs[0]!) as tf.SymbolicTensor })
        try {
          return await fitEpochs(fitModel, x, y, [valX, valY], batchSize, epochs)
        } finally {
          // The fit model shares the body's layers: disposing it frees them; the base
          // model's own old head is the only layer left.
          fitModel.dispose()
          for (const l of base.layers) if (!fitModel.layers.includes(l) && l.getClassName() !== 'InputLayer') l.dispose()
        }
      },
      async () => {
        const body = new LayersBody(benchLayersModel(size))
        try {
          return await studioEpochs({ model: body, classes: C }, { train: toRaw(train), val: toRaw(val) }, s)
        } finally {
          body.dispose()
        }
      },
    )
    return { what: `layers model (${shape.weights.toLocaleString('en')} weights, ${shape.blocks} blocks): full fine-tuning with a new head`, rows, valRows, batchSize, stepsPerEpoch: Math.ceil(rows / batchSize), epochs, ...r, ...shape }
  } finally {
    tf.dispose([x, y, valX, valY])
  }
}
