import type { Dataset } from '../engine/data/dataset'
import { buildModelZip } from '../engine/export/modelZip'
import { readModelZip } from '../engine/export/modelZip'
import { fingerprintWeights, restoreTuning } from '../engine/export/tuningPack'
import type { LoadedTinyGpt } from '../engine/models/modelFile'
import { TinyGpt } from '../engine/models/tinyGpt'
import type { Encoded, Tuning } from '../engine/train/fineTune'
import { bestAlpha, sweepBlend, TunedBlend } from '../engine/tuning/blend'
import { applyInterpolation, type WeightMap } from '../engine/tuning/interpolate'
import type { Settings } from '../settings/types'
import type { DatasetSummary, FromWorker, Metrics, ModelSummary, ToWorker } from './protocol'

/** The part of the handler's session these commands read and change. */
export interface ExportSessionView {
  dataset: Dataset | null
  datasetSummary: DatasetSummary | null
  loaded: (LoadedTinyGpt & { summary: ModelSummary }) | null
  tuning: Tuning | null
  lastVal: Encoded | null
  base: WeightMap | null
}

export interface ExportDeps {
  encode(settings: Settings): { train: Encoded; val: Encoded }
  install(loaded: LoadedTinyGpt, id: string): void
  evaluate(tuning: Tuning, val: Encoded): Promise<Metrics>
}

type Cmd = Extract<ToWorker, { type: 'interpolate' | 'sweep' | 'keepAlpha' | 'export' }>

