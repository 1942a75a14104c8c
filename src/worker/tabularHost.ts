/**
 * The worker's tabular side: numeric feature columns → a class or a number, trained on a
 * small MLP (TabularMlp) built for the dataset's columns. No pretrained model exists for a
 * person's own columns, so the MLP starts from a seeded initialisation and every layer
 * trains whatever method is chosen (freezing random weights, or LoRA on them, would only
 * cost accuracy); the plan says so. The handler routes tabular datasets here.
 */
import { refuseSettings, runEvents } from './runEvents'
import type { Dataset } from '../engine/data/types'
import { parseRow } from '../engine/data/rowInput'
import { DEFAULT_TABULAR, TabularMlp } from '../engine/models/tabularMlp'
import { encodeTabular, type SplitRows } from '../engine/train/encodeNumeric'
import { headNeedOf, type TabularEncoded } from '../engine/train/encoded'
import { evaluate, fineTune, Tuning, type FineTuneCallbacks } from '../engine/train/fineTune'
import { FeatureCache } from '../engine/train/featureCache'
import { RunControl } from '../engine/train/runControl'
import type { ResumeInput } from '../engine/train/loopState'
import { resetWeights, snapshotWeights, type WeightMap } from '../engine/tuning/interpolate'
import { validateSettings } from '../settings/validate'
import type { Settings } from '../settings/types'
import * as tf from '@tensorflow/tfjs'
import { softmax } from '../engine/infer/sampling'
import type { Which, DoneReason, FromWorker, LayerSummary, Metrics, ModelSummary, RunSummary, TaskKind, ToWorker } from './protocol'

type Post = (e: FromWorker) => void

export const TABULAR_MODEL_ID = 'tabular-mlp'

export function isTabularTask(task: TaskKind | undefined | null): boolean {
  return task === 'tabular-classification' || task === 'tabular-regression'
}

/** Every layer trains: the body is not pretrained. Other method settings are kept as they are
 *  so that switching back to a text dataset finds them unchanged. */
export function tabularSettings(s: Settings): Settings {
  return { ...s, method: 'full' }
}

export class TabularHost {
  model: TabularMlp | null = null
  tuning: Tuning | null = null
  lastVal: TabularEncoded | null = null
  base: WeightMap | null = null
  summary: ModelSummary | null = null
  seed = 1 // of the last plan or run: the initialisation a restored run's model is rebuilt with
  private columnsKey = ''

  constructor(private readonly post: Post) {}

  /** The MLP for these feature columns: kept while the columns and seed stay the same. */
  modelFor(d: Dataset, seed: number): TabularMlp {
    this.seed = seed
    const key = `${seed}\u0001${d.roles.features.join('\u0001')}`
    if (this.model && key === this.columnsKey) return this.model
    this.clear()
    this.model = new TabularMlp({ inputDim: d.roles.features.length, ...DEFAULT_TABULAR }, seed)
    this.base = snapshotWeights(this.model.params)
    this.columnsKey = key
    return this.model
  }

  clear(): void {
    this.tuning?.dispose()
    this.tuning = null
    this.lastVal = null
    if (this.base) for (const t of this.base.values()) t.dispose()
    this.base = null
    this.model?.dispose()
    this.model = null
    this.summary = null
    this.columnsKey = ''
  }

