import { refuseSettings, runEvents } from './runEvents'
import { formatBytesOf } from '../format/format'
import { chooseBackend, type BackendEnvironment, type BackendInfo } from '../engine/backend'
import type { ImageDecoder } from '../engine/data/images/types'
import { DataHost } from './dataHost'
import { loadTinyGpt, type LoadedTinyGpt } from '../engine/models/modelFile'
import { checkCnnModelJson, loadTinyCnnFromJson } from '../engine/models/cnnFile'
import { isImageModel, probeModel, type ModelProbe } from '../engine/models/modelProbe'
import { Session, backendName, errorText } from '../engine/session/session'
import type { HeldModel, SessionData } from '../engine/session/family'
import { holdText } from '../engine/session/families/text'
import { holdCnn } from '../engine/session/families/image'
import { holdLayers, layersFitProblem, loadFromSource } from '../engine/session/families/layers'
import type { Settings } from '../settings/types'
import type { FromWorker, Metrics, ToWorker } from './protocol'
import { createExportCommands } from './exportCommands'
import { CheckpointHost, type PreparedResume } from './checkpointHost'
import { isStorageCommand } from './checkpointProtocol'
import type { EstimateFn } from '../engine/storage/types'
import { ModelLoadError } from '../engine/models/modelLoadError'
import { explainEngineError, type ErrorContext } from '../engine/engineErrors'
import { throwOnWebgpuFault, webgpuDeviceLost, webgpuFaultMark, WebgpuFaultError } from '../engine/webgpuFaults'
import { indexedDbModelCache } from '../engine/storage/modelCache'
import { HfModelHost } from './hfModelHost'
import { hfFamily, type HeldHf } from '../engine/session/families/hf'
import { isLoadedHead, measureLoadedHead, nameSeqClsClasses } from '../engine/session/families/hfSeqCls'
import { PseudoLabelHost, type HeldLm } from './pseudoLabelHost'
import type { LmCommand } from './lmProtocol'
import type { RunObjectiveRef } from '../engine/storage/types'
import type { TinyGpt } from '../engine/models/tinyGpt'
import { textFamily, type HeldText } from '../engine/session/families/text'
import { indexedDbHubCache } from '../engine/hf/hubFetch'
import { peerLostTail, peerLostWords, type LostCount } from './workerLossWords'

/** Turns commands into session calls (engine/session/session.ts) and their results and
 *  progress into events. It never touches `self`, so Node tests drive it by calling the
 *  returned function and reading `post`. */