/** Interpolation, sweep, export and import of fine-tuned models, for handler.ts. */
export function createExportCommands(s: ExportSessionView, post: (e: FromWorker) => void, deps: ExportDeps) {
  let blend: TunedBlend | null = null

  /** The blend for the current run, made when first needed (the model then holds the tuned weights). */
  function currentBlend(): TunedBlend {
    if (!s.loaded || !s.tuning || !s.base) throw new Error('Train a model (or load a fine-tuned one) before interpolating or exporting it.')
    if (blend && blend.tuning === s.tuning && blend.model === s.loaded.model) return blend
    blend?.dispose()
    blend = new TunedBlend(s.loaded.model, s.base, s.tuning)
    return blend
  }

  async function measure(): Promise<Metrics> {
    if (!s.tuning || !s.lastVal) throw new Error('There is no validation split to measure: train first.')
    return deps.evaluate(s.tuning, s.lastVal)
  }

  const lean = (m: Metrics) => ({ loss: m.loss, ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}), ...(m.perplexity !== undefined ? { perplexity: m.perplexity } : {}) })

  async function handle(msg: Cmd): Promise<void> {
    switch (msg.type) {
      case 'interpolate':
      case 'keepAlpha': {
        const b = currentBlend()
        b.apply(msg.alpha)
        if (msg.type === 'keepAlpha') b.kept = msg.alpha
        post({ type: 'interpolation', alpha: b.alpha, kept: b.kept, metrics: await measure() })
        break
      }
      case 'sweep': {
        const b = currentBlend()
        if (!s.lastVal) throw new Error('There is no validation split to sweep over: train first.')
        const points = await sweepBlend(b, msg.points, async () => lean(await measure()), (done, total, p) =>
          post({ type: 'progress', task: 'sweep', done, total, label: `Measuring α = ${p.alpha.toFixed(2)} (${done} of ${total})` }),
        )
        post({ type: 'sweep', points, best: bestAlpha(points) })
        break
      }
      case 'export': {
        const b = currentBlend()
        const { loaded, tuning, base } = s
        if (!(loaded!.model instanceof TinyGpt)) throw new Error('Export writes the studio TinyGpt format; this model is not a TinyGpt.')
        let exported: Metrics | null = null
        if (msg.choice === 'interpolated' && s.lastVal) {
          const before = b.alpha
          b.apply(msg.alpha)
          try {
            exported = await measure()
          } finally {
            b.apply(before)
          }
        }
        const d = s.datasetSummary
        const built = await buildModelZip({
          choice: msg.choice,
          alpha: msg.alpha,
          model: loaded!.model,
          tokenizer: loaded!.tokenizer,
          baseCard: loaded!.card,
          base: base!,
          tuning: tuning!,
          blend: b,
          task: tuning!.head ? 'text-classification' : 'language-modelling',
          classes: s.lastVal?.kind === 'classification' ? s.lastVal.classes : null,
          facts: {
            baseModel: { id: loaded!.summary.id, title: loaded!.summary.title },
            dataset: d ? { name: d.name, source: d.source, task: d.task, rows: d.rows, classes: d.classes } : null,
            settings: tuning!.settings,
            metrics: { base: msg.metrics.base, tuned: msg.metrics.tuned, exported: exported ?? (msg.choice === 'interpolated' ? null : msg.metrics.tuned) },
            date: new Date().toISOString(),
          },
          onProgress: (done, total, label) => post({ type: 'progress', task: 'export', done, total, label }),
        })
        const buf = built.bytes.byteOffset === 0 && built.bytes.byteLength === built.bytes.buffer.byteLength ? built.bytes.buffer : built.bytes.slice().buffer
        post({ type: 'exported', fileName: built.fileName, choice: msg.choice, bytes: buf as ArrayBuffer })
        break
      }
      default: {
        const never: never = msg
        throw new Error(`Unknown export command ${JSON.stringify(never)}`)
      }
    }
  }

  /** Loads a .zip the studio exported: a full model replaces the loaded one; an adapter-only
   *  file is applied to the loaded base model, which must be the one it was made for. */
  async function importFile(file: File): Promise<void> {
    post({ type: 'progress', task: 'model', done: 0, total: file.size, label: `Reading ${file.name}` })
    const bytes = new Uint8Array(await file.arrayBuffer())
    const read = await readModelZip(bytes, file.name, undefined, (done, total) =>
      post({ type: 'progress', task: 'model', done, total, label: `Loading ${file.name}: ${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB` }),
    )
    const pack = read.pack
    if (read.loaded) {
      deps.install(read.loaded, `file: ${file.name}`)
    } else {
      if (!pack) throw new Error(`${file.name} holds no model`)
      if (!s.loaded || !s.base) throw new Error(`${file.name} holds only fine-tuned weights for "${pack.json.base.title}": load that base model first.`)
      const have = await fingerprintWeights(s.base)
      if (have !== pack.json.base.fingerprint) {
        throw new Error(`${file.name} was made for "${pack.json.base.title}" (fingerprint ${pack.json.base.fingerprint}), but the loaded base model is "${s.loaded.summary.title}" (fingerprint ${have}). Load the base model it was made for.`)
      }
      // Start from the pretrained weights, as the run did.
      s.tuning?.dispose()
      s.tuning = null
      applyInterpolation(s.loaded.model, s.base, s.base, 0)
    }
    const loaded = s.loaded!
    let metrics: Metrics | null = null
    let note = ''
    if (pack) {
      if (!(loaded.model instanceof TinyGpt)) throw new Error(`${file.name}: fine-tuned weights apply to a TinyGpt model only`)
      s.tuning?.dispose()
      s.tuning = restoreTuning(loaded.model, pack)
      const task = s.datasetSummary?.task
      if (!s.dataset || !task) note = 'Load the dataset it was trained on to measure it.'
      else if (task !== pack.json.task) note = `It was trained for ${pack.json.task}; the loaded dataset is ${task}, so it was not measured.`
      else {
        const { val } = deps.encode(s.tuning.settings)
        if (val.kind === 'classification' && JSON.stringify(val.classes) !== JSON.stringify(pack.json.classes)) {
          note = `Its classes (${(pack.json.classes ?? []).join(', ')}) differ from the loaded dataset's (${val.classes.join(', ')}), so it was not measured.`
        } else if (val.n === 0) note = 'The validation split is empty.'
        else {
          s.lastVal = val
          metrics = await deps.evaluate(s.tuning, val)
          note = 'Measured on the validation split of the loaded dataset, with the settings it was trained with.'
        }
      }
    } else note = 'A model without a task head: ready to fine-tune.'
    post({
      type: 'imported',
      fileName: file.name,
      choice: pack?.json.choice ?? 'merged',
      title: String(read.card.title ?? loaded.summary.title),
      metrics,
      note,
    })
  }

  return { handle, importFile, dispose: () => blend?.dispose() }
}