  private describe(d: Dataset, model: TabularMlp, counts: { total: number; trainable: number }): ModelSummary {
    const f = d.roles.features.length
    const { hidden, nLayers } = model.config
    const regression = d.roles.labels.length === 0
    const layers: LayerSummary[] = [
      { name: 'stem', type: `Dense ${f} → ${hidden} + ReLU`, block: -1, outputShape: `[B, ${hidden}]`, params: (f + 1) * hidden, trainable: true },
      ...Array.from({ length: nLayers }, (_, i) => ({ name: `h${i}`, type: `Residual dense ${hidden} → ${hidden} + ReLU, dropout`, block: i, outputShape: `[B, ${hidden}]`, params: (hidden + 1) * hidden, trainable: true })),
    ]
    this.summary = {
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
    return this.summary
  }

  /** Parameter counts, problems and the model table for a tabular dataset. */
  plan(settings: Settings, d: Dataset, trainSize: number): void {
    const s = tabularSettings(settings)
    const model = this.modelFor(d, s.seed)
    const problems = validateSettings(s, { trainSize, nLayers: model.config.nLayers, dModel: model.config.dModel, hasHead: true })
    let counts = { total: model.parameterCount(), trainable: 0 }
    try {
      const t = new Tuning(model, s, d.roles.labels.length ? Math.max(2, d.classes[d.roles.labels[0]!]?.length ?? 2) : 'regression')
      counts = t.counts(0)
      t.dispose()
    } catch (e) {
      problems.push({ field: 'method', message: e instanceof Error ? e.message : String(e) })
    }
    this.post({ type: 'plan', trainableParams: counts.trainable, totalParams: counts.total, problems, trainExamples: trainSize })
    this.post({ type: 'model', summary: this.describe(d, model, counts) })
  }

  /** One run on the current split; `record` wraps the callbacks so the run is recorded and
   *  checkpointed like any other. */
  async train(
    msg: Extract<ToWorker, { type: 'train' }>,
    split: SplitRows,
    setRun: (r: { id: string; control: RunControl } | null) => void,
    record: (settings: Settings, control: RunControl, cb: FineTuneCallbacks) => Promise<{ callbacks(): FineTuneCallbacks; finish(r: { reason: DoneReason; summary: RunSummary; message: string }): Promise<void>; fail(message: string): Promise<void> }>,
    resume?: ResumeInput, // continue a checkpointed run: same settings and data
  ): Promise<void> {
    const { runId } = msg
    const settings = tabularSettings(msg.settings)
    const model = this.modelFor(split.train, settings.seed)
    const data = encodeTabular(split)
    if (data.train.n === 0 || data.val.n === 0) throw new Error(`The split left ${data.train.n} training and ${data.val.n} validation rows. Add data, or change the validation split.`)
    const problems = validateSettings(settings, { trainSize: data.train.n, nLayers: model.config.nLayers, dModel: model.config.dModel, hasHead: true })
    if (problems.length) {
      refuseSettings(this.post, runId, problems, model.parameterCount())
      return
    }
    this.tuning?.dispose()
    this.tuning = null
    // Every run starts from the same seeded initialisation.
    resetWeights(model, this.base!)
    const tuning = new Tuning(model, settings, headNeedOf(data.train))
    this.tuning = tuning
    this.lastVal = data.val
    const control = new RunControl()
    setRun({ id: runId, control })
    this.post({ type: 'state', runId, state: 'running' })
    try {
      const recorder = await record(settings, control, runEvents(this.post, runId))
      const result = await fineTune(model, tuning, data, settings, control, recorder.callbacks(), resume).catch(async (e: unknown) => {
        await recorder.fail(e instanceof Error ? e.message : String(e))
        throw e
      })
      await recorder.finish(result)
      this.post({ type: 'done', runId, reason: result.reason, summary: result.summary, message: result.message })
    } finally {
      setRun(null)
    }
  }

  /** Playground: one typed row through the untrained model ("before") and the trained one. */
  async predict(requestId: string, values: Record<string, string>): Promise<void> {
    const { model, tuning, lastVal, base } = this
    if (!model || !tuning?.head || !lastVal || !base) {
      this.post({ type: 'playground', requestId, message: 'Train the tabular model first; then type a row to compare the untrained model (before) with the trained one (after).' })
      return
    }
    const st = lastVal.standardizer
    const row = parseRow(st.columns, values)
    if (!row.ok) {
      this.post({ type: 'playground', requestId, message: row.message })
      return
    }
    const x = row.x.map((v, j) => (v - st.mean[j]!) / st.std[j]!)
    const outputOf = async (t: Tuning) => {
      const out = tf.tidy(() => t.head!.apply(model.pool(model.forwardFrom(model.prefix(tf.tensor2d(x, [1, x.length]), 0), 0)), false))
      const v = (await out.data()) as Float32Array
      out.dispose()
      return v
    }
    const send = (which: Which, out: Float32Array, note: string) => {
      if (lastVal.scale) this.post({ type: 'prediction', requestId, which, classes: [], value: { name: lastVal.scale.name, value: (out[0] ?? NaN) * lastVal.scale.std + lastVal.scale.mean }, note })
      else this.post({ type: 'prediction', requestId, which, classes: Array.from(softmax(out), (prob, i) => ({ name: lastVal.classes?.[i] ?? `class ${i}`, prob })), note })
    }
    const trained = snapshotWeights(model.params)
    const fresh = new Tuning(model, tuning.settings, headNeedOf(lastVal))
    try {
      for (const p of model.params) p.variable.assign(base.get(p.name)!)
      send('before', await outputOf(fresh), 'the MLP as initialised, untrained head')
    } finally {
      for (const p of model.params) p.variable.assign(trained.get(p.name)!)
      for (const t of trained.values()) t.dispose()
      fresh.dispose()
    }
    send('after', await outputOf(tuning), 'after training')
  }

  async evaluateLast(): Promise<Metrics> {
    if (!this.model || !this.tuning || !this.lastVal) throw new Error('Train the tabular model before evaluating it.')
    return evaluate(this.model, this.tuning, this.lastVal, new FeatureCache(0, false, { train: 0, val: this.lastVal.n }), 'val')
  }
}
