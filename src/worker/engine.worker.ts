/// <reference lib="webworker" />
// Connects the handler to the worker global; everything else lives in handler.ts.
import { createHandler } from './handler'
import { browserBackendHost } from './backendHost'
import type { ToWorker } from './protocol'

const ctx = self as unknown as DedicatedWorkerGlobalScope
const handle = createHandler((e) => ctx.postMessage(e), browserBackendHost(ctx.navigator))
ctx.onmessage = (m: MessageEvent<ToWorker>) => void handle(m.data)
