import { chooseBackend, type BackendHost, type BackendInfo } from '../engine/backend'
import { parseDataset, type Dataset, type ByteInput } from '../engine/data/dataset'
import { splitDataset } from '../engine/data/split'
import { datasetTexts, encodeClassification, encodeLanguageModel } from '../engine/data/textBatches'
import { loadTinyGpt, type LoadedTinyGpt } from '../engine/models/modelFile'
import { describeLayers } from '../engine/models/layerTable'
import { evaluate, fineTune, Tuning, type Encoded } from '../engine/train/fineTune'
import { FeatureCache } from '../engine/train/featureCache'
import { RunControl } from '../engine/train/runControl'
import { trainableBlocks } from '../engine/tuning/freeze'
import { applyInterpolation, disposeWeights, snapshotWeights, type WeightMap } from '../engine/tuning/interpolate'
import { validateSettings } from '../settings/validate'
import type { Settings } from '../settings/types'
import type { DatasetSummary, FromWorker, ModelSummary, TaskKind, ToWorker } from './protocol'

interface Session {
  backend: BackendInfo | null
  dataset: Dataset | null
  datasetSummary: DatasetSummary | null
  loaded: (LoadedTinyGpt & { summary: ModelSummary }) | null
  run: { id: string; control: RunControl } | null
  tuning: Tuning | null // what the last run trained, kept for evaluation and the playground
  lastVal: Encoded | null
  base: WeightMap | null // the pretrained body, so every run starts from it
}

/** Turns commands into engine calls and engine progress into events. It never touches
 *  `self`, so Node tests drive it by calling the returned function and reading `post`. */
