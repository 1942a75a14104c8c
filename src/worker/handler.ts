import { refuseSettings, runEvents } from './runEvents'
import { formatBytesOf } from '../format/format'
import { chooseBackend, type BackendHost, type BackendInfo } from '../engine/backend'
import type { Dataset } from '../engine/data/dataset'
import type { ImageDecoder } from '../engine/data/images/types'
import { DataHost, toTask } from './dataHost'
import { ImageModelHost, isImageModel, probeModel, type ModelProbe } from './imageModelHost'
import { datasetTexts, encodeClassification, encodeLanguageModel } from '../engine/data/textBatches'
import { loadTinyGpt, type LoadedTinyGpt } from '../engine/models/modelFile'
import { describeLayers } from '../engine/models/layerTable'
import { evaluate, fineTune, Tuning, type Encoded, type FineTuneCallbacks } from '../engine/train/fineTune'
import { FeatureCache } from '../engine/train/featureCache'
import { RunControl } from '../engine/train/runControl'
import { zeroShotClassify } from '../engine/train/zeroShot'
import { tasksOf } from '../engine/train/multitaskData'
import { trainableBlocks } from '../engine/tuning/freeze'
import { resetWeights, disposeWeights, snapshotWeights, type WeightMap } from '../engine/tuning/interpolate'
import { validateSettings } from '../settings/validate'
import { modelLimits } from '../engine/models/limits'
import type { Settings } from '../settings/types'
import type { DatasetSummary, FromWorker, ModelSummary, TaskKind, ToWorker } from './protocol'
import { createExportCommands } from './exportCommands'
import { LmObjectivesHost } from './lmObjectivesHost'
import { CheckpointHost, type PreparedResume } from './checkpointHost'
import { imageTrainedModel, tabularTrainedModel, textTrainedModel, type TrainedModel } from './trainedModel'
import { isStorageCommand } from './checkpointProtocol'
import type { EstimateFn } from '../engine/storage/types'
import { generate, predictText, type PlaygroundSession } from './playground'
import { isTabularTask, TabularHost } from './tabularHost'
import { encodeTabular, encodeTextRegression } from '../engine/train/encodeNumeric'
import { headNeedOf } from '../engine/train/encoded'
import { layersFitProblem, layersSummary, loadFromSource, predictImage, predictRow, type CurrentLayers } from './layersModels'
import { ModelLoadError } from '../engine/models/modelLoadError'
import { explainEngineError, type ErrorContext } from '../engine/engineErrors'
import { getBackend } from '@tensorflow/tfjs'
import { indexedDbModelCache } from '../engine/storage/modelCache'
import { HfModelHost } from './hfModelHost'
import { indexedDbHubCache } from '../engine/hf/hubFetch'

interface Session {
  backend: BackendInfo | null
  dataset: Dataset | null
  datasetSummary: DatasetSummary | null
  loaded: (LoadedTinyGpt & { summary: ModelSummary }) | null
  run: { id: string; control: RunControl } | null
  tuning: Tuning | null // what the last run trained, kept for evaluation and the playground
  lastVal: Encoded | null
  base: WeightMap | null // the pretrained body, so every run starts from it
  layers: CurrentLayers | null // a TensorFlow.js layers model, when it is the current model
}

/** Turns commands into engine calls and engine progress into events. It never touches
 *  `self`, so Node tests drive it by calling the returned function and reading `post`. */
