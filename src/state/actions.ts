import { BUILTIN_MODELS } from '../engine/models/builtins'
import { createEngineClient, type EngineClient } from '../worker/client'
import { connectBridge } from './bridge'
import { useStudio } from './store'

/** The page's commands: each turns a user intent into protocol messages. */
let client: EngineClient | null = null

export const DEFAULT_SAMPLE = { file: 'spam-ham.csv', name: 'spam-ham.csv' }

function engine(): EngineClient {
  if (!client) {
    client = createEngineClient()
    connectBridge(client)
  }
  return client
}

const appUrl = (path: string) => new URL(path, document.baseURI).href

export function startStudio() {
  const e = engine()
  const { settings } = useStudio.getState()
  useStudio.setState({ busy: { task: 'backend', done: 0, total: 1, label: 'Starting the training engine' } })
  e.send({ type: 'init', backend: settings.backend })
  const model = BUILTIN_MODELS[0]!
  e.send({ type: 'loadModel', source: { kind: 'builtin', id: model.id, url: appUrl(model.url) } })
  e.send({ type: 'loadDataset', source: { kind: 'url', url: appUrl(`samples/${DEFAULT_SAMPLE.file}`), name: DEFAULT_SAMPLE.name } })
  configure()
  // Re-plan whenever settings change; the worker answers with counts and problems.
  useStudio.subscribe((st, prev) => {
    if (st.settings !== prev.settings || st.dataset !== prev.dataset) configure()
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
