/// <reference lib="webworker" />
// Connects the handler to the worker global; everything else lives in handler.ts.
import { createHandler } from './handler'
import { browserBackendHost } from './backendHost'
import { browserImageDecoder } from './imageDecoder'
import type { ToWorker } from './protocol'

const ctx = self as unknown as DedicatedWorkerGlobalScope
// Liveness: hold a Web Lock named after this worker until it ends; the page queues for it
// and so learns when the worker has died (worker/client.ts).
void ctx.navigator.locks?.request(ctx.name, () => new Promise<never>(() => {}))
const handle = createHandler((e) => ctx.postMessage(e, e.type === 'exported' ? [e.bytes] : []), browserBackendHost(ctx.navigator, ctx.crossOriginIsolated), undefined, browserImageDecoder(), {
  estimate: () => ctx.navigator.storage.estimate(), // checkpoints check free space before writing
})
ctx.onmessage = (m: MessageEvent<ToWorker>) => void handle(m.data)