export function createHandler(post: (e: FromWorker) => void, host: BackendHost = {}, fetchFn: typeof fetch = (u, i) => fetch(u, i), decoder: ImageDecoder | null = null, storage: { estimate?: EstimateFn } = {}) {
  const s: Session = { backend: null, dataset: null, datasetSummary: null, loaded: null, run: null, tuning: null, lastVal: null, base: null, layers: null }
  let ready: Promise<void> = Promise.resolve()
  const data = new DataHost(post, fetchFn, decoder)
  const images = new ImageModelHost(post, decoder) // image CNNs (TinyCnn); text models stay in s.loaded
  const tabular = new TabularHost(post) // numeric columns: an MLP built for the dataset
  // Hugging Face checkpoints (hfModelHost.ts): when one is current, it trains, evaluates and exports
  const hf = new HfModelHost(post, {
    fetchFn: (u, i) => fetchFn(u, i),
    cache: indexedDbHubCache(),
    data: () => ({ dataset: data.dataset, summary: data.summary, plan: (st) => data.plan(st) }),
    ensureBackend: () => ensureBackend(),
    dropOthers: () => {
      images.clear()
      s.layers?.body.dispose()
      s.layers = null
      s.loaded?.model.dispose()
      s.loaded = null
      s.tuning?.dispose()
      s.tuning = null
      if (s.base) disposeWeights(s.base)
      s.base = null
    },
  })
  const splitPlan = (settings: Settings) => data.plan(settings) // read where `data` is shadowed by the encoded split
  const imageSet = () => data.imageSet // read where `data` is shadowed by the encoded split
  const stoppedGenerations = new Set<string>() // generate requests asked to stop

  /** What the playground needs from the session; null while no text model is loaded. */
  function playground(): PlaygroundSession | null {
    if (!s.loaded) return null
    const classes = s.lastVal?.kind === 'classification' ? s.lastVal.classes : null
    const scale = s.lastVal?.kind === 'regression' ? s.lastVal.scale : null
    return { model: s.loaded.model, tokenizer: s.loaded.tokenizer, base: s.base, tuning: s.tuning, classes, scale, seqLen: s.tuning?.settings.seqLen ?? s.loaded.model.config.seqLen }
  }

  async function ensureBackend(pref: Settings['backend'] = 'auto') {
    if (s.backend) return
    post({ type: 'progress', task: 'backend', done: 0, total: 1, label: 'Choosing the fastest backend' })
    s.backend = await chooseBackend(pref, host)
    post({ type: 'backend', info: s.backend })
  }

  /** Datasets live in DataHost (parse, storage, roles, validation file, images); the
   *  session mirrors what is current. */
  function syncData() {
    s.dataset = data.dataset
    s.datasetSummary = data.summary
  }

  async function loadModel(msg: Extract<ToWorker, { type: 'loadModel' }>) {
    if (msg.source.kind === 'file') return exportCommands.importFile(msg.source.file)
    if (msg.source.kind === 'files' || msg.source.kind === 'url') return loadOther(msg.source)
    const url = msg.source.url
    const probe = await probeModel(url, (u) => fetchFn(u)) // dispatch on model.json's format
    if (isImageModel(probe)) return loadImageModel(probe, msg.source.kind === 'builtin' ? msg.source.id : url)
    const loaded = await loadTinyGpt(url, probe.fetch, (done, total) =>
      post({ type: 'progress', task: 'model', done, total, label: `Downloading the model: ${formatBytesOf(done, total)}` }),
    )
    installModel(loaded, msg.source.kind === 'builtin' ? msg.source.id : url)
  }

  /** Makes `loaded` the session's model; its weights become the base every run starts from. */
  /** Any model.json by URL or chosen files; a bad one leaves the current model in place. */
  async function loadOther(source: { kind: 'url'; url: string } | { kind: 'files'; files: File[] }) {
    const got = await loadFromSource(source, (u) => fetchFn(u), indexedDbModelCache(), post)
    if (got.kind === 'tinygpt') return installModel(got.loaded, source.kind === 'url' ? source.url : 'files')
    if (got.kind === 'other') {
      const probe = { url: got.url, json: got.json, fetch: got.fetchFn }
      if (isImageModel(probe)) return loadImageModel(probe, got.url)
      throw new ModelLoadError(`${got.url}: this studio cannot read its own "${got.format}" model files in this version.`, `model ${got.url}`)
    }
    images.clear()
    hf.clear()
    s.layers?.body.dispose()
    s.layers = { body: got.body, summary: layersSummary(got.body, got.url, new Set()) }
    images.useLayers(s.layers) // image layers models fine-tune through the image host
    post({ type: 'model', summary: s.layers.summary })
    const misfit = layersFitProblem(s.layers, s.datasetSummary)
    if (s.datasetSummary && misfit) post({ type: 'error', message: misfit, where: `model ${s.layers.summary.title} and dataset ${s.datasetSummary.name}` })
  }

  /** An image CNN replaces whatever model was loaded. */
  async function loadImageModel(probe: ModelProbe, id: string) {
    await images.load(probe, id)
    hf.clear()
    s.layers?.body.dispose()
    s.layers = null
    s.loaded?.model.dispose()
    s.loaded = null
    s.tuning?.dispose()
    s.tuning = null
    if (s.base) disposeWeights(s.base)
    s.base = null
  }

  function installModel(loaded: LoadedTinyGpt, id: string) {
    images.clear()
    hf.clear()
    s.layers?.body.dispose()
    s.layers = null
    s.loaded?.model.dispose()
    s.tuning?.dispose()
    s.tuning = null
    if (s.base) disposeWeights(s.base)
    s.base = snapshotWeights(loaded.model.params)
    const { config } = loaded.model
    const card = loaded.card
    const summary: ModelSummary = {
      id,
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
      limits: modelLimits(loaded.model),
    }
    s.loaded = { ...loaded, summary }
    post({ type: 'model', summary })
  }

  const lmWindows = new WeakMap<Dataset, Map<string, number>>() // token windows per (rows, length, tokenizer)
  /** Examples one epoch steps over, as the run will encode them: the training split's rows
   *  (a separate validation file leaves them all), or token windows for language modelling.
   *  The page's learning-rate preview counts its steps from this (settings/runSteps.ts). */
  function trainExamples(settings: Settings): number | undefined {
    if (!s.dataset) return undefined
    try {
      const split = data.plan(settings)
      if (toTask(s.dataset) !== 'language-modelling') return split.trainIdx.length
      if (!s.loaded) return undefined
      const seqLen = Math.min(settings.seqLen, s.loaded.model.config.seqLen)
      const key = `${s.loaded.summary.id}|${seqLen}|${split.trainIdx.length}|${split.trainIdx.reduce((a, i) => (a * 31 + i) % 1_000_000_007, 0)}`
      const known = lmWindows.get(split.train) ?? new Map<string, number>()
      lmWindows.set(split.train, known)
      let n = known.get(key)
      if (n === undefined) {
        n = encodeLanguageModel(datasetTexts(split.train, split.trainIdx), s.loaded.tokenizer, seqLen).n
        known.set(key, n)
      }
      return n
    } catch {
      return undefined // no plan yet (the split's own message reaches the page elsewhere)
    }
  }

  /** Parameter counts and problems for these settings, before anything trains. */
  function plan(settings: Settings) {
    if (s.dataset && isTabularTask(s.datasetSummary?.task)) return tabular.plan(settings, s.dataset, trainExamples(settings) ?? s.datasetSummary!.rows - Math.round(s.datasetSummary!.rows * settings.valSplit))
    if (images.active) return images.plan(settings, data.imageSet, s.layers ? layersFitProblem(s.layers, s.datasetSummary) : null)
    if (hf.active) return hf.plan(settings)
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
      hasHead: task === 'text-classification' || task === 'text-regression',
      maxSeqLen: model.config.seqLen,
      limits: modelLimits(model),
    })
    if (!problems.length) {
      try {
        const need = task === 'text-classification' ? Math.max(2, s.datasetSummary?.classes.length ?? 2) : task === 'text-regression' ? 'regression' : null
        const t = new Tuning(model, settings, need, s.dataset ? tasksOf(s.dataset, {}) : undefined)
        counts = t.counts(0)
        t.dispose()
      } catch (e) {
        problems.push({ field: 'method', message: errorText(e) })
      }
    }
    const trainable = trainableBlocks(model.config.nLayers, settings, 0)
    const examples = trainExamples(settings)
    post({ type: 'plan', trainableParams: counts.trainable, totalParams: counts.total, problems, ...(examples === undefined ? {} : { trainExamples: examples }) })
    post({ type: 'model', summary: { ...s.loaded.summary, layers: describeLayers(model, trainable), trainableParams: counts.trainable, totalParams: counts.total } })
  }

  function encode(settings: Settings): { train: Encoded; val: Encoded } {
    const d = s.dataset!
    const tok = s.loaded!.tokenizer
    const seqLen = Math.min(settings.seqLen, s.loaded!.model.config.seqLen)
    // Held out from the dataset, or the separate validation file (DataHost.plan).
    const split = data.plan(settings)
    if (toTask(d) === 'language-modelling') {
      const enc = (ds: Dataset, idx: number[]): Encoded => {
        const b = encodeLanguageModel(datasetTexts(ds, idx), tok, seqLen)
        return { kind: 'lm', n: b.n, seqLen, tokens: b.blocks }
      }
      return { train: enc(split.train, split.trainIdx), val: enc(split.validation, split.validationIdx) }
    }
    if (toTask(d) === 'text-regression') return encodeTextRegression(split, tok, seqLen)
    const classes = (d.classes[d.roles.labels[0] ?? ''] ?? []).map((c) => c.label)
    const enc = (ds: Dataset, idx: number[]): Encoded => {
      const a = encodeClassification(ds, tok, { seqLen, indices: idx })
      const tasks = tasksOf(d, a.labelsByColumn) // several label columns: one head each
      return { kind: 'classification', n: a.n, seqLen, tokens: a.ids, mask: a.mask, labels: a.labels, classes, ...(tasks.length ? { tasks } : {}) }
    }
    return { train: enc(split.train, split.trainIdx), val: enc(split.validation, split.validationIdx) }
  }

  async function train(msg: Extract<ToWorker, { type: 'train' }>, resume?: PreparedResume) {
    const { runId, settings } = msg
    if (s.run) throw new Error('A run is already in progress: stop it first.')
    // Numeric columns train the tabular MLP, whichever pretrained model is loaded.
    if (s.dataset && isTabularTask(s.datasetSummary?.task)) {
      await ensureBackend(settings.backend)
      return tabular.train(msg, splitPlan(settings), (r) => (s.run = r), (st, control, cb) => checkpoints.startRun(runId, st, control, resume?.record ?? null, cb), resume?.input)
    }
    if (hf.active) return hf.train(msg, (r) => (s.run = r), (st, control, cb) => checkpoints.startRun(runId, st, control, resume?.record ?? null, cb), resume?.input)
    const misfit = s.layers && layersFitProblem(s.layers, s.datasetSummary)
    if (s.layers && misfit) throw new ModelLoadError(misfit, `model ${s.layers.summary.title}`)
    if (images.active) {
      await ensureBackend(settings.backend)
      // Recorded and checkpointed like text runs (checkpointHost.ts).
      const rec = { start: (control: RunControl, cb: FineTuneCallbacks) => checkpoints.startRun(runId, settings, control, resume?.record ?? null, cb), ...(resume ? { resume: resume.input } : {}) }
      return images.train(msg, imageSet(), (r) => (s.run = r), rec)
    }
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
      hasHead: headNeedOf(data.train) !== null,
      maxSeqLen: s.loaded.model.config.seqLen,
      limits: modelLimits(s.loaded.model),
    })
    if (problems.length) {
      refuseSettings(post, runId, problems, s.loaded.model.parameterCount())
      return
    }
    // A new run starts from the base weights: drop what the last run added.
    s.tuning?.dispose()
    s.tuning = null
    if (s.base) resetWeights(s.loaded.model, s.base)
    const tuning = new Tuning(s.loaded.model, settings, headNeedOf(data.train), data.train.kind === 'classification' ? data.train.tasks : undefined)
    s.tuning = tuning
    s.lastVal = data.val
    const control = new RunControl()
    s.run = { id: runId, control }
    post({ type: 'state', runId, state: 'running' })
    try {
      // What the pretrained LM does with no training: scored before the body changes.
      post({ type: 'progress', task: 'baseline', done: 0, total: 1, label: 'Scoring each class name with the pretrained LM (zero-shot baseline)' })
      const zs = !resume && data.val.kind === 'classification' && !data.val.tasks ? await zeroShotClassify(s.loaded.model, s.loaded.tokenizer, data.val) : null
      const zeroShot = zs?.metrics ?? null
      // It reads as many text tokens as the model trains on, unless the prompt needs the room.
      const readBy = data.val.kind === 'classification' ? data.val.seqLen : 0
      const zeroShotNote = zs && zs.textTokens < readBy ? `reads the first ${zs.textTokens} of the ${readBy} tokens the fine-tuned model reads` : undefined
      // Every epoch is checkpointed and the run recorded in IndexedDB (checkpointHost.ts).
      const recorder = await checkpoints.startRun(runId, settings, control, resume?.record ?? null, runEvents(post, runId))
      const result = await fineTune(s.loaded.model, tuning, { ...data, zeroShot, ...(zeroShotNote ? { zeroShotNote } : {}) }, settings, control, recorder.callbacks(), resume?.input).catch(async (e: unknown) => {
        await recorder.fail(errorText(e))
        throw e
      })
      await recorder.finish(result)
      post({ type: 'done', runId, reason: result.reason, summary: result.summary, message: result.message })
    } finally {
      s.run = null
    }
  }

  // Instruction tuning, preference tuning and learning without labels (issue 17).
  const lm = new LmObjectivesHost(post, s, ensureBackend)
  const exportCommands = createExportCommands(s, post, { current: () => currentModel(), install: installModel, installImage: loadImageModel, installLayers: (files) => loadOther({ kind: 'files', files }) })

  /** The loaded model, text or image, as checkpoints and export see it. */
  const currentModel = (): TrainedModel | null =>
    s.dataset && isTabularTask(s.datasetSummary?.task)
      ? tabularTrainedModel(tabular, s.dataset, (settings) => encodeTabular(splitPlan(settings)))
      : hf.active
        ? hf.trainedModel()
        : images.active
          ? imageTrainedModel(images, imageSet)
          : textTrainedModel(s, encode, (tuning, val) => evaluateNow(s.loaded!.model, tuning, val))

  const checkpoints = new CheckpointHost(s, post, {
    current: currentModel,
    selectDataset: async (ref) => {
      if (ref.storedId) await data.handle({ type: 'selectDataset', id: ref.storedId })
      syncData()
      if (s.datasetSummary?.id !== ref.id) throw new Error(`This run trained on ${ref.name}, which is not stored in this browser any more: load it in step 1, then try again.`)
    },
    ...(storage.estimate ? { estimate: storage.estimate } : {}),
  })

  let active: ToWorker['type'] | null = null // the command being carried out, for uncaught errors' words
  const handle = async function handle(msg: ToWorker): Promise<void> {
    // Run control must not wait behind a long command (training is one long command).
    if (isStorageCommand(msg)) {
      await checkpoints.handle(msg).catch((e: unknown) => {
        const why = explainEngineError(e, { doing: 'working with checkpoints', backend: backendName() })
        post({ type: 'error', message: why.message, where: msg.type, ...(why.restart ? { restart: true } : {}) })
      })
      return
    }
    if (msg.type === 'stopGenerate') {
      stoppedGenerations.add(msg.requestId)
      return
    }
    if (msg.type === 'pause' || msg.type === 'resume' || msg.type === 'stop') {
      const run = s.run
      if (!run || run.id !== msg.runId) return
      if (msg.type === 'pause') run.control.pause()
      else if (msg.type === 'resume') run.control.resume()
      else run.control.stop()
      return
    }
    const job = ready.then(async () => {
      active = msg.type
      try {
        switch (msg.type) {
          case 'init':
            s.backend = null
            await ensureBackend(msg.backend)
            post({ type: 'ready' })
            break
          case 'loadDataset':
            await data.load(msg)
            syncData()
            break
          case 'loadValidation':
          case 'clearValidation':
          case 'setRoles':
          case 'listDatasets':
          case 'selectDataset':
          case 'deleteDataset':
          case 'restoreDataset':
          case 'loadImages':
          case 'augmentPreview':
          case 'setDataLimits':
            await data.handle(msg)
            syncData()
            break
          case 'loadModel':
            await ensureBackend()
            await loadModel(msg)
            break
          case 'configure':
            data.configure(msg.settings)
            syncData()
            plan(msg.settings)
            break
          case 'train':
            await train(msg)
            break
          case 'evaluate':
            if (tabular.tuning && isTabularTask(s.datasetSummary?.task)) {
              post({ type: 'evaluation', metrics: await tabular.evaluateLast() })
              break
            }
            if (images.active) {
              post({ type: 'evaluation', metrics: await images.evaluateLast() })
              break
            }
            if (hf.active) {
              post({ type: 'evaluation', metrics: await hf.evaluate() })
              break
            }
            if (!s.loaded || !s.tuning || !s.lastVal) throw new Error('Train a model before evaluating it.')
            post({ type: 'evaluation', metrics: await evaluateNow(s.loaded.model, s.tuning, s.lastVal) })
            break
          case 'interpolate':
          case 'keepAlpha':
          case 'sweep':
          case 'export':
            if (msg.type === 'export' && hf.active) await hf.export(msg.choice)
            else await exportCommands.handle(msg)
            break
          case 'hfProbe':
          case 'hfLoad':
          case 'hfListStored':
          case 'hfDeleteStored':
            await hf.handle(msg)
            break
          case 'lmData':
          case 'lmTrain':
          case 'lmChat':
          case 'lmRecipe':
          case 'pseudoLabel':
          case 'pseudoTrain':
            await lm.handle(msg)
            break
          case 'restoreCheckpoint':
            await checkpoints.restore(msg.id)
            break
          case 'resumeRun': {
            if (s.run) throw new Error('A run is already in progress: stop it first.')
            const prepared = await checkpoints.prepareResume(msg.checkpointId)
            await train({ type: 'train', runId: prepared.runId, settings: prepared.settings }, prepared)
            break
          }
          case 'crash':
            throw new Error('Simulated failure inside the worker (test hook)')
          case 'predict': {
            if (msg.input.kind === 'row') {
              // With a tabular dataset its MLP is the model (as for training and export);
              // otherwise a tabular model loaded from a file answers.
              if (!isTabularTask(s.datasetSummary?.task) && s.layers?.summary.input?.kind === 'tabular') await predictRow(s.layers, msg, post)
              else await tabular.predict(msg.requestId, msg.input.values)
              break
            }
            if (images.predicts && msg.input.kind === 'image') {
              await images.predict(msg.requestId, { width: msg.input.width, height: msg.input.height, data: msg.input.rgba, name: msg.input.name })
              break
            }
            if (s.layers) {
              await predictImage(s.layers, msg, post)
              break
            }
            const p = playground()
            if (!p) throw new Error('Load a model before trying it.')
            if (msg.input.kind === 'text') await predictText(p, msg, msg.input.text, post)
            else post({ type: 'playground', requestId: msg.requestId, message: `${msg.input.name}: the loaded model reads text, not images. Load an image model to try images.` })
            break
          }
          case 'generate': {
            if (hf.active) {
              await hf.generate(msg, () => stoppedGenerations.has(msg.requestId))
              stoppedGenerations.delete(msg.requestId)
              break
            }
            const p = playground()
            if (!p) throw new Error('Load a model before trying it.')
            await generate(p, msg, post, () => stoppedGenerations.has(msg.requestId))
            stoppedGenerations.delete(msg.requestId)
            break
          }
          default: {
            const never: never = msg
            throw new Error(`Unknown command ${JSON.stringify(never)}`)
          }
        }
      } catch (e) {
        // Engine failures (a wasm abort, out of memory, a GPU error) in words; restart when the engine is dead.
        const why = explainEngineError(e, { doing: DOING[msg.type] ?? 'working', backend: backendName() })
        post({ type: 'error', ...('runId' in msg ? { runId: msg.runId } : {}), message: why.message, where: e instanceof ModelLoadError ? e.where : msg.type, ...(why.restart ? { restart: true } : {}) })
      } finally {
        active = null
      }
    })
    // One command at a time: a model must not be swapped out under a running loop.
    ready = job
    await job
  }
  /** What the worker is doing and on which backend, for the words of an error nothing caught. */
  const context = (): ErrorContext => ({ doing: (active && DOING[active]) || 'working', ...(backendName() ? { backend: backendName() } : {}) })
  return Object.assign(handle, { context })
}

async function evaluateNow(model: LoadedTinyGpt['model'], tuning: Tuning, val: Encoded) {
  return evaluate(model, tuning, val, new FeatureCache(0, false, { train: 0, val: val.n }), 'val')
}


/** A message for a person: the error's own text, or an engine failure explained (engineErrors.ts). */
function errorText(e: unknown): string {
  return explainEngineError(e, { backend: backendName() }).message
}

function backendName(): string | undefined {
  try {
    return getBackend()
  } catch {
    return undefined
  }
}

/** What each command was doing when it failed, for the words of an engine failure. */
const DOING: Partial<Record<ToWorker['type'], string>> = {
  train: 'training',
  resumeRun: 'training',
  loadModel: 'loading the model',
  hfLoad: 'loading the model',
  hfProbe: 'looking at the model repo',
  loadDataset: 'reading the dataset',
  evaluate: 'evaluating',
  predict: 'trying the model',
  generate: 'generating text',
  interpolate: 'interpolating weights',
  sweep: 'sweeping the interpolation',
  export: 'exporting the model',
  init: 'starting the backend',
}