export function createHandler(post: (e: FromWorker) => void, env: BackendEnvironment = {}, fetchFn: typeof fetch = (u, i) => fetch(u, i), decoder: ImageDecoder | null = null, storage: { estimate?: EstimateFn } = {}) {
  let backend: BackendInfo | null = null
  let ready: Promise<void> = Promise.resolve()
  const data = new DataHost(post, fetchFn, decoder)
  // The session reads the current data from DataHost (parse, storage, roles, validation file, images).
  const sessionData: SessionData = {
    get dataset() {
      return data.dataset
    },
    get facts() {
      return data.summary
    },
    get images() {
      return data.imageSet
    },
    decoder,
    split: (settings) => data.splitRows(settings),
  }
  const session = new Session(sessionData)
  // Whole-validation-set passes outside a run (the blend, an evaluation) halve their rows over
  // the second engine worker as a run's do (engine/train/evaluationSplit.ts); not in the
  // 'steps' comparison mode, whose runs split only their steps.
  session.passPeers = () => (backend?.name === 'wasm' && env.secondWorkerPasses !== false ? (env.otherWorkers?.() ?? []) : [])
  /** The held model when it is a Hugging Face checkpoint, else null. */
  const heldHf = () => (session.loaded?.family === hfFamily ? (session.loaded as HeldHf) : null)
  // Hugging Face checkpoints: the worker loads them (hfModelHost.ts), the session holds them (families/hf.ts).
  const hf = new HfModelHost(post, {
    fetchFn: (u, i) => fetchFn(u, i),
    cache: indexedDbHubCache(),
    hold: (held) => holdLoaded(held),
    loaded: heldHf,
    adopt: (held, tuning) => session.adopt(held, tuning),
    ensureBackend: () => ensureBackend(),
    measureHead: (held, fileName) => measureHead(held, fileName),
  })

  /** A sequence classifier's own head measured on the dataset where its classes fit
   *  (families/hfSeqCls.ts), said as an import is: the page shows the metrics and the note. */
  async function measureHead(held: HeldHf, fileName: string, onlyMeasured = false) {
    let r: { metrics: Metrics | null; note: string }
    try {
      r = await measureLoadedHead(held, { data: sessionData, encode: (h, s) => session.encodeFor(h, s), evaluate: (h, t, v) => session.evaluateWith(h, t, v), adopt: (h, t, v) => session.adopt(h, t, v) }, lastPlanned)
    } catch (e) {
      r = { metrics: null, note: `The loaded head could not be measured: ${errorText(e, 'measuring the loaded head')}` }
    }
    if (onlyMeasured && !r.metrics) return
    post({ type: 'imported', fileName, choice: 'merged', title: held.summary.title, metrics: r.metrics, note: r.note })
  }
  /** A dataset loaded after the sequence classifier measures its head as it came. */
  async function remeasureHead() {
    const held = heldHf()
    if (held?.seqCls && isLoadedHead(held.tuning)) await measureHead(held, held.summary.title, true)
  }
  /** A load has completed: `held` is the session's model now, said with `loaded` (a plan's
   *  'model' event is not a load), even where its id is the one before's (the same URL again). */
  function holdLoaded(held: HeldModel) {
    session.hold(held)
    post({ type: 'model', summary: held.summary, loaded: true })
  }
  const stoppedGenerations = new Set<string>() // generate requests asked to stop
  let badgeNoted = false // the badge says a run's second worker stopped

  async function ensureBackend(pref: Settings['backend'] = 'auto') {
    if (backend) return
    post({ type: 'progress', task: 'backend', done: 0, total: 1, label: 'Choosing the fastest backend' })
    backend = await chooseBackend(pref, env)
    post({ type: 'backend', info: backend })
    // The second engine worker compiles its WebAssembly now, not at the first run's first step.
    if (backend.name === 'wasm') for (const w of env.otherWorkers?.() ?? []) w.warm?.()
  }

  const modelProgress = (done: number, total: number) => post({ type: 'progress', task: 'model', done, total, label: `Downloading the model: ${formatBytesOf(done, total)}` })

  async function loadModel(msg: Extract<ToWorker, { type: 'loadModel' }>) {
    if (msg.source.kind === 'file') return exportCommands.importFile(msg.source.file)
    if (msg.source.kind === 'files' || msg.source.kind === 'url') return loadOther(msg.source)
    const url = msg.source.url
    const probe = await probeModel(url, (u) => fetchFn(u)) // dispatch on model.json's format
    if (isImageModel(probe)) return loadImageModel(probe, msg.source.kind === 'builtin' ? msg.source.id : url)
    installText(await loadTinyGpt(url, probe.fetch, modelProgress), msg.source.kind === 'builtin' ? msg.source.id : url)
  }

  /** Any model.json by URL or chosen files; a bad one leaves the current model in place. */
  async function loadOther(source: { kind: 'url'; url: string } | { kind: 'files'; files: File[] }) {
    const got = await loadFromSource(source, (u) => fetchFn(u), indexedDbModelCache(), (done, total, label) => post({ type: 'progress', task: 'model', done, total, label }))
    if (got.kind === 'tinygpt') return installText(got.loaded, source.kind === 'url' ? source.url : 'files')
    if (got.kind === 'other') {
      const probe = { url: got.url, json: got.json, fetch: got.fetchFn }
      if (isImageModel(probe)) return loadImageModel(probe, got.url)
      throw new ModelLoadError(`${got.url}: this studio cannot read its own "${got.format}" model files in this version.`, `model ${got.url}`)
    }
    const held = holdLayers(got.body, got.url)
    holdLoaded(held)
    const misfit = layersFitProblem(held, data.summary)
    if (data.summary && misfit) post({ type: 'error', message: misfit, where: `model ${held.summary.title} and dataset ${data.summary.name}` })
  }

  /** An image CNN replaces whatever model was loaded. */
  async function loadImageModel(probe: ModelProbe, id: string) {
    const json = checkCnnModelJson(probe.json, probe.url.slice(probe.url.lastIndexOf('/') + 1))
    holdLoaded(holdCnn(await loadTinyCnnFromJson(json, probe.url, probe.fetch, modelProgress), id))
  }

  /** Makes a text model the loaded one; its weights become the base every run starts from. */
  function installText(loaded: LoadedTinyGpt, id: string) {
    holdLoaded(holdText(loaded, id))
  }

  /** Parameter counts and problems for these settings, before anything trains. */
  let lastPlanned: Settings | null = null // planned again when the backend changes
  function plan(settings: Settings) {
    lastPlanned = settings
    const planned = session.plan(settings)
    if (!planned) return
    post({ type: 'plan', ...planned.plan })
    post({ type: 'model', summary: planned.summary })
  }

  /** The run being started (from its train, lmTrain or resumeRun message's arrival to the session's run) and whether a Stop
   *  came for it meanwhile (handler's stop below): it then stops as it starts. A Stop for a run
   *  that already ended is not kept, since resuming a checkpoint reuses its run's id. */
  let starting: { runId: string; stop: boolean } | null = null

  /** A run of the current model on the dataset, or with `objective` an SFT or DPO run of the
   *  loaded model on the objective's file; `resume` continues a checkpointed one. */
  async function train(msg: Extract<ToWorker, { type: 'train' }>, resume?: PreparedResume, objective?: RunObjectiveRef) {
    const { runId, settings } = msg
    if (session.run) throw new Error('A run is already in progress: stop it first.')
    if (starting?.runId !== runId) starting = { runId, stop: false } // else noted as its message arrived
    await ensureBackend(settings.backend)
    // On WebAssembly with 2+ cores a second engine worker computes half of every batch
    // (engine/train/dataParallel.ts); if it fails, the run goes on here and says so.
    const others = backend?.name === 'wasm' ? (env.otherWorkers?.() ?? []) : []
    const peer = others.length > 0 ? others : null
    let peerLost = null as { why: string; count: LostCount | undefined } | null
    if (backend && badgeNoted) post({ type: 'backend', info: backend }) // a new run tries two workers again
    badgeNoted = false
    // Every epoch is checkpointed and the run recorded in IndexedDB (checkpointHost.ts).
    const out = await session.train(
      runId,
      settings,
      {
        events: runEvents(post, runId),
        reset: () => post({ type: 'weightsReset', runId }),
        started: () => {
          post({ type: 'state', runId, state: 'running' })
          if (starting?.runId === runId && starting.stop) session.run?.control.stop() // Stop came before the run had started
          starting = null
        },
        record: (s, control, events) => checkpoints.startRun(runId, s, control, resume?.record ?? null, events, objective),
        preferenceSteps: (points) => post({ type: 'lmSteps', runId, points }),
        ...(peer
          ? {
              parallel: () => ({
                peer,
                passes: env.secondWorkerPasses !== false,
                onPeerLost: (why: string, count?: LostCount) => {
                  peerLost = { why, count }
                  badgeNoted = true
                  if (backend) post({ type: 'backend', info: { ...backend, reason: `${backend.reason}; ${peerLostWords(count)}` } })
                },
              }),
            }
          : {}),
      },
      resume?.input,
      objective,
    )
    if ('refused' in out) refuseSettings(post, runId, out.refused, out.totalParams)
    else post({ type: 'done', runId, reason: out.result.reason, summary: out.result.summary, message: out.result.message + (peerLost ? peerLostTail(peerLost.why, peerLost.count) : '') })
  }

  /** Instruction and preference tuning (issue 17): the session reads their files and trains
   *  them with its one train path. */
  async function objectiveCommand(msg: Extract<LmCommand, { type: 'lmData' | 'lmTrain' | 'lmChat' | 'lmRecipe' }>) {
    switch (msg.type) {
      case 'lmData': {
        const read = async (f: File) => ({ name: f.name, text: await f.text() })
        const validation = msg.validation ? await read(msg.validation) : null
        post({ type: 'lmData', summary: session.readObjective({ objective: msg.objective, train: await read(msg.file), validation, seqLen: msg.seqLen, ...(msg.columns ? { columns: msg.columns } : {}) }) })
        return
      }
      case 'lmTrain': {
        const d = session.objectiveData
        const objective: RunObjectiveRef = { objective: msg.objective, beta: msg.beta, sftWeight: msg.sftWeight, pack: msg.pack, file: d?.name ?? '', validationFile: d?.validationName ?? null }
        return train({ type: 'train', runId: msg.runId, settings: msg.settings }, undefined, objective)
      }
      case 'lmChat':
        post({ type: 'lmChat', requestId: msg.requestId, ...(await session.chat(msg)) })
        return
      case 'lmRecipe':
        post({ type: 'lmRecipe', files: session.recipe(msg, msg.settings) })
        return
    }
  }

  // Learning without labels (pseudoLabelHost.ts): each round trains the held language model (the
  // built-in LM, or a Hugging Face GPT-2 or Llama) through the session's one train path; the
  // host reads the model, its tokenizer, its base and the last tuning here.
  const text = () => (session.loaded?.family === textFamily ? (session.loaded as HeldText) : null)
  const heldDecoder = () => {
    const h = session.loaded?.family === hfFamily ? (session.loaded as HeldHf) : null
    return h && !h.body.isEncoder ? h : null
  }
  const heldLm: HeldLm = {
    get loaded() {
      const t = text()
      if (t) return { model: t.body as TinyGpt, tokenizer: t.tokenizer }
      // a Hugging Face decoder reads and scores text as the zero-shot scorer expects (forward,
      // lmLogits), with its own tokenizer in the studio's shape (hfTokenizerLike)
      const h = heldDecoder()
      return h && { model: h.body as unknown as TinyGpt, tokenizer: h.tok }
    },
    get base() {
      return (text() ?? heldDecoder())?.base ?? null
    },
    get tuning() {
      return (text() ?? heldDecoder())?.tuning ?? null
    },
  }
  const pseudo = new PseudoLabelHost(post, heldLm, session, ensureBackend)
  const exportCommands = createExportCommands(session, post, { install: installText, installImage: loadImageModel, installLayers: (files) => loadOther({ kind: 'files', files }) })

  const checkpoints = new CheckpointHost(
    {
      get datasetSummary() {
        return data.summary
      },
      get run() {
        return session.run
      },
    },
    post,
    {
      current: () => session.current(),
      encode: (held, settings) => session.encodeFor(held, settings),
      objectiveModel: () => session.loaded,
      objectiveFile: () => session.objectiveData && { objective: session.objectiveData.objective, name: session.objectiveData.name },
      encodeObjective: (held, settings, objective) => session.encodeObjectiveFor(held, settings, objective),
      evaluate: (held, tuning, val) => session.evaluateWith(held, tuning, val),
      adopt: (held, tuning, val) => session.adopt(held, tuning, val),
      selectDataset: async (ref) => {
        if (ref.storedId) await data.handle({ type: 'selectDataset', id: ref.storedId })
        if (data.summary?.id !== ref.id) throw new Error(`This run trained on ${ref.name}, which is not stored in this browser any more: load it in step 1, then try again.`)
      },
      ...(storage.estimate ? { estimate: storage.estimate } : {}),
    },
  )

  let active: ToWorker['type'] | null = null // the command being carried out, for uncaught errors' words
  const handle = async function handle(msg: ToWorker): Promise<void> {
    // Run control must not wait behind a long command (training is one long command).
    if (isStorageCommand(msg)) {
      await checkpoints.handle(msg).catch((e: unknown) => {
        const why = explainEngineError(e, { doing: 'working with checkpoints', backend: backendName(), deviceLost: webgpuDeviceLost() !== null })
        post({ type: 'error', message: why.message, where: msg.type, ...(why.restart ? { restart: true } : {}) })
      })
      return
    }
    if (msg.type === 'stopGenerate') {
      stoppedGenerations.add(msg.requestId)
      return
    }
    if (msg.type === 'pause' || msg.type === 'resume' || msg.type === 'stop') {
      // a self-training job notes Pause and Resume itself too: paused between its rounds (or as a
      // round ends), its next round waits for Resume
      if (msg.type === 'pause') pseudo.pause(msg.runId)
      else if (msg.type === 'resume') pseudo.resume(msg.runId)
      const run = session.run
      if (!run || run.id !== msg.runId) {
        // a self-training job between its rounds (re-labelling the texts): its next round stops as
        // it starts; any other run not started yet (its backend switching, its data encoding,
        // DPO's reference scoring) stops as it starts too
        if (msg.type === 'stop' && !pseudo.stop(msg.runId) && starting?.runId === msg.runId) starting.stop = true
        return
      }
      if (msg.type === 'pause') run.control.pause()
      else if (msg.type === 'resume') run.control.resume()
      else run.control.stop()
      return
    }
    // A run asked for: from now (it may wait behind other commands) a Stop for it is kept. A
    // resumed checkpoint's run too: reading the checkpoint and checking its data take a while.
    if (msg.type === 'train' || msg.type === 'lmTrain' || msg.type === 'resumeRun') starting = { runId: msg.runId, stop: false }
    const job = ready.then(async () => {
      active = msg.type
      try {
        switch (msg.type) {
          case 'init':
            backend = null
            await ensureBackend(msg.backend)
            // a held Hugging Face model's tables, split for WebGPU's binding limit or not, and its
            // plan again (the page's configure for the new backend setting came before this init)
            if ((await hf.rebind()) && lastPlanned) plan(lastPlanned)
            post({ type: 'ready' })
            break
          case 'loadDataset':
            await data.load(msg)
            await remeasureHead()
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
            // other rows to measure a sequence classifier's own head on
            if (msg.type === 'loadValidation' || msg.type === 'clearValidation' || msg.type === 'selectDataset' || msg.type === 'restoreDataset' || msg.type === 'setRoles') await remeasureHead()
            break
          case 'loadModel':
            await ensureBackend()
            await loadModel(msg)
            break
          case 'configure':
            data.configure(msg.settings)
            plan(msg.settings)
            break
          case 'train':
            await train(msg)
            break
          case 'evaluate': {
            const mark = webgpuFaultMark() // the GPU's own errors void the numbers (engine/webgpuFaults.ts)
            const metrics = await session.evaluate()
            throwOnWebgpuFault(mark, 'evaluating the model')
            post({ type: 'evaluation', metrics })
            break
          }
          case 'interpolate':
          case 'keepAlpha':
          case 'sweep':
          case 'export':
            await exportCommands.handle(msg)
            break
          case 'hfProbe':
          case 'hfLoad':
          case 'hfListStored':
          case 'hfDeleteStored':
            await hf.handle(msg)
            break
          case 'hfNewHead':
            await hf.handle(msg)
            if (lastPlanned) plan(lastPlanned) // the plan's refusal of the dataset's classes goes
            else if (heldHf()) post({ type: 'model', summary: heldHf()!.summary })
            break
          case 'hfNameHeadClasses': {
            const held = heldHf()
            if (!held) throw new Error('No Hugging Face model is loaded: load a *ForSequenceClassification checkpoint first.')
            nameSeqClsClasses(held, msg.names)
            // the plan carries the new words and drops the refusal of the dataset's classes; then
            // the head is measured on the dataset under the names, as a loaded head is
            if (lastPlanned) plan(lastPlanned)
            else post({ type: 'model', summary: held.summary })
            if (isLoadedHead(held.tuning)) await measureHead(held, held.summary.title)
            break
          }
          case 'lmData':
          case 'lmTrain':
          case 'lmChat':
          case 'lmRecipe':
            await objectiveCommand(msg)
            break
          case 'pseudoLabel':
          case 'pseudoTrain':
          case 'pseudoSaved':
          case 'pseudoRestore':
          case 'pseudoDelete':
            await pseudo.handle(msg)
            break
          case 'restoreCheckpoint':
            await checkpoints.restore(msg.id)
            break
          case 'resumeRun': {
            if (session.run) throw new Error('A run is already in progress: stop it first.')
            const prepared = await checkpoints.prepareResume(msg.checkpointId)
            await train({ type: 'train', runId: prepared.runId, settings: prepared.settings }, prepared, prepared.record.objective)
            break
          }
          case 'crash':
            throw new Error('Simulated failure inside the worker (test hook)')
          case 'predict':
            await session.predict(msg.requestId, msg.input, post)
            break
          case 'generate':
            await session.generate(msg, post, () => stoppedGenerations.has(msg.requestId))
            stoppedGenerations.delete(msg.requestId)
            break
          default: {
            const never: never = msg
            throw new Error(`Unknown command ${JSON.stringify(never)}`)
          }
        }
      } catch (e) {
        // Engine failures (a wasm abort, out of memory, a GPU error) in words; restart when the engine is dead.
        const why = explainEngineError(e, { doing: DOING[msg.type] ?? 'working', backend: backendName(), deviceLost: webgpuDeviceLost() !== null })
        // the GPU's own report stays out of the page's words: the console keeps it for bug reports
        if (e instanceof WebgpuFaultError) console.warn(`WebGPU's first error in this run: ${e.deviceSaid}`)
        post({ type: 'error', ...('runId' in msg ? { runId: msg.runId } : {}), ...(msg.type === 'hfLoad' ? { loadId: msg.loadId } : {}), message: why.message, where: e instanceof ModelLoadError ? e.where : msg.type, ...(why.restart ? { restart: true } : {}) })
      } finally {
        active = null
      }
    })
    // One command at a time: a model must not be swapped out under a running loop.
    ready = job
    await job
  }
  /** What the worker is doing and on which backend, for the words of an error nothing caught. */
  const context = (): ErrorContext => ({ doing: (active && DOING[active]) || 'working', ...(backendName() ? { backend: backendName() } : {}), deviceLost: webgpuDeviceLost() !== null })
  return Object.assign(handle, { context })
}

/** What each command was doing when it failed, for the words of an engine failure. */
const DOING: Partial<Record<ToWorker['type'], string>> = {
  train: 'training',
  resumeRun: 'training',
  lmTrain: 'training',
  lmData: 'reading the training file',
  lmChat: 'trying the model',
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
