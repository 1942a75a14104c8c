import { readModelZip, type ZippedCnn } from '../engine/export/modelZip'
import { formatBytesOf, formatDecimal } from '../format/format'
import { fingerprintWeights, restoreTuning } from '../engine/export/tuningPack'
import type { LoadedTinyGpt } from '../engine/models/modelFile'
import { resetWeights } from '../engine/tuning/interpolate'
import type { Session } from '../engine/session/session'
import { classesOf } from '../engine/session/family'
import type { FromWorker, Metrics, ToWorker } from './protocol'
import { throwOnWebgpuFault, webgpuFaultMark } from '../engine/webgpuFaults'

export interface ImportDeps {
  install(loaded: LoadedTinyGpt, id: string): void
  /** Makes an image model read from an export the loaded model. */
  installImage(model: ZippedCnn, id: string): Promise<void>
  /** Loads a TensorFlow.js layers model from its files, as "choose files" does. */
  installLayers(files: File[]): Promise<void>
}

type Cmd = Extract<ToWorker, { type: 'interpolate' | 'sweep' | 'keepAlpha' | 'export' }>

/** Interpolation, sweep and export as session calls, and import of the studio's exports, for
 *  handler.ts. What a model is written as is its family's to say (engine/session/families/). */
export function createExportCommands(session: Session, post: (e: FromWorker) => void, deps: ImportDeps) {
  async function handle(msg: Cmd): Promise<void> {
    switch (msg.type) {
      case 'interpolate':
      case 'keepAlpha': {
        const mark = webgpuFaultMark() // the GPU's own errors void the numbers (engine/webgpuFaults.ts)
        const measured = await session.interpolate(msg.alpha, msg.type === 'keepAlpha')
        throwOnWebgpuFault(mark, 'measuring the blend')
        post({ type: 'interpolation', ...measured })
        break
      }
      case 'sweep': {
        const mark = webgpuFaultMark()
        const r = await session.sweep(msg.points, (done, total, p) => post({ type: 'progress', task: 'sweep', done, total, label: `Measuring α = ${formatDecimal(p.alpha, 2)} (${done} of ${total})` }))
        throwOnWebgpuFault(mark, 'measuring the blends')
        post({ type: 'sweep', points: r.points, best: r.best })
        break
      }
      case 'export': {
        const built = await session.export(msg.choice, msg.alpha, msg.metrics, (done, total, label) => post({ type: 'progress', task: 'export', done, total, label }))
        const bytes = built.bytes.byteOffset === 0 && built.bytes.byteLength === built.bytes.buffer.byteLength ? built.bytes.buffer : built.bytes.slice().buffer
        post({ type: 'exported', fileName: built.fileName, choice: msg.choice, bytes: bytes as ArrayBuffer })
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
      const t = session.current()
      if (!t || !t.base) throw new Error(`${file.name} holds only fine-tuned weights for "${pack.json.base.title}": load that base model first.`)
      const have = await fingerprintWeights(t.base)
      if (have !== pack.json.base.fingerprint) {
        throw new Error(`${file.name} was made for "${pack.json.base.title}" (fingerprint ${pack.json.base.fingerprint}), but the loaded base model is "${t.summary.title}" (fingerprint ${have}). Load the base model it was made for.`)
      }
      // Start from the pretrained weights, as the run did: what was held before (a run's, a
      // restored checkpoint's or an import's tuning) goes, and the page hears so before anything
      // below can still fail (a task that does not apply, weights that do not fit).
      t.tuning?.dispose()
      t.tuning = null
      resetWeights(t.body, t.base)
      post({ type: 'weightsReset' })
    }
    const t = session.current()
    if (!t) throw new Error(`${file.name}: the model in it could not be made current`)
    let metrics: Metrics | null = null
    let note = ''
    if (pack) {
      if ((pack.json.task === 'image-classification') !== (t.family.name === 'image')) {
        throw new Error(`${file.name} holds fine-tuned weights for ${pack.json.task}, which do not apply to the loaded ${t.family.name} model "${t.summary.title}".`)
      }
      // The model's family says whether fine-tuned weights files apply to it.
      if (t.family.packTask(t) === null) throw new Error(`${file.name}: fine-tuned weights apply to the studio's own text and image models only (TinyGpt, TinyCnn)`)
      const tuning = restoreTuning(t.body, pack)
      session.adopt(t, tuning)
      const task = session.data.facts?.task
      if (!task) note = 'Load the dataset it was trained on to measure it.'
      else if (task !== pack.json.task) note = `It was trained for ${pack.json.task}; the loaded dataset is ${task}, so it was not measured.`
      else {
        const { val } = session.encodeFor(t, tuning.settings)
        const classes = classesOf(val)
        if (classes && JSON.stringify(classes) !== JSON.stringify(pack.json.classes)) {
          note = `Its classes (${(pack.json.classes ?? []).join(', ')}) differ from the loaded dataset's (${classes.join(', ')}), so it was not measured.`
        } else if (val.n === 0) note = 'The validation split is empty.'
        else {
          session.adopt(t, tuning, val)
          metrics = await session.evaluateWith(t, tuning, val)
          note = 'Measured on the validation split of the loaded dataset, with the settings it was trained with.'
        }
      }
      // The playground names an image head's classes even when nothing could be measured.
      const named = !metrics && pack.json.classes ? t.family.classesOnly(t, pack.json.classes) : null
      if (named) session.adopt(t, tuning, named)
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

  return { handle, importFile }
}
