import { buildModelZip, readModelZip, type ZippedCnn } from '../engine/export/modelZip'
import { formatBytesOf, formatDecimal } from '../format/format'
import { fingerprintWeights, restoreTuning } from '../engine/export/tuningPack'
import type { LoadedTinyGpt } from '../engine/models/modelFile'
import { TinyCnn } from '../engine/models/tinyCnn'
import { TinyGpt } from '../engine/models/tinyGpt'
import { bestAlpha, sweepBlend, TunedBlend } from '../engine/tuning/blend'
import { tabularLayersZip } from '../engine/export/tabularLayers'
import { layersRunZip } from '../engine/export/layersExport'
import { LayersBody } from '../engine/models/layersBody'
import { TabularMlp } from '../engine/models/tabularMlp'
import { resetWeights } from '../engine/tuning/interpolate'
import type { DatasetSummary, FromWorker, Metrics, ModelSummary, ToWorker } from './protocol'
import { classesOf, classesOnly, type TrainedModel } from './trainedModel'

/** The part of the handler's session these commands read (the model itself comes from
 *  `deps.current()`, text or image). */
export interface ExportSessionView {
  datasetSummary: DatasetSummary | null
  loaded: (LoadedTinyGpt & { summary: ModelSummary }) | null // for the text model's tokenizer
}

export interface ExportDeps {
  /** The loaded model, text or image, with its run's tuning. */
  current(): TrainedModel | null
  install(loaded: LoadedTinyGpt, id: string): void
  /** Makes an image model read from an export the current model. */
  installImage(model: ZippedCnn, id: string): Promise<void>
  /** Loads a TensorFlow.js layers model from its files, as "choose files" does. */
  installLayers(files: File[]): Promise<void>
}

type Cmd = Extract<ToWorker, { type: 'interpolate' | 'sweep' | 'keepAlpha' | 'export' }>

