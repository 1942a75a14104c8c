import { BUILTIN_MODELS } from '../shared/builtinModels'
import { createEngineClient, type EngineClient } from '../worker/client'
import { connectBridge } from './bridge'
import { checkedProblems, sameProblems } from './settingsCheck'
import { useStudio } from './store'
import type { HfLoadInFlight } from './parts'
import { startRequest, usePlayground } from './playground'
import { beginExport } from './exportState'
import type { ExportChoice, PlaygroundChat, PlaygroundInput, ToWorker } from '../worker/protocol'
import type { DataCommand, ImageUpload } from '../worker/dataProtocol'
import type { CheckpointCommand } from '../worker/checkpointProtocol'
import type { LmCommand } from '../worker/lmProtocol'
import type { HfCommand, HfLoaded } from '../worker/hfProtocol'
import { afterWorkerRestart, resendCheckedFile } from './lmObjectives'

/** The page's commands: each turns a user intent into protocol messages. */
let client: EngineClient | null = null

export const DEFAULT_SAMPLE = { file: 'spam-ham.csv', name: 'spam-ham.csv' }

function engine(): EngineClient {
  if (!client) {
    client = createEngineClient()
    connectBridge(client)
    client.onExit(recoverFromExit)
    // An engine that cannot go on (an aborted WebAssembly module): the bridge shows the
    // worker's words; a fresh worker with the same model and dataset keeps the page usable.
    client.on((e) => {
      if (e.type === 'error' && e.restart) restartEngine(e.message, false)
    })
  }
  return client
}

type ModelSource = Extract<ToWorker, { type: 'loadModel' }>['source']
/** The model last asked for, so a restarted worker loads it again (chosen files included). */
let lastModelSource: ModelSource | null = null
type HfLoad = Extract<HfCommand, { type: 'hfLoad' }>
/** …or the Hugging Face model last loaded (files kept in this browser: no network again); set
 *  when the worker says the load gave a model, not a PEFT adapter (hfLoaded). */
let lastHfLoad: HfLoad | null = null
/** Hugging Face loads sent and not yet answered: the store's hf.loads, their one record (the
 *  stored repos' Delete reads it too). */
const hfLoads = () => useStudio.getState().hf.loads
const setHfLoads = (loads: readonly HfLoadInFlight[]) => useStudio.setState((st) => ({ hf: { ...st.hf, loads } }))
let nextHfLoadId = 1
/** The names the person gave the loaded head's placeholder classes (hfNameHeadClasses), so a
 *  restarted worker keeps the head under them; null once another model or head replaces it. */
let lastHfNames: string[] | null = null
/** The person pressed "Use a new head" on the loaded sequence classifier, so a restarted worker
 *  sets the checkpoint's head aside again rather than bring it back unasked; false once another
 *  model, adapter or named head replaces it. */
let lastHfNewHead = false
function sendLoadModel(source: ModelSource) {
  lastModelSource = source
  lastHfLoad = null
  lastHfNames = null
  lastHfNewHead = false
  // a Hugging Face load in flight still reads its files, but this model replaces it when it ends
  if (hfLoads().some((l) => l.keeps)) setHfLoads(hfLoads().map((l) => ({ ...l, keeps: false })))
  engine().send({ type: 'loadModel', source })
}

const appUrl = (path: string) => new URL(path, document.baseURI).href
const builtinSource = (m: (typeof BUILTIN_MODELS)[number]) => ({ kind: 'builtin' as const, id: m.id, url: appUrl(m.url) })

