/// <reference lib="webworker" />
// Connects the handler to the worker global; everything else lives in handler.ts.
import { createHandler } from './handler'
import { browserBackendEnvironment, cpuModeOf, workersAskedOf } from './backendEnvironment'
import { spawnGradientWorker, WorkerGradientPeer, workerWords } from './gradientPeer'
import { browserImageDecoder } from './imageDecoder'
import type { ToWorker } from './protocol'
import { explainUncaught, type UncaughtLike } from './uncaughtErrors'
import { installBenchReadouts } from './benchReadouts'

const ctx = self as unknown as DedicatedWorkerGlobalScope
// the benches' and browser tests' read-outs (step timeline, step starts), not in the production build
if (import.meta.env.MODE !== 'production') installBenchReadouts()
// Liveness: hold a Web Lock named after this worker until it ends; the page queues for it
// and so learns when the worker has died (worker/client.ts).
void ctx.navigator.locks?.request(ctx.name, () => new Promise<never>(() => {}))
const handle = createHandler((e) => ctx.postMessage(e, e.type === 'exported' ? [e.bytes] : []), browserBackendEnvironment(ctx.navigator, ctx.crossOriginIsolated, cpuModeOf(ctx.name), (index, workers) => new WorkerGradientPeer(spawnGradientWorker, workerWords(index, workers)), workersAskedOf(ctx.name)), undefined, browserImageDecoder(), {
  estimate: () => ctx.navigator.storage.estimate(), // checkpoints check free space before writing
})
ctx.onmessage = (m: MessageEvent<ToWorker>) => void handle(m.data)

// An engine failure nothing caught (a WebAssembly thread that aborted when memory ran out,
// rethrown by Emscripten's glue): say it in words and ask the page for a fresh engine, as a
// caught one does, instead of leaving the page only "an error it could not handle".
function onUncaught(ev: Event & UncaughtLike) {
  const why = explainUncaught(ev, handle.context())
  if (!why) return // an ordinary error: the page hears of it through the Worker's error event
  ev.preventDefault()
  ctx.postMessage({ type: 'error', message: why.message, where: 'worker', restart: why.restart })
}
ctx.addEventListener('error', (ev) => onUncaught(ev))
ctx.addEventListener('unhandledrejection', (ev) => onUncaught(Object.assign(ev, { message: '', error: ev.reason })))
