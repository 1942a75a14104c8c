/** The MLP built for a table's numeric columns (TabularMlp): numeric feature columns → a class
 *  or a number. No pretrained model exists for a person's own columns, so the MLP starts from
 *  a seeded initialisation and every layer trains whatever method is chosen (freezing random
 *  weights, or LoRA on them, would only cost accuracy); the plan says so. The session holds it
 *  beside whatever pretrained model is loaded (families/index.ts builds it for the data). */
import type { Dataset } from '../../data/types'
import { tabularLayersZip } from '../../export/tabularLayers'
import { DEFAULT_TABULAR, TabularMlp } from '../../models/tabularMlp'
import { encodeTabular } from '../../train/encodeNumeric'
import { headNeedOf } from '../../train/encoded'
import { Tuning } from '../../train/fineTune'
import { disposeWeights, snapshotWeights } from '../../tuning/interpolate'
import type { LayerSummary, ModelSummary, TaskKind } from '../../types/model'
import type { Settings } from '../../../settings/types'
import type { HeldModel, ModelFamily, SessionData } from '../family'
import { typedRow } from './typedRow'

export const TABULAR_MODEL_ID = 'tabular-mlp'

export function isTabularTask(task: TaskKind | undefined | null): boolean {
  return task === 'tabular-classification' || task === 'tabular-regression'
}

/** Every layer trains: the body is not pretrained. Other method settings are kept as they are
 *  so that switching back to a text dataset finds them unchanged. */
export function tabularSettings(s: Settings): Settings {
  return { ...s, method: 'full' }
}

/** A table of numeric columns trains an MLP built for them, whichever model is loaded. */
export function wantsTabular(data: SessionData): boolean {
  return !!data.dataset && isTabularTask(data.facts?.task)
}

export interface HeldTabular extends HeldModel {
  readonly body: TabularMlp
  /** The columns and seed it was built for: the same ones keep it. */
  readonly builtFor: string
  readonly seed: number
}

/** The MLP for the data's feature columns and this seed: `current` when it was built for the
 *  same ones, else a new one (its seeded initialisation is the base every run starts from). */
export function tabularFor(data: SessionData, seed: number, current: HeldModel | null): HeldTabular {
  const d = data.dataset!
  const key = `${seed}\u0001${d.roles.features.join('\u0001')}`
  if (current && (current as HeldTabular).builtFor === key) return current as HeldTabular
  const model = new TabularMlp({ inputDim: d.roles.features.length, ...DEFAULT_TABULAR }, seed)
  const summary = describeMlp(d, model, { total: model.parameterCount(), trainable: model.parameterCount() })
  return { family: tabularFamily as ModelFamily, body: model, builtFor: key, seed, summary, card: { title: summary.title }, base: snapshotWeights(model.params), tuning: null, validationSplit: null }
}

function describeMlp(d: Dataset, model: TabularMlp, counts: { total: number; trainable: number }): ModelSummary {
  const f = d.roles.features.length
  const { hidden, nLayers } = model.config
  const regression = d.roles.labels.length === 0
  const layers: LayerSummary[] = [
    { name: 'stem', type: `Dense ${f} → ${hidden} + ReLU`, block: -1, outputShape: `[B, ${hidden}]`, params: (f + 1) * hidden, trainable: true },
    ...Array.from({ length: nLayers }, (_, i) => ({ name: `h${i}`, type: `Residual dense ${hidden} → ${hidden} + ReLU, dropout`, block: i, outputShape: `[B, ${hidden}]`, params: (hidden + 1) * hidden, trainable: true })),
  ]
  return {
    id: TABULAR_MODEL_ID,
    title: `Tabular MLP for ${f} numeric column${f === 1 ? '' : 's'}`,
    description:
      `Built for ${d.name}: standardised features (${d.roles.features.join(', ')}) → ${nLayers} residual dense blocks of ${hidden} units → a new ${regression ? `regression head predicting ${d.roles.target}` : `classification head over ${d.roles.labels[0]}`}. ` +
      'No pretrained model exists for your own columns, so this one starts from a seeded initialisation and every layer trains, whichever method is chosen.',
    pretrained: false,
    layers,
    totalParams: counts.total,
    trainableParams: counts.trainable,
    nLayers,
    dModel: hidden,
    seqLen: 0,
    vocabSize: 0,
    input: { kind: 'tabular', shape: `[B, ${f}]`, description: `${f} numeric columns, each standardised with the training split's mean and standard deviation` },
  }
}

