/** The training worker's side of the second engine worker (gradientWorker.ts): requests and
 *  answers as messages, buffers transferred, a dead worker turned into a worded error for
 *  every request waiting on it (engine/train/dataParallel.ts then computes its halves here). */
import type { GradientPeer, HalfRequest, HalfResult, ReplicaSetup } from '../engine/train/dataParallel'

export type ToGradientWorker = { id: number; type: 'setup'; setup: ReplicaSetup } | { id: number; type: 'half'; request: HalfRequest }
export type FromGradientWorker = { id: number; ok: true; result?: HalfResult } | { id: number; ok: false; message: string }

export class WorkerGradientPeer implements GradientPeer {
  private worker: Worker | null = null
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (r: HalfResult | undefined) => void; reject: (e: Error) => void }>()

  constructor(private readonly spawn: () => Worker) {}

  private ensure(): Worker {
    if (this.worker) return this.worker
    const w = this.spawn()
    w.onmessage = (m: MessageEvent<FromGradientWorker>) => {
      const p = this.pending.get(m.data.id)
      if (!p) return
      this.pending.delete(m.data.id)
      if (m.data.ok) p.resolve(m.data.result)
      else p.reject(new Error(`The second training worker failed: ${m.data.message}`))
    }
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault()
      this.fail(`The second training worker stopped (${e.message || 'it ended without a message'})`)
    }
    w.onmessageerror = () => this.fail('The second training worker sent a message that could not be read')
    this.worker = w
    return w
  }

  /** Every waiting request fails with `why`; the next request starts a fresh worker. */
  private fail(why: string): void {
    this.worker?.terminate()
    this.worker = null
    const waiting = [...this.pending.values()]
    this.pending.clear()
    for (const p of waiting) p.reject(new Error(why))
  }

  private call(msg: ToGradientWorker, transfer: ArrayBuffer[]): Promise<HalfResult | undefined> {
    const w = this.ensure()
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject })
      w.postMessage(msg, transfer)
    })
  }

  async setup(setup: ReplicaSetup): Promise<void> {
    await this.call({ id: this.nextId++, type: 'setup', setup }, setup.weights.map((w) => w.data.buffer as ArrayBuffer))
  }

  async half(request: HalfRequest): Promise<HalfResult> {
    const transfer = [...request.weights.map((w) => w.data.buffer), ...Object.values(request.batch).map((t) => t.data.buffer)] as ArrayBuffer[]
    const r = await this.call({ id: this.nextId++, type: 'half', request }, transfer)
    if (!r) throw new Error('The second training worker answered without gradients')
    return r
  }

  /** Ends the second worker (the training worker is ending, or a test is done). */
  close(): void {
    this.fail('The second training worker was closed')
  }
}

/** The second engine worker of the built app (Vite bundles gradientWorker.ts for it). */
export function spawnGradientWorker(): Worker {
  return new Worker(new URL('./gradientWorker.ts', import.meta.url), { type: 'module', name: 'training-engine-gradients' })
}