/** Interpolation, sweep, export and import of fine-tuned models, for handler.ts. */
export function createExportCommands(s: ExportSessionView, post: (e: FromWorker) => void, deps: ExportDeps) {
  let blend: TunedBlend | null = null

  /** The blend for the current run, made when first needed (the model then holds the tuned weights). */
  function currentBlend(): TunedBlend {
    const t = deps.current()
    if (!t || !t.tuning || !t.base) throw new Error('Train a model (or load a fine-tuned one) before interpolating or exporting it.')
    if (blend && blend.tuning === t.tuning && blend.model === t.model) return blend
    blend?.dispose()
    blend = new TunedBlend(t.model, t.base, t.tuning)
    return blend
  }

  async function measure(): Promise<Metrics> {
    const t = deps.current()
    if (!t?.tuning || !t.lastVal || t.lastVal.n === 0) throw new Error('There is no validation split to measure: train first.')
    return t.evaluate(t.tuning, t.lastVal)
  }

  const lean = (m: Metrics) => ({ loss: m.loss, ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}), ...(m.perplexity !== undefined ? { perplexity: m.perplexity } : {}), ...(m.rmse !== undefined ? { rmse: m.rmse } : {}) })

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
        if (!deps.current()?.lastVal) throw new Error('There is no validation split to sweep over: train first.')
        const points = await sweepBlend(b, msg.points, async () => lean(await measure()), (done, total, p) =>
          post({ type: 'progress', task: 'sweep', done, total, label: `Measuring α = ${formatDecimal(p.alpha, 2)} (${done} of ${total})` }),
        )
        post({ type: 'sweep', points, best: bestAlpha(points) })
        break
      }
      case 'export': {
        const b = currentBlend()
        const t = deps.current()!
        const { model, tuning, base, lastVal } = t
        if (t.kind === 'tabular') return exportTabular(t, b, msg)
        if (model instanceof LayersBody) return exportLayers(t, model, b, msg)
        if (!(model instanceof TinyGpt) && !(model instanceof TinyCnn)) throw new Error('Export writes the studio TinyGpt or TinyCnn format; this model is neither.')
        let exported: Metrics | null = null
        if (msg.choice === 'interpolated' && lastVal && lastVal.n > 0) {
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
          model,
          tokenizer: t.kind === 'text' ? (s.loaded?.tokenizer ?? null) : null,
          baseCard: t.card,
          base: base!,
          tuning: tuning!,
          blend: b,
          task: t.kind === 'image' ? 'image-classification' : tuning!.head?.spec.kind === 'regression' ? 'text-regression' : tuning!.head ? 'text-classification' : 'language-modelling',
          classes: lastVal ? classesOf(lastVal) : null,
          facts: {
            baseModel: { id: t.summary.id, title: t.summary.title },
            dataset: d ? { name: d.name, source: d.source, task: d.task, rows: d.rows, classes: d.classes } : null,
            settings: tuning!.settings,
            metrics: { base: msg.metrics.base, baseName: msg.metrics.baseName ?? null, tuned: msg.metrics.tuned, exported: exported ?? (msg.choice === 'interpolated' ? null : msg.metrics.tuned) },
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

  /** A tabular MLP leaves as a plain TensorFlow.js layers model reading raw feature values,
   *  at the kept α for 'interpolated' (there is no base model to apply adapter weights to). */
  async function exportTabular(t: TrainedModel, b: TunedBlend, msg: Extract<Cmd, { type: 'export' }>): Promise<void> {
    const { model, tuning, lastVal } = t
    if (msg.choice === 'adapter') throw new Error('A tabular MLP is not pretrained, so there is no base model for an adapter-only file: export the merged model.')
    if (!(model instanceof TabularMlp) || !tuning?.head || lastVal?.kind !== 'tabular') throw new Error('Train the tabular model before exporting it.')
    const before = b.alpha
    if (msg.choice === 'interpolated') b.apply(msg.alpha)
    try {
      post({ type: 'progress', task: 'export', done: 0, total: 1, label: 'Building a TensorFlow.js layers model' })
      const d = s.datasetSummary
      const card = {
        title: `${t.summary.title}${d ? ` trained on ${d.name}` : ''}`,
        architecture: t.summary.description,
        dataset: d ? { name: d.name, source: d.source, task: d.task, rows: d.rows } : null,
        settings: tuning.settings,
        metrics: msg.metrics,
        alpha: msg.choice === 'interpolated' ? msg.alpha : 1,
        date: new Date().toISOString(),
      }
      const bytes = await tabularLayersZip({ model, head: tuning.head, standardizer: lastVal.standardizer, ...(lastVal.scale ? { scale: lastVal.scale } : {}), ...(lastVal.classes ? { classes: lastVal.classes } : {}), card })
      post({ type: 'progress', task: 'export', done: 1, total: 1, label: '' })
      const fileName = `${(d?.name ?? 'tabular').replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_')}-mlp-tfjs.zip`
      post({ type: 'exported', fileName, choice: msg.choice, bytes: bytes.slice().buffer as ArrayBuffer })
    } finally {
      b.apply(before)
    }
  }

  /** A fine-tuned layers model: its own network (tuned blocks included) plus the new head,
   *  as a TensorFlow.js layers model, at the kept α for 'interpolated'. */
  async function exportLayers(t: TrainedModel, body: LayersBody, b: TunedBlend, msg: Extract<Cmd, { type: 'export' }>): Promise<void> {
    const { tuning, lastVal } = t
    if (msg.choice === 'adapter') throw new Error(`${t.summary.title} is a TensorFlow.js layers model: export the merged model (it holds the new head and any tuned blocks).`)
    const classes = lastVal ? classesOf(lastVal) : null
    if (!tuning?.head || !classes) throw new Error('Fine-tune the model on an image dataset before exporting it.')
    const before = b.alpha
    if (msg.choice === 'interpolated') b.apply(msg.alpha)
    try {
      post({ type: 'progress', task: 'export', done: 0, total: 1, label: 'Building a TensorFlow.js layers model' })
      const d = s.datasetSummary
      const title = `${t.summary.title} fine-tuned${d ? ` on ${d.name}` : ''}`
      const card = { title, baseModel: t.summary.id, classes, dataset: d ? { name: d.name, source: d.source, task: d.task, rows: d.rows } : null, settings: tuning.settings, metrics: msg.metrics, alpha: msg.choice === 'interpolated' ? msg.alpha : 1, date: new Date().toISOString() }
      const readme = `# ${title}\n\nA TensorFlow.js layers model: ${t.summary.input?.description ?? 'the original input'}; output: probabilities of ${JSON.stringify(classes)}.\n\n\`\`\`js\nconst model = await tf.loadLayersModel('model.json')\n\`\`\`\n`
      const bytes = await layersRunZip(body, tuning.head, classes, card, readme)
      post({ type: 'progress', task: 'export', done: 1, total: 1, label: '' })
      const fileName = `${(t.summary.title || 'model').replace(/[^\w.-]+/g, '_')}-finetuned-tfjs.zip`
      post({ type: 'exported', fileName, choice: msg.choice, bytes: bytes.slice().buffer as ArrayBuffer })
    } finally {
      b.apply(before)
    }
  }

  /** Loads a .zip the studio exported: a full model replaces the loaded one; an adapter-only
   *  file is applied to the loaded base model, which must be the one it was made for. */
  async function importFile(file: File): Promise<void> {
    post({ type: 'progress', task: 'model', done: 0, total: file.size, label: `Reading ${file.name}` })
    const bytes = new Uint8Array(await file.arrayBuffer())
    const read = await readModelZip(bytes, file.name, undefined, (done, total) =>
      post({ type: 'progress', task: 'model', done, total, label: `Loading ${file.name}: ${formatBytesOf(done, total)}` }),
    )
    const pack = read.pack
    if (read.layersFiles) {
      // A fine-tuned layers or tabular model exported by the studio: a plain layers model now.
      await deps.installLayers(read.layersFiles)
      post({ type: 'imported', fileName: file.name, choice: 'merged', title: String(read.card.title ?? file.name), metrics: null, note: 'A TensorFlow.js layers model, as it was exported: the playground shows its classes (or the number it predicts) with the names saved in the file.' })
      return
    }
    if (read.image) {
      await deps.installImage(read.image, `file: ${file.name}`)
    } else if (read.loaded) {
      deps.install(read.loaded, `file: ${file.name}`)
    } else {
      if (!pack) throw new Error(`${file.name} holds no model`)
      const t = deps.current()
      if (!t || !t.base) throw new Error(`${file.name} holds only fine-tuned weights for "${pack.json.base.title}": load that base model first.`)
      const have = await fingerprintWeights(t.base)
      if (have !== pack.json.base.fingerprint) {
        throw new Error(`${file.name} was made for "${pack.json.base.title}" (fingerprint ${pack.json.base.fingerprint}), but the loaded base model is "${t.summary.title}" (fingerprint ${have}). Load the base model it was made for.`)
      }
      // Start from the pretrained weights, as the run did.
      resetWeights(t.model, t.base)
    }
    const t = deps.current()
    if (!t) throw new Error(`${file.name}: the model in it could not be made current`)
    let metrics: Metrics | null = null
    let note = ''
    if (pack) {
      if ((pack.json.task === 'image-classification') !== (t.kind === 'image')) {
        throw new Error(`${file.name} holds fine-tuned weights for ${pack.json.task}, which do not apply to the loaded ${t.kind} model "${t.summary.title}".`)
      }
      if (!(t.model instanceof TinyGpt) && !(t.model instanceof TinyCnn)) throw new Error(`${file.name}: fine-tuned weights apply to a TinyGpt or TinyCnn model only`)
      const tuning = restoreTuning(t.model, pack)
      t.adopt(tuning)
      const task = s.datasetSummary?.task
      if (!task) note = 'Load the dataset it was trained on to measure it.'
      else if (task !== pack.json.task) note = `It was trained for ${pack.json.task}; the loaded dataset is ${task}, so it was not measured.`
      else {
        const { val } = t.encode(tuning.settings)
        const classes = classesOf(val)
        if (classes && JSON.stringify(classes) !== JSON.stringify(pack.json.classes)) {
          note = `Its classes (${(pack.json.classes ?? []).join(', ')}) differ from the loaded dataset's (${classes.join(', ')}), so it was not measured.`
        } else if (val.n === 0) note = 'The validation split is empty.'
        else {
          t.adopt(tuning, val)
          metrics = await t.evaluate(tuning, val)
          note = 'Measured on the validation split of the loaded dataset, with the settings it was trained with.'
        }
      }
      // The playground names an image head's classes even when nothing could be measured.
      if (!metrics && t.model instanceof TinyCnn && pack.json.classes) t.adopt(tuning, classesOnly(pack.json.classes, t.model.config.imageSize))
    } else note = 'A model without a task head: ready to fine-tune.'
    post({
      type: 'imported',
      fileName: file.name,
      choice: pack?.json.choice ?? 'merged',
      title: String(read.card.title ?? t.summary.title),
      metrics,
      note,
    })
  }

  return { handle, importFile, dispose: () => blend?.dispose() }
}
