import type { FromWorker, ToWorker } from './protocol'

export interface EngineClient {
  send(msg: ToWorker): void
  on(listener: (e: FromWorker) => void): () => void
  /** Ends the worker (and any training in it) and starts a fresh one. */
  restart(): void
  terminate(): void
}

/** The page's only handle on the training worker. A worker that dies (crash, out of
 *  memory) becomes an 'error' event, so the UI can recover instead of hanging. */
export function createEngineClient(): EngineClient {
  const listeners = new Set<(e: FromWorker) => void>()
  const emit = (e: FromWorker) => listeners.forEach((l) => l(e))
  let worker: Worker
  const start = () => {
    worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'training-engine' })
    worker.onmessage = (m: MessageEvent<FromWorker>) => emit(m.data)
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault()
      emit({ type: 'error', message: `The training worker failed: ${e.message || 'unknown error'}`, where: 'worker' })
    }
    worker.onmessageerror = () => emit({ type: 'error', message: 'A message from the training worker could not be read.', where: 'worker' })
  }
  start()
  return {
    send: (msg) => worker.postMessage(msg),
    on(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    restart() {
      worker.terminate()
      start()
    },
    terminate: () => worker.terminate(),
  }
}
