import * as tf from '@tensorflow/tfjs'

/**
 * Step losses on their way back from the device, read without stalling it.
 *
 * A blocking read per step drains a GPU backend's queue: JS cannot build the next step while
 * the device runs the last one (LoRA on WebGL/WebGPU ran 1.18× a lean loop that way, with
 * the same kernels per step). Here each group of steps' losses is stacked on the device and
 * read with one asynchronous `data()`, and the loop waits only when more than
 * GROUPS_IN_FLIGHT groups are unread. Groups hold about a quarter second of steps, so charts
 * and pause/stop lag the device by little, and a fast step does not pay a read of its own.
 */

export interface StepInfo {
  examples: number
  lr: number
  step: number // 1-based step number
  st: number // step within the epoch
}

export interface ReadStep extends StepInfo {
  loss: number
}

/** Most steps in one read: divergence is caught within (GROUPS_IN_FLIGHT + 1) × this. */
export const MAX_GROUP = 8
const GROUPS_IN_FLIGHT = 2

/** Steps per read for a measured step time (1 before one is known, or for slow steps). */
export function groupSize(secPerStep: number): number {
  if (!(secPerStep > 0)) return 1
  return Math.max(1, Math.min(MAX_GROUP, Math.ceil(0.25 / secPerStep)))
}

interface Group {
  read: Promise<void>
  done: boolean
  steps: ReadStep[]
}

export class LossReader {
  private filling: { loss: tf.Tensor | number; info: StepInfo }[] = []
  private groups: Group[] = []

  /** Queues a step's loss: a device scalar (owned by the reader from now on) or a number
   *  already read (accumulated micro-batches). `last` closes the group (epoch end). */
  push(loss: tf.Tensor | number, info: StepInfo, secPerStep: number, last = false): void {
    this.filling.push({ loss, info })
    if (last || this.filling.length >= groupSize(secPerStep)) this.seal()
  }

  /** Whether take(mode) has anything to do now: a read has landed, too many are in flight,
   *  or ('all') anything is queued. Saves an await per step when nothing is due. */
  due(mode: 'ready' | 'all'): boolean {
    if (mode === 'all') return this.filling.length > 0 || this.groups.length > 0
    const first = this.groups[0]
    return !!first && (first.done || this.groups.length > GROUPS_IN_FLIGHT)
  }

  /** Steps read so far, in order. 'ready' waits only while more than GROUPS_IN_FLIGHT groups
   *  are unread; 'all' closes the open group and waits for every queued step. */
  async take(mode: 'ready' | 'all'): Promise<ReadStep[]> {
    if (mode === 'all') this.seal()
    const out: ReadStep[] = []
    while (this.groups.length) {
      const g = this.groups[0]!
      if (!g.done) {
        if (mode === 'ready' && this.groups.length <= GROUPS_IN_FLIGHT) break
        await g.read
      }
      this.groups.shift()
      out.push(...g.steps)
    }
    return out
  }

  /** Frees what will never be read (a stop or a divergence) and waits for reads in flight,
   *  which dispose their own tensors. */
  async dispose(): Promise<void> {
    tf.dispose(this.filling.flatMap((x) => (typeof x.loss === 'number' ? [] : [x.loss])))
    this.filling = []
    const reads = this.groups.map((g) => g.read)
    this.groups = []
    await Promise.allSettled(reads)
  }

  private seal(): void {
    const items = this.filling
    this.filling = []
    if (!items.length) return
    const steps: ReadStep[] = items.map((x) => ({ ...x.info, loss: typeof x.loss === 'number' ? x.loss : NaN }))
    const tensors = items.flatMap((x) => (typeof x.loss === 'number' ? [] : [x.loss]))
    const g: Group = { read: Promise.resolve(), done: tensors.length === 0, steps }
    if (tensors.length) {
      const stacked = tensors.length === 1 ? tensors[0]! : tf.stack(tensors) // scalars → [n]
      if (tensors.length > 1) tf.dispose(tensors)
      g.read = stacked
        .data()
        .then((values) => {
          let k = 0
          items.forEach((x, i) => {
            if (typeof x.loss !== 'number') steps[i]!.loss = values[k++] ?? NaN
          })
          g.done = true
        })
        .finally(() => stacked.dispose())
      g.read.catch(() => {}) // a failed read is rethrown where it is awaited, not reported as unhandled
    }
    this.groups.push(g)
  }
}