export function startStudio() {
  const e = engine()
  const { settings } = useStudio.getState()
  useStudio.setState({ busy: { task: 'backend', done: 0, total: 1, label: 'Starting the training engine' } })
  e.send({ type: 'init', backend: settings.backend })
  const model = BUILTIN_MODELS[0]!
  e.send({ type: 'loadModel', source: { kind: 'builtin', id: model.id, url: appUrl(model.url) } })
  // The last dataset used in this browser, or the sample on a first visit.
  e.send({ type: 'restoreDataset', fallback: { url: appUrl(`samples/${DEFAULT_SAMPLE.file}`), name: DEFAULT_SAMPLE.name } })
  configure()
  refreshCheckpoints() // and offer to resume a run the last visit did not see end
  // Re-plan whenever settings change; the worker answers with counts and problems.
  useStudio.subscribe((st, prev) => {
    // …and when another model is loaded (by id: a plan re-posts the same model's summary).
    if (st.settings !== prev.settings || st.dataset !== prev.dataset || st.model?.id !== prev.model?.id) configure()
    // Checked here at once, against the model's limits; the worker's plan follows.
    if (st.settings !== prev.settings || st.dataset !== prev.dataset || st.model !== prev.model) {
      const problems = checkedProblems(st)
      if (!sameProblems(problems, st.problems)) useStudio.setState({ problems })
    }
    if (st.settings.backend !== prev.settings.backend && st.status !== 'running' && st.status !== 'paused') {
      engine().send({ type: 'init', backend: st.settings.backend })
    }
  })
}

export function configure() {
  engine().send({ type: 'configure', settings: useStudio.getState().settings })
}

export function loadSample(file: string) {
  engine().send({ type: 'loadDataset', source: { kind: 'url', url: appUrl(`samples/${file}`), name: file } })
}

export function uploadDataset(file: File) {
  useStudio.setState({ busy: { task: 'dataset', done: 0, total: file.size, label: `Reading ${file.name}` } })
  engine().send({ type: 'loadDataset', source: { kind: 'file', file } })
}

export function train() {
  const runId = `run-${Date.now().toString(36)}`
  useStudio.getState().startRun(runId)
  engine().send({ type: 'train', runId, settings: useStudio.getState().settings })
}

export function pause() {
  const { runId } = useStudio.getState()
  if (runId) engine().send({ type: 'pause', runId })
}
export function resume() {
  const { runId } = useStudio.getState()
  if (runId) engine().send({ type: 'resume', runId })
}
export function stop() {
  const { runId } = useStudio.getState()
  if (!runId) return
  useStudio.setState({ status: 'stopping' })
  engine().send({ type: 'stop', runId })
}

/** Test hook (and a real recovery path): a failure inside the worker reaches the page. */
export function crashWorker() {
  engine().send({ type: 'crash' })
}

/** Checkpoints and run history (answers land in state/checkpoints.ts). */
export function sendCheckpoint(msg: CheckpointCommand) {
  engine().send(msg)
}
export function refreshCheckpoints() {
  const e = engine()
  e.send({ type: 'listCheckpoints' })
  e.send({ type: 'findInterrupted' })
  e.send({ type: 'storageEstimate' })
}
/** Continues a stored run from a checkpoint under the same run id, so the chart and the
 *  step numbers go on where they stopped. */
export function resumeCheckpoint(checkpointId: string, runId: string) {
  useStudio.getState().startRun(runId)
  engine().send({ type: 'resumeRun', checkpointId, runId })
}
/** The worker ended or broke on its own (client.ts says how that is noticed): start a fresh
 *  one, load the model and dataset again and offer the last checkpoint. A worker that keeps
 *  dying right after starting is not restarted forever. */
const recentExits: number[] = []
function recoverFromExit(why: 'ended' | 'error') {
  const now = Date.now()
  while (recentExits.length && now - recentExits[0]! > 60_000) recentExits.shift()
  recentExits.push(now)
  if (recentExits.length > 3) {
    useStudio.setState({ status: 'idle', runId: null, busy: null })
    useStudio.getState().notify({ kind: 'error', where: 'worker', text: 'The training worker keeps stopping right after it starts, so the page stopped restarting it. Reload the page; if it happens again, choose another Backend in the settings.' })
    return
  }
  const what = why === 'error' ? 'stopped unexpectedly after an error it could not handle' : 'stopped unexpectedly (it may have run out of memory)'
  restartEngine(`The training worker ${what}. The page started a new one; your checkpoints are kept — resume from the last one below.`)
}

