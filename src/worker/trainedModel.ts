/**
 * The model a run trains, seen the same way whatever it is (the text TinyGpt in the handler's
 * session, the image TinyCnn in ImageModelHost): checkpoints, restore, resume, interpolation
 * and export go through this instead of reaching into either.
 */
import type { LoadedTinyGpt, ModelCard } from '../engine/models/modelFile'
import type { Body } from '../engine/models/body'
import type { Encoded, Tuning } from '../engine/train/fineTune'
import type { EncodedImages } from '../engine/train/imageBatches'
import type { WeightMap } from '../engine/tuning/interpolate'
import type { Settings } from '../settings/types'
import type { ImageModelHost, ImageData } from './imageModelHost'
import { TABULAR_MODEL_ID, type TabularHost } from './tabularHost'
import type { Dataset } from '../engine/data/types'
import { evaluate } from '../engine/train/fineTune'
import { FeatureCache } from '../engine/train/featureCache'
import type { Metrics, ModelSummary } from './protocol'

export interface TrainedModel {
  kind: 'text' | 'image' | 'tabular'
  model: Body
  summary: ModelSummary
  card: ModelCard
  /** The pretrained weights every run starts from. */
  base: WeightMap | null
  /** What the last run (or restore, or import) trained; null before any. */
  tuning: Tuning | null
  lastVal: Encoded | null
  /** The current dataset's train/validation split, encoded for this model. */
  encode(settings: Settings): { train: Encoded; val: Encoded }
  evaluate(tuning: Tuning, val: Encoded): Promise<Metrics>
  /** Makes `tuning` the one evaluation, the playground and export use (disposing the one
   *  before); `val` replaces the validation split when given. */
  adopt(tuning: Tuning, val?: Encoded): void
}

/** The image host's model as a TrainedModel; null when it holds none. */
export function imageTrainedModel(host: ImageModelHost, images: () => ImageData | null): TrainedModel | null {
  const cur = host.current() // the TinyCnn, or a loaded layers image model
  if (!cur) return null
  return {
    kind: 'image',
    model: cur.body,
    summary: cur.summary,
    card: host.loaded?.card ?? {},
    base: host.baseWeights,
    tuning: host.tuning,
    lastVal: host.lastVal,
    encode: (settings) => {
      const set = images()
      if (!set) throw new Error('The loaded model reads images: load the image dataset (a zip of class folders) it was trained on.')
      return host.encode(settings, set)
    },
    evaluate: (tuning, val) => host.evaluateWith(tuning, val),
    adopt: (tuning, val) => {
      if (val && val.kind !== 'image') throw new Error('An image model needs image validation data.')
      host.adopt(tuning, val)
    },
  }
}

/** Validation "data" that only names the classes: lets the playground label an imported
 *  image head when no image dataset is loaded to measure it on. */
export function classesOnly(classes: string[], size: number): EncodedImages {
  return { kind: 'image', n: 0, height: size, width: size, pixels: new Float32Array(0), labels: new Int32Array(0), classes }
}

/** The part of the handler's session that holds the text model. */
export interface TextSession {
  loaded: (LoadedTinyGpt & { summary: ModelSummary }) | null
  base: WeightMap | null
  tuning: Tuning | null
  lastVal: Encoded | null
}

/** The handler's text model as a TrainedModel; null when none is loaded. */
export function textTrainedModel(
  s: TextSession,
  encode: (settings: Settings) => { train: Encoded; val: Encoded },
  evaluate: (tuning: Tuning, val: Encoded) => Promise<Metrics>,
): TrainedModel | null {
  const loaded = s.loaded
  if (!loaded) return null
  return {
    kind: 'text',
    model: loaded.model,
    summary: loaded.summary,
    card: loaded.card,
    base: s.base,
    tuning: s.tuning,
    lastVal: s.lastVal,
    encode,
    evaluate,
    adopt: (tuning, val) => {
      if (s.tuning !== tuning) s.tuning?.dispose()
      s.tuning = tuning
      if (val) s.lastVal = val
    },
  }
}

/** The tabular MLP for the current dataset's feature columns; null before it exists. */
export function tabularTrainedModel(host: TabularHost, dataset: Dataset | null, encode: (settings: Settings) => { train: Encoded; val: Encoded }): TrainedModel | null {
  const model = host.model ?? (dataset ? host.modelFor(dataset, host.seed) : null)
  if (!model) return null
  return {
    kind: 'tabular',
    model,
    summary: host.summary ?? { id: TABULAR_MODEL_ID, title: 'Tabular MLP', description: '', pretrained: false, layers: [], totalParams: model.parameterCount(), trainableParams: 0, nLayers: model.config.nLayers, dModel: model.config.dModel, seqLen: 0, vocabSize: 0 },
    card: { title: host.summary?.title ?? 'Tabular MLP' },
    base: host.base,
    tuning: host.tuning,
    lastVal: host.lastVal,
    encode,
    evaluate: (tuning, val) => evaluate(model, tuning, val, new FeatureCache(0, false, { train: 0, val: val.n }), 'val'),
    adopt: (tuning, val) => {
      if (val && val.kind !== 'tabular') throw new Error('A tabular model needs tabular validation data.')
      if (host.tuning !== tuning) host.tuning?.dispose()
      host.tuning = tuning
      if (val) host.lastVal = val
    },
  }
}

/** The class names a classification split is labelled with; null for other tasks. */
export function classesOf(val: Encoded): string[] | null {
  return 'classes' in val && Array.isArray(val.classes) ? val.classes : null
}
