import type { FromWorker, ToWorker } from './protocol'

export interface EngineClient {
  send(msg: ToWorker): void
  on(listener: (e: FromWorker) => void): () => void
  /** Called once when the running worker has ended or broken without being asked to (closed
   *  itself, crashed, ran out of memory, was killed, threw an error nothing caught). */
  onExit(listener: (why: 'ended' | 'error') => void): () => void
  /** Ends the worker (and any training in it) and starts a fresh one. */
  restart(): void
  terminate(): void
}

/** The page's only handle on the training worker.
 *
 *  How a dead worker is noticed: a worker that ends (self.close(), a crash, out of memory, a
 *  kill from outside) fires no event on the page. So each worker holds a Web Lock named after
 *  itself for its whole life (engine.worker.ts), and the page queues for the same lock: the
 *  browser grants it to the page exactly when the worker is gone. Unlike a heartbeat this never
 *  mistakes a worker busy in a long synchronous kernel for a dead one, and it costs nothing
 *  while the worker lives. An uncaught error inside the worker (the Worker's `error` event)
 *  leaves its state unknown, so it counts as an exit too. */
export function createEngineClient(): EngineClient {
  const listeners = new Set<(e: FromWorker) => void>()
  const exitListeners = new Set<(why: 'ended' | 'error') => void>()
  const emit = (e: FromWorker) => listeners.forEach((l) => l(e))
  let worker: Worker
  let generation = 0
  let watching: AbortController | null = null

  const exited = (gen: number, why: 'ended' | 'error') => {
    if (gen !== generation) return // an old worker, or one the page ended itself
    generation++ // report each worker's end once
    watching?.abort()
    exitListeners.forEach((l) => l(why))
  }

  const watchLiveness = async (name: string, gen: number, signal: AbortSignal) => {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
    if (!locks) return // no Web Locks: only the error event is seen
    try {
      // Queue only once the worker holds its lock, or the page would be granted it first.
      for (let i = 0; !(await locks.query()).held?.some((l) => l.name === name); i++) {
        if (signal.aborted || i > 600) return
        await new Promise((r) => setTimeout(r, 100))
      }
      await locks.request(name, { signal }, async () => exited(gen, 'ended'))
    } catch {
      // aborted: the page restarted or ended this worker on purpose
    }
  }

  const start = () => {
    const gen = ++generation
    const name = `training-engine-${gen}-${Math.random().toString(36).slice(2, 10)}${cpuModeSuffix()}`
    worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name })
    worker.onmessage = (m: MessageEvent<FromWorker>) => emit(m.data)
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault()
      console.error('Training worker error:', e.message) // for developers; the page says it in words
      exited(gen, 'error')
    }
    worker.onmessageerror = () => emit({ type: 'error', message: 'A message from the training worker could not be read.', where: 'worker' })
    watching = new AbortController()
    void watchLiveness(name, gen, watching.signal)
  }
  const end = () => {
    generation++
    watching?.abort()
    worker.terminate()
  }
  start()
  return {
    send: (msg) => worker.postMessage(msg),
    on(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    onExit(listener) {
      exitListeners.add(listener)
      return () => exitListeners.delete(listener)
    },
    restart() {
      end()
      start()
    },
    terminate: end,
  }
}

/** For comparisons only (bench/, e2e/): localStorage "studio.cpu" = "threads" or "one" asks the
 *  worker for XNNPACK's threads or a single thread instead of engine workers ("steps": workers
 *  that split the training steps only) (worker/backendEnvironment.ts, CpuMode), and
 *  "studio.workers" = N for N engine workers instead of the cores' count (engineWorkersFor);
 *  the worker reads them from its name. */
function cpuModeSuffix(): string {
  try {
    const mode = globalThis.localStorage?.getItem('studio.cpu')
    const workers = globalThis.localStorage?.getItem('studio.workers')
    const asked = workers && /^\d{1,2}$/.test(workers) ? `;workers=${workers}` : ''
    return (mode === 'threads' || mode === 'one' || mode === 'workers' || mode === 'steps' ? `;cpu=${mode}` : '') + asked
  } catch {
    return '' // storage blocked: the default
  }
}