/** Ends the worker as a crash or running out of memory would, starts a fresh one, loads the
 *  model and dataset again and offers the last checkpoint (the recovery path). */
export function restartEngine(reason: string, notify = true) {
  const e = engine()
  const { model: current, settings } = useStudio.getState()
  e.restart()
  // the fresh worker holds the base weights: no restored checkpoint is in use (nor offered for
  // export); the Hugging Face loads in flight went with the old worker
  useStudio.setState((st) => ({ status: 'idle', runId: null, busy: null, hf: { ...st.hf, loads: [] }, checkpoints: { ...st.checkpoints, restoredId: null }, exporting: { ...st.exporting, restored: false } }))
  if (notify) useStudio.getState().notify({ kind: 'error', text: reason, where: 'worker' })
  const model = BUILTIN_MODELS.find((m) => m.id === current?.id)
  e.send({ type: 'init', backend: settings.backend })
  // The same model again: a built-in by id, else the URL or files it was loaded from.
  const source: ModelSource = model || !lastModelSource ? builtinSource(model ?? BUILTIN_MODELS[0]!) : lastModelSource
  if (current?.card?.source === 'huggingface' && lastHfLoad) {
    e.send(lastHfLoad)
    // it reads the repo's stored files again: their Delete waits until it has ended, as for any
    // load; it is the kept model already (its names and head are sent again below)
    setHfLoads([{ load: lastHfLoad, keeps: false }])
    if (lastHfNames) e.send({ type: 'hfNameHeadClasses', names: lastHfNames })
    if (lastHfNewHead) e.send({ type: 'hfNewHead' })
  } else e.send({ type: 'loadModel', source })
  e.send({ type: 'restoreDataset', fallback: { url: appUrl(`samples/${DEFAULT_SAMPLE.file}`), name: DEFAULT_SAMPLE.name } })
  // what else the worker before held: the checked instruction or preference file, read after the model
  resendCheckedFile()
  afterWorkerRestart() // the kept self-training jobs listed again, a restored one restored again
  configure()
  refreshCheckpoints()
}

/** Interpolation, export and import (answers land in state/exportState.ts). */
export function interpolate(alpha: number, keep = false) {
  beginExport('interpolate')
  engine().send(keep ? { type: 'keepAlpha', alpha } : { type: 'interpolate', alpha })
}
export function sweepAlpha(points = 11) {
  beginExport('sweep')
  engine().send({ type: 'sweep', points })
}
export function exportModel(choice: ExportChoice, alpha: number) {
  const st = useStudio.getState()
  beginExport('export')
  engine().send({ type: 'export', choice, alpha, metrics: { base: st.baseline?.metrics ?? null, baseName: st.baseline?.name ?? null, tuned: st.result?.summary.best ?? st.lastVal } })
}
export function loadModelFile(file: File) {
  beginExport('import')
  useStudio.setState({ busy: { task: 'model', done: 0, total: file.size, label: `Reading ${file.name}` } })
  sendLoadModel({ kind: 'file', file })
}

/** Playground: try the model before and after fine-tuning (answers land in state/playground.ts). */
export function tryModel(input: PlaygroundInput) {
  const requestId = `try-${Date.now().toString(36)}`
  startRequest(requestId)
  engine().send({ type: 'predict', requestId, input })
}
export function generateText(opts: { prompt: string; maxTokens: number; temperature: number; topK: number; seed: number; chat?: PlaygroundChat }) {
  const requestId = `gen-${Date.now().toString(36)}`
  startRequest(requestId)
  engine().send({ type: 'generate', requestId, ...opts })
}
export function stopGenerating() {
  const { requestId } = usePlayground.getState()
  if (requestId) engine().send({ type: 'stopGenerate', requestId })
}

/** Hugging Face models: probe, load, stored files (worker/hfModelHost.ts; state/hfModels.ts).
 *  An hfLoad's loadId is returned (hfLoaded answers with it). */
