/// <reference lib="webworker" />
// Connects the handler to the worker global; everything else lives in handler.ts.
import { createHandler } from './handler'
import { browserBackendHost } from './backendHost'
import { browserImageDecoder } from './imageDecoder'
import type { ToWorker } from './protocol'

const ctx = self as unknown as DedicatedWorkerGlobalScope
const handle = createHandler((e) => ctx.postMessage(e, e.type === 'exported' ? [e.bytes] : []), browserBackendHost(ctx.navigator), undefined, browserImageDecoder(), {
  estimate: () => ctx.navigator.storage.estimate(), // checkpoints check free space before writing
})
ctx.onmessage = (m: MessageEvent<ToWorker>) => void handle(m.data)