export const tabularFamily: ModelFamily<HeldTabular> = {
  name: 'tabular',
  examples: 'rows',
  fitProblem: () => null,
  runSettings: tabularSettings,
  planShape(_held, settings, data) {
    const d = data.dataset!
    const rows = data.facts?.rows ?? 0
    let trainSize = rows - Math.round(rows * settings.valSplit)
    try {
      trainSize = data.split(settings).trainIdx.length
    } catch {
      // no split yet (its own message reaches the page elsewhere)
    }
    return { trainSize, need: d.roles.labels.length ? Math.max(2, d.classes[d.roles.labels[0]!]?.length ?? 2) : 'regression', trainExamples: trainSize }
  },
  checkContext: () => ({}),
  extraProblems: () => [],
  describe: (held) => held.summary.layers, // every layer trains
  encode: (_held, settings, data) => encodeTabular(data.split(settings)),
  zeroShot: async () => null,
  endNote: () => '',
  /** One typed row through the untrained model ("before") and the trained one. */
  async predict(held, requestId, input, answer) {
    const { body: model, tuning, validationSplit: val, base } = held
    if (input.kind !== 'row' || !tuning?.head || val?.kind !== 'tabular' || !base) {
      answer({ type: 'playground', requestId, message: 'Train the tabular model first; then type a row to compare the untrained model (before) with the trained one (after).' })
      return
    }
    const row = typedRow(model, val, input.values, requestId, answer)
    if (!row) return
    const trained = snapshotWeights(model.params)
    const fresh = new Tuning(model, tuning.settings, headNeedOf(val))
    try {
      for (const p of model.params) p.variable.assign(base.get(p.name)!)
      row.send('before', await row.outputOf(fresh), 'the MLP as initialised, untrained head')
    } finally {
      for (const p of model.params) p.variable.assign(trained.get(p.name)!)
      disposeWeights(trained)
      fresh.dispose()
    }
    row.send('after', await row.outputOf(tuning), 'after training')
  },
  /** A plain TensorFlow.js layers model reading raw feature values, at the kept α for
   *  'interpolated' (there is no base model to apply adapter weights to). */
  async export(held, r) {
    const { tuning, validationSplit: val } = held
    if (r.choice === 'adapter') throw new Error('A tabular MLP is not pretrained, so there is no base model for an adapter-only file: export the merged model.')
    if (!tuning?.head || val?.kind !== 'tabular') throw new Error('Train the tabular model before exporting it.')
    const blend = r.blend()
    const before = blend.alpha
    if (r.choice === 'interpolated') blend.apply(r.alpha)
    try {
      r.onProgress(0, 1, 'Building a TensorFlow.js layers model')
      const d = r.data
      const card = {
        title: `${held.summary.title}${d ? ` trained on ${d.name}` : ''}`,
        architecture: held.summary.description,
        dataset: d ? { name: d.name, source: d.source, task: d.task, rows: d.rows } : null,
        settings: tuning.settings,
        metrics: r.metrics,
        alpha: r.choice === 'interpolated' ? r.alpha : 1,
        date: new Date().toISOString(),
      }
      const bytes = await tabularLayersZip({ model: held.body, head: tuning.head, standardizer: val.standardizer, ...(val.scale ? { scale: val.scale } : {}), ...(val.classes ? { classes: val.classes } : {}), card })
      r.onProgress(1, 1, '')
      return { fileName: `${(d?.name ?? 'tabular').replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_')}-mlp-tfjs.zip`, bytes }
    } finally {
      blend.apply(before)
    }
  },
  packTask: () => null,
  classesOnly: () => null,
}