export function sendHf(msg: Exclude<HfCommand, HfLoad> | Omit<HfLoad, 'loadId'>): number | undefined {
  if (msg.type === 'hfNameHeadClasses') {
    lastHfNames = [...msg.names]
    lastHfNewHead = false
  }
  if (msg.type === 'hfNewHead') {
    lastHfNames = null
    lastHfNewHead = true
  }
  if (msg.type !== 'hfLoad') {
    engine().send(msg)
    return undefined
  }
  const load: HfLoad = { ...msg, loadId: nextHfLoadId++ }
  setHfLoads([...hfLoads(), { load, keeps: true }])
  engine().send(load)
  return load.loadId
}
/** The worker loaded what an hfLoad asked for: a model is kept so that a restarted worker loads
 *  it again; a PEFT adapter is not a model, so the model before it stays the one kept. */
export function onHfLoaded(e: HfLoaded) {
  const done = hfLoads().find((l) => l.load.loadId === e.loadId)
  endHfLoads(e.loadId)
  if (done?.keeps && e.loaded === 'model') lastHfLoad = done.load
  if (done?.keeps) {
    // a new model, or an adapter with its own head, replaced the named or set-aside one
    lastHfNames = null
    lastHfNewHead = false
  }
  // A model or a PEFT adapter loaded replaced the restored checkpoint's weights: the worker's
  // 'model' (loaded) or 'imported' event before this one said so (state/checkpoints.ts
  // replacesRestored). Export stays open for an adapter through its import (ui/export/ExportPanel.tsx).
}
/** The load with this loadId has ended (loaded, or failed: its error names it). The worker
 *  carries commands out in order, so loads asked for before it have ended too. */
export function endHfLoads(loadId: number) {
  if (hfLoads().some((l) => l.load.loadId <= loadId)) setHfLoads(hfLoads().filter((l) => l.load.loadId > loadId))
}

/** Instruction and preference tuning, learning without labels (state/lmObjectives.ts). */
export function sendLm(msg: LmCommand) {
  engine().send(msg)
}

/** Datasets: storage, roles, a validation file and image sets (worker/dataHost.ts). */
export function sendData(msg: DataCommand) {
  engine().send(msg)
}
export function uploadValidation(file: File) {
  useStudio.setState({ busy: { task: 'dataset', done: 0, total: file.size, label: `Reading ${file.name}` } })
  sendData({ type: 'loadValidation', file })
}
export function uploadImages(source: ImageUpload) {
  useStudio.setState({ busy: { task: 'dataset', done: 0, total: 1, label: `Reading ${source.kind === 'zip' ? source.file.name : source.name}` } })
  sendData({ type: 'loadImages', source })
}
export function loadImageSample(file: string) {
  uploadImages({ kind: 'url', url: appUrl(`samples/${file}`), name: file })
}

/** Any TensorFlow.js layers model (or a studio model.json) by URL, cached in IndexedDB. */
export function loadModelUrl(url: string) {
  useStudio.setState({ busy: { task: 'model', done: 0, total: 1, label: `Fetching ${url}` } })
  sendLoadModel({ kind: 'url', url })
}
/** model.json with its .bin shards chosen together; a studio .zip goes to the zip import. */
export function loadModelFiles(files: File[]) {
  const zip = files.find((f) => f.name.toLowerCase().endsWith('.zip'))
  if (zip) return loadModelFile(zip)
  useStudio.setState({ busy: { task: 'model', done: 0, total: 1, label: `Reading ${files.map((f) => f.name).join(', ')}` } })
  sendLoadModel({ kind: 'files', files })
}
/** Loads the built-in model with this id (see engine/models/builtins.ts), e.g. 'emoji-cnn'. */
export function loadBuiltinModelById(id: string) {
  const model = BUILTIN_MODELS.find((m) => m.id === id)
  if (!model) throw new Error(`No built-in model "${id}"`)
  useStudio.setState({ busy: { task: 'model', done: 0, total: 1, label: `Loading ${model.title}` } })
  sendLoadModel(builtinSource(model))
}
