/** The training worker's side of the second engine worker (gradientWorker.ts): requests and
 *  answers as messages, buffers transferred, a dead worker turned into a worded error for
 *  every request waiting on it (engine/train/dataParallel.ts then computes its halves here).
 *  A worker that ends without an error event (closed, killed) is seen as worker/client.ts sees
 *  the training worker end: it holds a Web Lock named after itself for its whole life, and
 *  this side queues for that lock. */
import { halfTransfer, inferTransfer, setupTransfer } from '../engine/train/dataParallel'
import type { GradientPeer, HalfRequest, HalfResult, InferRequest, InferResult, ReplicaSetup } from '../engine/train/dataParallel'

export type ToGradientWorker =
  | { id: number; type: 'warm' }
  | { id: number; type: 'setup'; setup: ReplicaSetup }
  | { id: number; type: 'half'; request: HalfRequest }
  | { id: number; type: 'infer'; request: InferRequest }
export type FromGradientWorker = { id: number; ok: true; result?: HalfResult | InferResult } | { id: number; ok: false; message: string }
type Answer = HalfResult | InferResult | undefined

export class WorkerGradientPeer implements GradientPeer {
  private worker: Worker | null = null
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (r: Answer) => void; reject: (e: Error) => void }>()

  private watching: AbortController | null = null

  /** `who`: the worker in the page's words, as its errors name it. */
  constructor(
    private readonly spawn: (name: string) => Worker,
    private readonly who = 'The second training worker',
  ) {}

  private ensure(): Worker {
    if (this.worker) return this.worker
    const name = `training-engine-gradients-${Math.random().toString(36).slice(2, 10)}`
    const w = this.spawn(name)
    w.onmessage = (m: MessageEvent<FromGradientWorker>) => {
      const p = this.pending.get(m.data.id)
      if (!p) return
      this.pending.delete(m.data.id)
      if (m.data.ok) p.resolve(m.data.result)
      else p.reject(new Error(`${this.who} failed (${m.data.message})`))
    }
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault()
      console.error('Second training worker error:', e.message) // for developers; the run's end message says it in words
      this.fail(`${this.who} stopped on an error`)
    }
    w.onmessageerror = () => this.fail(`${this.who} sent a message that could not be read`)
    this.worker = w
    this.watching = new AbortController()
    void this.watch(name, w, this.watching.signal)
    return w
  }

  private async watch(name: string, w: Worker, signal: AbortSignal): Promise<void> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
    if (!locks) return // no Web Locks: only the error event is seen
    try {
      // Queue only once the worker holds its lock, or this side would be granted it first.
      for (let i = 0; !(await locks.query()).held?.some((l) => l.name === name); i++) {
        if (signal.aborted || i > 600) return
        await new Promise((r) => setTimeout(r, 50))
      }
      await locks.request(name, { signal }, async () => {
        if (this.worker === w) this.fail(`${this.who} ended`)
      })
    } catch {
      // aborted: this side ended the worker on purpose
    }
  }

  /** Every waiting request fails with `why`; the next request starts a fresh worker. */
  private fail(why: string): void {
    this.watching?.abort()
    this.watching = null
    this.worker?.terminate()
    this.worker = null
    const waiting = [...this.pending.values()]
    this.pending.clear()
    for (const p of waiting) p.reject(new Error(why))
  }

  private call(msg: ToGradientWorker, transfer: ArrayBuffer[]): Promise<Answer> {
    const w = this.ensure()
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject })
      w.postMessage(msg, transfer)
    })
  }

  /** Starts the worker and its WebAssembly backend now (the page has just chosen wasm), so the
   *  first run's first step does not wait for them. */
  warm(): void {
    this.call({ id: this.nextId++, type: 'warm' }, []).catch(() => {}) // a failure shows at the run's first request
  }

  // Each request's batch is copied: if this worker fails, the loop computes the same half itself
  // from it. The weights of a setup, a half and an inference pass are transferred (setupTransfer,
  // halfTransfer, inferTransfer): the loop's replica is set up from the loop's own variables
  // then, and copying 4 MB (tiny-lm) a step cost the loop about 7 ms in Chromium
  // (bench/dataParallelBrowser.mjs' timeline).
  async setup(setup: ReplicaSetup): Promise<void> {
    await this.call({ id: this.nextId++, type: 'setup', setup }, setupTransfer(setup))
  }

  async half(request: HalfRequest): Promise<HalfResult> {
    const r = await this.call({ id: this.nextId++, type: 'half', request }, halfTransfer(request))
    if (!r || !('grads' in r)) throw new Error(`${this.who} answered without gradients`)
    return r
  }

  async infer(request: InferRequest): Promise<InferResult> {
    const r = await this.call({ id: this.nextId++, type: 'infer', request }, inferTransfer(request))
    if (!r || !('data' in r)) throw new Error(`${this.who} answered without its share of the pass`)
    return r
  }

  /** Ends the second worker (the training worker is ending, or a test is done). */
  close(): void {
    this.fail(`${this.who} was closed`)
  }
}

/** How the errors of engine worker `index` (from 1: the training worker is 0) of `workers` name it. */
export function workerWords(index: number, workers: number): string {
  return workers <= 2 ? 'The second training worker' : `Training worker ${index + 1} of ${workers}`
}

/** Another engine worker of the built app (Vite bundles gradientWorker.ts for it). */
export function spawnGradientWorker(name: string): Worker {
  return new Worker(new URL('./gradientWorker.ts', import.meta.url), { type: 'module', name })
}