export function createHandler(post: (e: FromWorker) => void, host: BackendHost = {}, fetchFn: typeof fetch = (u, i) => fetch(u, i)) {
  const s: Session = { backend: null, dataset: null, datasetSummary: null, loaded: null, run: null, tuning: null, lastVal: null, base: null }
  let ready: Promise<void> = Promise.resolve()

  async function ensureBackend(pref: Settings['backend'] = 'auto') {
    if (s.backend) return
    post({ type: 'progress', task: 'backend', done: 0, total: 1, label: 'Choosing the fastest backend' })
    s.backend = await chooseBackend(pref, host)
    post({ type: 'backend', info: s.backend })
  }

  async function loadDataset(msg: Extract<ToWorker, { type: 'loadDataset' }>) {
    const src = msg.source
    let name: string
    let input: ByteInput
    let totalBytes: number | undefined
    let origin: string
    if (src.kind === 'url') {
      const res = await fetchFn(src.url)
      if (!res.ok || !res.body) throw new Error(`Could not download ${src.name} (HTTP ${res.status}).`)
      name = src.name
      input = res.body
      const len = Number(res.headers.get('content-length'))
      totalBytes = len > 0 ? len : undefined
      origin = `sample: ${src.name}`
    } else {
      name = src.file.name
      input = src.file.stream()
      totalBytes = src.file.size
      origin = `file: ${src.file.name}`
    }
    const result = await parseDataset(name, input, (p) => {
      post({ type: 'progress', task: 'dataset', done: p.bytesRead, total: p.totalBytes ?? totalBytes ?? p.bytesRead, label: `Reading ${name}: ${p.rows.toLocaleString('en')} rows` })
    }, totalBytes !== undefined ? { totalBytes } : {})
    if (!result.ok) {
      // The dataset already loaded stays: a bad file loses nothing.
      post({ type: 'error', message: result.error.message, where: `dataset ${result.error.file}${result.error.row ? `, row ${result.error.row}` : ''}${result.error.field ? `, field ${result.error.field}` : ''}` })
      return
    }
    const d = result.dataset
    const task = toTask(d)
    if (!task) {
      post({ type: 'error', message: `${name}: the studio's text model can fine-tune text classification and language modelling; this file looks like ${d.task}. Choose a file with a text column and a label column, or plain text.`, where: `dataset ${name}` })
      return
    }
    s.dataset = d
    const labelCol = d.roles.labels[0]
    const textCol = d.roles.text
    const cols = [textCol, labelCol].filter((c): c is string => c !== undefined)
    const idx = cols.map((c) => d.columns.indexOf(c))
    s.datasetSummary = {
      id: `${name}:${d.bytes}`,
      name,
      task,
      rows: d.rows.length,
      rejected: d.rejectedCount,
      rejectedReasons: d.rejected.slice(0, 10),
      warnings: d.warnings.map((w) => w.message),
      classes: labelCol ? (d.classes[labelCol] ?? []).map((c) => ({ name: c.label, count: c.count })) : [],
      preview: d.rows.slice(0, 8).map((r) => idx.map((i) => (r[i] ?? '').slice(0, 300))),
      columns: cols,
      bytes: d.bytes,
      source: origin,
    }
    post({ type: 'dataset', summary: s.datasetSummary })
  }

  async function loadModel(msg: Extract<ToWorker, { type: 'loadModel' }>) {
    const url = msg.source.url
    const loaded = await loadTinyGpt(url, (u) => fetchFn(u), (done, total) =>
      post({ type: 'progress', task: 'model', done, total, label: `Downloading the model: ${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB` }),
    )
    s.loaded?.model.dispose()
    s.tuning?.dispose()
    s.tuning = null
    if (s.base) disposeWeights(s.base)
    s.base = snapshotWeights(loaded.model.params)
    const { config } = loaded.model
    const card = loaded.card
    const summary: ModelSummary = {
      id: msg.source.kind === 'builtin' ? msg.source.id : url,
      title: String(card.title ?? card.name ?? 'TinyGpt model'),
      description: String(card.description ?? card.intendedUse ?? ''),
      pretrained: true,
      card,
      layers: describeLayers(loaded.model, new Set(Array.from({ length: config.nLayers + 2 }, (_, i) => i - 1))),
      totalParams: loaded.model.parameterCount(),
      trainableParams: loaded.model.parameterCount(),
      nLayers: config.nLayers,
      dModel: config.dModel,
      seqLen: config.seqLen,
      vocabSize: config.vocabSize,
    }
    s.loaded = { ...loaded, summary }
    post({ type: 'model', summary })
  }

  /** Parameter counts and problems for these settings, before anything trains. */
  function plan(settings: Settings) {
    if (!s.loaded) return
    const { model } = s.loaded
    const task = s.datasetSummary?.task ?? 'text-classification'
    const n = s.datasetSummary?.rows ?? 0
    const trainSize = task === 'language-modelling' ? Math.max(0, Math.floor(n * (1 - settings.valSplit))) : n - Math.round(n * settings.valSplit)
    let counts = { total: model.parameterCount(), trainable: 0 }
    const problems: { field: string; message: string }[] = validateSettings(settings, {
      trainSize: task === 'language-modelling' ? Number.MAX_SAFE_INTEGER : trainSize,
      nLayers: model.config.nLayers,
      dModel: model.config.dModel,
      hasHead: task === 'text-classification',
      maxSeqLen: model.config.seqLen,
    })
    if (!problems.length) {
      try {
        const t = new Tuning(model, settings, task === 'text-classification' ? Math.max(2, s.datasetSummary?.classes.length ?? 2) : null)
        counts = t.counts(0)
        t.dispose()
      } catch (e) {
        problems.push({ field: 'method', message: errorText(e) })
      }
    }
    const trainable = trainableBlocks(model.config.nLayers, settings, 0)
    post({ type: 'plan', trainableParams: counts.trainable, totalParams: counts.total, problems })
    post({ type: 'model', summary: { ...s.loaded.summary, layers: describeLayers(model, trainable), trainableParams: counts.trainable, totalParams: counts.total } })
  }

  function encode(settings: Settings): { train: Encoded; val: Encoded } {
    const d = s.dataset!
    const tok = s.loaded!.tokenizer
    const seqLen = Math.min(settings.seqLen, s.loaded!.model.config.seqLen)
    const split = splitDataset(d, { validationFraction: settings.valSplit, seed: settings.seed })
    if (toTask(d) === 'language-modelling') {
      const enc = (idx: number[]): Encoded => {
        const b = encodeLanguageModel(datasetTexts(d, idx), tok, seqLen)
        return { kind: 'lm', n: b.n, seqLen, tokens: b.blocks }
      }
      return { train: enc(split.train), val: enc(split.validation) }
    }
    const classes = (d.classes[d.roles.labels[0] ?? ''] ?? []).map((c) => c.label)
    const enc = (idx: number[]): Encoded => {
      const a = encodeClassification(d, tok, { seqLen, indices: idx })
      return { kind: 'classification', n: a.n, seqLen, tokens: a.ids, mask: a.mask, labels: a.labels, classes }
    }
    return { train: enc(split.train), val: enc(split.validation) }
  }

  async function train(msg: Extract<ToWorker, { type: 'train' }>) {
    const { runId, settings } = msg
    if (s.run) throw new Error('A run is already in progress: stop it first.')
    if (!s.dataset || !s.loaded) throw new Error('Load a dataset and a model before training.')
    await ensureBackend(settings.backend)
    const data = encode(settings)
    if (data.train.n === 0 || data.val.n === 0) {
      throw new Error(`The split left ${data.train.n} training and ${data.val.n} validation examples. Add data, or change the validation split.`)
    }
    const problems = validateSettings(settings, {
      trainSize: data.train.n,
      nLayers: s.loaded.model.config.nLayers,
      dModel: s.loaded.model.config.dModel,
      hasHead: data.train.kind === 'classification',
      maxSeqLen: s.loaded.model.config.seqLen,
    })
    if (problems.length) {
      post({ type: 'error', runId, message: problems.map((p) => p.message).join(' '), where: `settings: ${problems.map((p) => p.field).join(', ')}` })
      post({ type: 'plan', trainableParams: 0, totalParams: s.loaded.model.parameterCount(), problems })
      return
    }
    // A new run starts from the base weights: drop what the last run added.
    s.tuning?.dispose()
    s.tuning = null
    if (s.base) applyInterpolation(s.loaded.model, s.base, s.base, 0)
    const tuning = new Tuning(s.loaded.model, settings, data.train.kind === 'classification' ? data.train.classes.length : null)
    s.tuning = tuning
    s.lastVal = data.val
    const control = new RunControl()
    s.run = { id: runId, control }
    post({ type: 'state', runId, state: 'running' })
    try {
      const result = await fineTune(s.loaded.model, tuning, data, settings, control, {
        onBaseline: (metrics, note) => post({ type: 'baseline', runId, metrics, note }),
        onStep: (e) => post({ type: 'step', runId, ...e }),
        onEpoch: (e) => post({ type: 'epoch', runId, ...e }),
        onProgress: (task, done, total, label) => post({ type: 'progress', task, done, total, label }),
        onState: (state) => post({ type: 'state', runId, state }),
      })
      post({ type: 'done', runId, reason: result.reason, summary: result.summary, message: result.message })
    } finally {
      s.run = null
    }
  }

  return async function handle(msg: ToWorker): Promise<void> {
    // Run control must not wait behind a long command (training is one long command).
    if (msg.type === 'pause' || msg.type === 'resume' || msg.type === 'stop') {
      const run = s.run
      if (!run || run.id !== msg.runId) return
      if (msg.type === 'pause') run.control.pause()
      else if (msg.type === 'resume') run.control.resume()
      else run.control.stop()
      return
    }
    const job = ready.then(async () => {
      try {
        switch (msg.type) {
          case 'init':
            s.backend = null
            await ensureBackend(msg.backend)
            post({ type: 'ready' })
            break
          case 'loadDataset':
            await loadDataset(msg)
            break
          case 'loadModel':
            await ensureBackend()
            await loadModel(msg)
            break
          case 'configure':
            plan(msg.settings)
            break
          case 'train':
            await train(msg)
            break
          case 'evaluate':
            if (!s.loaded || !s.tuning || !s.lastVal) throw new Error('Train a model before evaluating it.')
            post({ type: 'evaluation', metrics: await evaluateNow(s.loaded.model, s.tuning, s.lastVal) })
            break
          case 'crash':
            throw new Error('Simulated failure inside the worker (test hook)')
          default: {
            const never: never = msg
            throw new Error(`Unknown command ${JSON.stringify(never)}`)
          }
        }
      } catch (e) {
        post({ type: 'error', ...('runId' in msg ? { runId: msg.runId } : {}), message: errorText(e), where: msg.type })
      }
    })
    // One command at a time: a model must not be swapped out under a running loop.
    ready = job
    await job
  }
}

async function evaluateNow(model: LoadedTinyGpt['model'], tuning: Tuning, val: Encoded) {
  return evaluate(model, tuning, val, new FeatureCache(0, false, { train: 0, val: val.n }), 'val')
}

function toTask(d: Dataset): TaskKind | null {
  if (d.task === 'language-modelling') return 'language-modelling'
  if (d.task === 'text-classification' || (d.task === 'multitask' && d.roles.text)) return 'text-classification'
  return null
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
