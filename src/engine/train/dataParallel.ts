/**
 * Data parallelism on the CPU: other engine workers (each a "replica") compute the gradients of
 * their shares of every micro-batch while the training loop computes its own, so a machine
 * without a GPU uses its cores: on 2 cores a second worker and half of every batch each
 * (described below as halves); with more workers (worker/backendEnvironment.ts
 * engineWorkersFor) the rows are shared in order as evenly as they go (shareRows.ts), the other
 * workers' gradients averaged here by their rows before the same combine, each worker with its
 * own dropout seed, gradient region and failure handling (`Slot`); a worker that sat out a
 * batch (fewer rows than workers) is given every weight with its next request, and a batch of
 * one row stays here whole. WebAssembly threads could not do it: XNNPACK's pool
 * splits single operations, and on the built-in models most operations are too small for
 * that (README "Benchmarks"); two whole training steps on half the rows each are not.
 * The run's inference passes (the feature cache's frozen blocks, the zero-shot baseline, every
 * evaluation) are halved the same way (`post`, inferencePasses.ts), head-only runs' included.
 *
 * How the numbers stay those of one worker:
 * - the loop builds the full batch as it always does (gathered rows, cached prefix
 *   activations, augmented images) and splits every tensor of it by rows: the first
 *   ceil(n/2) rows here, the rest to the replica;
 * - the tasks split here take the mean over rows (classification, regression), so the
 *   full batch's mean gradient is each half's mean gradient weighted by its rows:
 *   g = (g₀·n₀ + g₁·n₁)/n, and the loss likewise; only the summation order differs from one
 *   worker (float rounding);
 * - one optimizer, here: the replica holds no optimizer state; it receives the weights the
 *   last update changed before its next half (only those), so it always differentiates the
 *   weights the loop has;
 * - each half draws its own dropout masks from its own seed (`halfSeed`): with dropout on a
 *   run is repeatable but draws other masks than one worker would.
 * If the replica fails, its half is computed here from then on with the same seed, so the
 * run goes on with the same numbers, on one core (`onPeerLost` says so). If this worker's own half
 * fails (out of memory, a shape error), the step's error goes on only once the replica's answer
 * is in, its arrays back in the pools (`settleAbandoned`); the answer itself is dropped.
 *
 * Where SharedArrayBuffer is available (the app's page is cross-origin isolated; Node), the changed
 * weights and the replica's gradients travel in two regions of one SharedArrayBuffer that both
 * workers hold (`sharedExchange`): the messages carry views of it, nothing is copied or transferred
 * but the batch. Elsewhere they travel in arrays transferred with each message and handed back.
 *
 * The transport is the caller's (GradientPeer): a nested Web Worker in the app
 * (worker/gradientWorker.ts), the replica itself in one thread in tests.
 */
import * as tf from '@tensorflow/tfjs'
import type { Settings } from '../../settings/types'
import type { Body } from '../models/body'
import { TinyCnn, type TinyCnnConfig } from '../models/tinyCnn'
import { TinyGpt, type TinyGptConfig } from '../models/tinyGpt'
import { classification } from '../tasks/classification'
import { regression } from '../tasks/regression'
import type { Task } from '../tasks/task'
import { FeatureCache } from './featureCache'
import { joinOutputs, passRows, runPass, splitPass, tensorData, type InferPass, type PassOutput, type PassSplit } from './inferencePasses'
import { shareSizes, splitRows } from './shareRows'
import { Tuning } from './fineTune'
import type { Batch, Cache } from './forward'
import { stableNames } from './loopState'
import { microBatchSeed } from './seeds'
import { benchSwitch } from '../benchSwitches'
import { fusedBackend, runCombineHalves } from './fusedUpdate'

/** A weight by its stable name (loopState.stableNames: body/… and tuning/…). */
export interface NamedWeight {
  name: string
  shape: number[]
  data: Float32Array
}

export interface TensorData {
  shape: number[]
  dtype: 'float32' | 'int32'
  data: Float32Array | Int32Array
}

export type ReplicaBody = { kind: 'tiny-gpt'; config: TinyGptConfig } | { kind: 'tiny-cnn'; config: TinyCnnConfig }

/** Everything the replica needs once per run: the model's shape and every weight the loop's
 *  model and tuning pieces hold, the run's settings and its task. */
export interface ReplicaSetup {
  body: ReplicaBody
  settings: Settings
  need: number | 'regression'
  task: SplitTask
  weights: NamedWeight[]
}

/** One half: the weights changed since the last half, which weights to differentiate (in
 *  order), the half batch's tensors, the loop's cache plan (which blocks the inputs skip) and
 *  the half's dropout seed. */
export interface HalfRequest {
  weights: NamedWeight[]
  vars: string[]
  batch: Record<string, TensorData>
  cache: { prefixBlocks: number; pooled: boolean }
  seed: string
  /** The previous answer's gradient array, given back (transferred) for this half's gradients,
   *  so the replica writes into memory it has used before instead of a fresh array every half
   *  (wasm only: `pooledArrays`). */
  gradBuffer?: Float32Array
}

export interface HalfResult {
  loss: number
  /** The gradients of `vars`, in order, one after the other. */
  grads: Float32Array
  /** The replica's tensor count after the half: flat from step to step. */
  tensors: number
  /** The request's weights' array, whole, given back (transferred) once they were assigned, for
   *  the loop's next changed weights (wasm only: `pooledArrays`). */
  weightBuffer?: Float32Array
  /** When the replica's phases of this half ended (the bench's timeline). */
  timing?: HalfTiming
}

/** Wall clock in ms that two workers share (each worker's performance.now() has its own origin). */
export const clock = (): number => performance.timeOrigin + performance.now()

/** The replica's half, phase by phase: when each ended (clock()). */
export interface HalfTiming {
  /** The request arrived (the worker's message handler ran). */
  received: number
  /** The changed weights were assigned. */
  assigned: number
  /** The half batch was uploaded as tensors. */
  uploaded: number
  /** Forward and backward ran. */
  computed: number
  /** The gradients were read out into one array. */
  readOut: number
}

/** One split micro-batch on the loop's side (clock() times), for the bench's per-step timeline:
 *  the loop's own phases in order, and the replica's. */
export interface StepTiming {
  /** The previous split micro-batch returned (null on the first): the gap to `start` is the
   *  optimizer, the loss reads and the loop's other work between steps. */
  prevEnd: number | null
  /** The loop marked the weights changed after the previous one (its optimizer ended), or null. */
  updated: number | null
  start: number
  /** The batch was built (augmentation, gathering, cached prefix) and split. */
  split: number
  /** The replica's half batch and the changed weights were copied out for the message. */
  serialized: number
  /** The request was handed to the peer (a worker message: structured clone). */
  posted: number
  /** A task boundary later (nextTask): the request has left. */
  yielded: number
  /** Halves built apart (HalvesApart): this worker's own half was built, after posting. */
  ownBuilt?: number
  /** This half's forward and backward ran. */
  mine: number
  /** The replica's answer arrived here. */
  answered: number
  /** The two halves were combined. */
  combined: number
  rows: [number, number]
  /** With more than two workers: every share's rows, this worker's first (`rows` is then this
   *  worker's and the others' together). */
  shares?: number[]
  /** Bytes of weights and batch sent, of gradients received. */
  weightBytes: number
  batchBytes: number
  gradBytes: number
  /** Arrays used again (pooledArrays): the request gave back the last answer's gradient array,
   *  the answer gave back the weights' array. */
  handedBack: { grads: boolean; weights: boolean }
  /** The changed weights (if any) and the gradients travelled in the SharedArrayBuffer's regions
   *  (sharedExchange), not in transferred arrays. */
  shared: boolean
  replica: HalfTiming | null
}

/** The last split micro-batches of any run in this worker (at most 400), oldest first: the
 *  bench reads them (in the page through worker/benchReadouts.ts, not in the production build). */
export const recentSteps: StepTiming[] = []

/** One inference pass on the replica's half of some rows (inferencePasses.ts), with the
 *  weights changed since the last request, so it reads the weights the loop has. */
export interface InferRequest {
  weights: NamedWeight[]
  pass: InferPass
}

export interface InferResult {
  /** The pass's output, rows first. */
  shape: number[]
  data: Float32Array
  tensors: number
  /** As HalfResult.weightBuffer: the request's weights' array given back once assigned. */
  weightBuffer?: Float32Array
}

/** How the loop reaches the replica: a worker in the app, a direct call in tests. */
export interface GradientPeer {
  setup(s: ReplicaSetup): Promise<void>
  half(r: HalfRequest): Promise<HalfResult>
  infer(r: InferRequest): Promise<InferResult>
  /** Starts whatever the replica needs before its first setup (a worker, its backend), so a
   *  run's first step does not wait for it. */
  warm?(): void
}

const SPLIT_TASKS = { classification, regression } as const
export type SplitTask = keyof typeof SPLIT_TASKS

/** The bench's switch back to the transport as it was before the timeline (request copied, not
 *  transferred; the halves posted without a task boundary; the combine always rows-weighted;
 *  and no decoded image rows kept: train/imageBatches.ts), set on globalThis in the training
 *  worker to measure before and after in one run. Not a setting: nothing in the studio sets it. */
export function legacyTransport(): boolean {
  return benchSwitch.legacyTransport
}

/** Whether an array is a view of a SharedArrayBuffer (shared by a message, never transferred). */
function onShared(a: ArrayBufferView | undefined): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && a !== undefined && a.buffer instanceof SharedArrayBuffer
}
/** The buffers of `arrays` that a message may transfer: each once, none empty (already
 *  transferred), none shared (a SharedArrayBuffer cannot be transferred: the message shares it). */
function transferable(arrays: readonly ArrayBufferView[]): ArrayBuffer[] {
  return [...new Set(arrays.filter((a) => !onShared(a) && a.buffer.byteLength > 0).map((a) => a.buffer as ArrayBuffer))]
}

/** Whether the two workers' changed weights and gradients travel in regions of one
 *  SharedArrayBuffer both hold (the loop makes it with the first request that needs it; each
 *  message carries views of it): where arrays are handed back at all (pooledArrays: wasm), where
 *  SharedArrayBuffer exists (a cross-origin isolated page, Node), unless the bench switch puts the
 *  transferred arrays back (benchSwitch.transferredArrays). The loop writes a region only when
 *  no request that reads it is unanswered: the replica reads the weights before it answers, and
 *  writes the gradients only between a request and its answer. */
export function sharedExchange(): boolean {
  return pooledArrays() && !benchSwitch.transferredArrays && typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false
}

/** What a worker message carrying `r` may transfer instead of copying: the changed weights'
 *  buffers (the loop made them for this request alone: a lost replica's half is recomputed here
 *  from a replica set up from the loop's own variables, never from these buffers) and the
 *  gradient array given back. The batch is copied: it is small, and a lost replica's half reads
 *  it again here. */
export function halfTransfer(r: HalfRequest): ArrayBuffer[] {
  if (legacyTransport()) return []
  return transferable([...r.weights.map((w) => w.data), ...(r.gradBuffer ? [r.gradBuffer] : [])])
}

/** What the replica's answer to a half may transfer: its gradients' buffer and the weights'
 *  array it gives back (neither is read on its side after the answer). */
export function halfResultTransfer(r: HalfResult): ArrayBuffer[] {
  return transferable([r.grads, ...(r.weightBuffer ? [r.weightBuffer] : [])])
}

/** What a worker message carrying a replica's setup may transfer: every weight's buffer. */
export function setupTransfer(s: ReplicaSetup): ArrayBuffer[] {
  if (legacyTransport()) return []
  return transferable(s.weights.map((w) => w.data))
}

/** What a worker message carrying an inference request may transfer: its weights' buffers, as
 *  `halfTransfer` (the pass's rows are copied: a lost worker's pass reads them again here). */
export function inferTransfer(r: InferRequest): ArrayBuffer[] {
  if (legacyTransport()) return []
  return transferable(r.weights.map((w) => w.data))
}

/** Resolves in a new task (not a microtask): whatever this thread queued, a worker message
 *  included, goes out first. A MessageChannel, not setTimeout (clamped to 4 ms when nested). */
export function nextTask(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0))
  return new Promise((resolve) => {
    const ch = new MessageChannel()
    ch.port1.onmessage = () => {
      ch.port1.close()
      resolve()
    }
    ch.port2.postMessage(null)
  })
}

/** The dropout seed of share `share` (0: this worker, k: the k-th other worker) of micro-batch
 *  `micro`; with two workers the halves'. */
export function halfSeed(seed: number, step: number, micro: number, share: number): string {
  return `${microBatchSeed(seed, step, micro)}|half${share}`
}

function replicaBody(model: Body): ReplicaBody | null {
  if (model.constructor === TinyGpt) return { kind: 'tiny-gpt', config: (model as TinyGpt).config }
  if (model.constructor === TinyCnn) return { kind: 'tiny-cnn', config: (model as TinyCnn).config }
  return null
}

/** Why a run's training steps cannot be split over two workers, or null when they can: the
 *  built-in model kinds (a replica is rebuilt from their config), full fine-tuning, freeze and
 *  LoRA (head-only steps take a millisecond), tasks whose loss is a mean over rows, batches of
 *  2 or more. */
export function whyNotSplit(model: Body, tuning: Tuning, s: Settings, task: Task): string | null {
  const passes = whyNotSplitPasses(model, tuning, s, task)
  if (passes) return passes
  if (s.method === 'head') return 'head runs train on one worker'
  if (s.batchSize < 2) return 'a batch of one cannot be split'
  return null
}

/** Why a run's inference passes (inferencePasses.ts) cannot be halved between two workers, or
 *  null: as its steps, but head-only runs too (their cache pass runs the whole model once a row,
 *  most of such a run) and a batch of one (a pass has many rows). */
export function whyNotSplitPasses(model: Body, tuning: Tuning, s: Settings, task: Task): string | null {
  if (!replicaBody(model)) return 'only the built-in text transformer and image CNN are split'
  if (s.method !== 'full' && s.method !== 'freeze' && s.method !== 'lora' && s.method !== 'head') return `${s.method} runs train on one worker`
  if (tuning.multi || !(task.name in SPLIT_TASKS)) return `${task.name} trains on one worker`
  return null
}

function rowsOf(t: tf.Tensor, from: number, n: number): tf.Tensor {
  return tf.slice(t, [from, ...t.shape.slice(1).map(() => 0)], [n, ...t.shape.slice(1)])
}

/** Every tensor of a batch, rows [from, from + n). */
export function sliceBatch(b: Batch, from: number, n: number): Batch {
  const out: Record<string, tf.Tensor> = {}
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue
    if (!(v instanceof tf.Tensor)) throw new Error(`A batch field (${k}) that is not one tensor cannot be split`)
    out[k] = rowsOf(v, from, n)
  }
  return out as unknown as Batch
}

async function namedWeight(v: tf.Variable, name: string): Promise<NamedWeight> {
  const data = (await v.data()) as Float32Array
  // The wasm backend reads into a fresh array (a slice of its heap), whole: ours to transfer.
  // Other backends may hand out their own storage: copied.
  const own = tf.getBackend() === 'wasm' && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
  return { name, shape: [...v.shape], data: own ? data : data.slice() }
}

/** Whether arrays that carried weights or gradients between the workers are used again for the
 *  next ones (HalfRequest.gradBuffer, HalfResult.weightBuffer): only where `tf.tensor(array)`
 *  copies the array into the backend's own memory (wasm), never where a tensor may keep the
 *  array itself as its storage (the cpu backend does), so a given-back array holds nothing any
 *  tensor reads. Off with the bench's switch back to the copies (benchSwitch.tensorCopies). */
export function pooledArrays(): boolean {
  return tf.getBackend() === 'wasm' && !benchSwitch.tensorCopies && !legacyTransport()
}

interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array
  dataIdMap: { get(dataId: tf.DataId): unknown }
}

/** Copies float32 tensors' values one after the other into `out` from element 0 (`out` at least
 *  their total size). On wasm straight from the backend's memory, one copy a tensor and no array
 *  made in between (tfjs-wasm's data() slices a fresh array out of the heap per tensor: 5 ms for
 *  tiny-lm's 4.3 MB of gradients in the page, about 0.15 ms this way); elsewhere dataSync(). */
export function readFloatsInto(ts: readonly tf.Tensor[], out: Float32Array): void {
  const be = tf.getBackend() === 'wasm' ? (tf.backend() as unknown as Partial<HeapBackend>) : null
  let o = 0
  for (const t of ts) {
    if (t.dtype !== 'float32') throw new Error(`A ${t.dtype} tensor where float32 values were expected`)
    if (o + t.size > out.length) throw new Error('The array for the values is too short')
    // One heap view at a time, used at once: nothing here allocates on the heap, so no view
    // outlives a heap growth.
    const onHeap = be?.typedArrayFromHeap && be.dataIdMap?.get(t.dataId) !== undefined
    out.set(onHeap ? be.typedArrayFromHeap!(t) : (t.dataSync() as Float32Array), o)
    o += t.size
  }
}

/** A split step's shares built apart from the batch's rows (fineTune.ts, when no cache or
 *  augmentation needs the whole batch built at once): `mine(n0)` this worker's share, rows
 *  [0, n0), as tensors (called inside tf.tidy); `theirs(n0)` the other workers' rows
 *  [n0, rows), as host arrays (batchSource.ts hostBatchData), or null when they cannot be (the
 *  whole batch is then built and split as before). */
export interface HalvesApart {
  rows: number
  mine: (n0: number) => Batch
  theirs: (n0: number) => Record<string, TensorData> | null
}

/** One other engine worker of a split: its peer, whether it failed, the weights it holds. */
interface Slot {
  readonly peer: GradientPeer
  /** 1 for the first other worker: share 0 of every batch is the loop's own. */
  readonly share: number
  lost: string | null
  /** The weights version (DataParallel's `version`) its replica holds; -1 before its setup. */
  version: number
  /** The last answer's gradient array, done with here: given back with its next request. */
  gradBuffer: Float32Array | null
}

/** Weights for one worker's request: `shared` when they are views of the shared weights region. */
interface WeightsOut {
  weights: NamedWeight[]
  shared: boolean
}

/** The training loop's side: splits each micro-batch among itself and the other workers, sends
 *  each its share, combines; and sends each its share of the rows of the run's inference passes
 *  (`post`). With one other worker the shares are the halves described above. */
export class DataParallel implements PassSplit {
  private readonly names: Map<tf.Variable, string>
  private readonly dirty = new Set<tf.Variable>()
  private readonly slots: Slot[]
  private started = false
  /** Counts the changes of weights: each time the loop's changed weights are gathered. */
  private version = 0
  /** The weights changed since `version - 1`, gathered once for every worker that needs them
   *  (`handed`: the arrays went to one worker already, which may transfer them: others copy). */
  private changed: { version: number; weights: NamedWeight[]; shared: boolean; handed: boolean } | null = null
  /** The other workers' last tensor count (tests watch it stay flat). */
  replicaTensors = 0
  /** Whether the training steps are split too (`gradients`), or only the inference passes
   *  (a head-only run, a batch of one: whyNotSplit). */
  splitsSteps = true

  constructor(
    peers: GradientPeer | readonly GradientPeer[],
    private readonly model: Body,
    private readonly tuning: Tuning,
    private readonly s: Settings,
    private readonly task: SplitTask,
    private readonly need: number | 'regression',
    /** A worker failed: its shares are computed here from then on. `lost` of `workers` have. */
    private readonly onPeerLost?: (message: string, count?: { lost: number; workers: number }) => void,
    /** A replica, here: computes a lost worker's shares (the same code, the same numbers). */
    private readonly local = new GradientReplica(),
  ) {
    this.names = stableNames(model, tuning.parts)
    const list = Array.isArray(peers) ? (peers as readonly GradientPeer[]) : [peers as GradientPeer]
    if (list.length === 0) throw new Error('A split needs at least one other worker')
    this.slots = list.map((peer, i) => ({ peer, share: i + 1, lost: null, version: -1, gradBuffer: null }))
  }

  /** Engine workers the batches are shared among, this one included. */
  get workers(): number {
    return this.slots.length + 1
  }

  /** Whether shares still go to another worker (at least one has not failed). */
  get split(): boolean {
    return this.slots.some((s) => s.lost === null)
  }

  /** This worker's rows of an n-row batch or pass: the first share. */
  ownRows(n: number): number {
    return shareSizes(n, this.workers)[0]!
  }

  /** Weights the loop changed (an update, a restore): sent before the next share. */
  markDirty(vars: Iterable<tf.Variable>): void {
    for (const v of vars) this.dirty.add(v)
    this.dirtyAt = clock()
  }
  /** When the loop last marked weights changed: after an update, the end of its optimizer. */
  private dirtyAt: number | null = null

  private async setupOf(): Promise<ReplicaSetup> {
    const weights: NamedWeight[] = []
    for (const [v, name] of this.names) weights.push(await namedWeight(v, name))
    return { body: replicaBody(this.model)!, settings: this.s, need: this.need, task: this.task, weights }
  }

  private lose(slot: Slot, e: unknown): void {
    slot.lost = e instanceof Error ? e.message : String(e)
    const lost = this.slots.filter((s) => s.lost !== null).length
    this.onPeerLost?.(slot.lost, { lost, workers: this.workers })
  }

  /** `ask` of the slot's worker with the weights it lacks, or, once that worker failed, of the
   *  replica here (set up from the loop's variables the first time). A request that fails
   *  marks the worker lost and is asked here instead, unless nobody will read its answer
   *  (`wanted`: the loop's own share failed), when it fails with it. */
  private async toSlot<T>(slot: Slot, ask: (p: GradientPeer, weights: NamedWeight[]) => Promise<T>, wanted: () => boolean = () => true): Promise<T> {
    if (slot.lost === null) {
      const out = this.weightsFor(slot)
      try {
        return await this.counted(out, () => ask(slot.peer, out.weights))
      } catch (e) {
        this.lose(slot, e)
        // Nothing will read this answer (the loop's own share failed): no replica set up here for it.
        if (!wanted()) throw e
      }
    }
    return this.onLocal(ask)
  }
  /** Requests carrying views of the shared weights region that are not answered yet: the region
   *  is written again only when none is. */
  private sharedWeightsOut = 0
  private async counted<T>(out: WeightsOut, f: () => Promise<T>): Promise<T> {
    if (out.shared) this.sharedWeightsOut++
    try {
      return await f()
    } finally {
      if (out.shared) this.sharedWeightsOut--
    }
  }

  /** The replica here, for lost workers' shares: one request at a time, set up from the loop's
   *  variables on its first (the weights then current), given only the changes after. */
  private onLocal<T>(ask: (p: GradientPeer, weights: NamedWeight[]) => Promise<T>): Promise<T> {
    const run = this.localChain.then(async () => {
      if (this.localDest.version < 0) {
        await this.local.setup(await this.setupOf())
        this.localDest.version = this.version
      }
      const out = this.weightsFor(this.localDest)
      return this.counted(out, () => ask(this.local, out.weights))
    })
    this.localChain = run.catch(() => {})
    return run
  }
  private localChain: Promise<unknown> = Promise.resolve()
  private readonly localDest = { version: -1 }

  /** Sets every worker up on the first request (every weight); then gathers the weights changed
   *  since (a new version) into the shared weights region (sharedExchange) when no request that
   *  reads it is unanswered, else into an array of their own. */
  private async nextWeights(): Promise<void> {
    if (!this.started) {
      this.started = true
      // Each worker its own arrays (transferred to it: setupTransfer). A worker whose setup fails
      // is lost: its shares are computed here, by a replica set up from the loop's variables.
      await Promise.all(
        this.slots.map(async (slot) => {
          try {
            await slot.peer.setup(await this.setupOf())
            slot.version = this.version
          } catch (e) {
            this.lose(slot, e)
          }
        }),
      )
      this.dirty.clear()
    }
    const dirty = [...this.dirty]
    this.dirty.clear()
    if (dirty.length === 0) return // the array given back stays for the next changes
    this.version++
    if (!pooledArrays()) {
      const weights: NamedWeight[] = []
      for (const v of dirty) weights.push(await namedWeight(v, this.names.get(v)!))
      this.changed = { version: this.version, weights, shared: false, handed: false }
      return
    }
    // Every changed weight into one array, straight from the heap: an array a worker gave back
    // after its last share when one is long enough (transferred there and back: no fresh
    // 4.3 MB a step for tiny-lm), each weight a view of it (one buffer to transfer).
    const total = dirty.reduce((a, v) => a + v.size, 0)
    const region = this.sharedWeightsOut === 0 ? this.exchange()?.weights : undefined
    const all = region && region.length >= total ? region : this.spareArray(total)
    readFloatsInto(dirty, all)
    let o = 0
    const weights = dirty.map((v) => {
      const data = all.subarray(o, o + v.size)
      o += v.size
      return { name: this.names.get(v)!, shape: [...v.shape], data }
    })
    this.changed = { version: this.version, weights, shared: all === region, handed: false }
  }

  /** What a worker holding `dest.version` needs for the current weights: nothing; the last
   *  changes (the gathered arrays to the first worker, a copy to each other one: a worker may
   *  transfer them); or, for one that missed a change (a share of no rows, a replica set up
   *  since), every weight. The worker holds the current version after. */
  private weightsFor(dest: { version: number }): WeightsOut {
    const from = dest.version
    dest.version = this.version
    if (from === this.version) return { weights: [], shared: false }
    const c = this.changed
    if (c && c.version === this.version && from === this.version - 1) {
      if (c.shared) return { weights: c.weights, shared: true }
      // A worker may transfer its arrays: with two workers it takes the gathered ones (the
      // replica here takes over only from a fresh setup, needing none), with more each worker a
      // copy and the replica here the gathered ones.
      const mayTake = dest === this.localDest || this.slots.length === 1
      if (mayTake && !c.handed) {
        c.handed = true
        return { weights: c.weights, shared: false }
      }
      if (!c.weights.some((w) => w.data.buffer.byteLength === 0)) return { weights: this.copyOf(c.weights), shared: false }
    }
    return { weights: this.allWeights(), shared: false }
  }

  /** A copy of some weights, one array for all (from the pool of given-back arrays on wasm). */
  private copyOf(weights: readonly NamedWeight[]): NamedWeight[] {
    const total = weights.reduce((a, w) => a + w.data.length, 0)
    const all = pooledArrays() ? this.spareArray(total) : new Float32Array(total)
    let o = 0
    return weights.map((w) => {
      const data = all.subarray(o, o + w.data.length)
      data.set(w.data)
      o += w.data.length
      return { name: w.name, shape: [...w.shape], data }
    })
  }

  /** Every weight as it is now, in arrays of their own. */
  private allWeights(): NamedWeight[] {
    const vars = [...this.names.keys()]
    const total = vars.reduce((a, v) => a + v.size, 0)
    const all = new Float32Array(total)
    readFloatsInto(vars, all)
    let o = 0
    return vars.map((v) => {
      const data = all.subarray(o, o + v.size)
      o += v.size
      return { name: this.names.get(v)!, shape: [...v.shape], data }
    })
  }

  /** An array of at least `total` floats: one the workers gave back (pooledArrays), else new. */
  private spareArray(total: number): Float32Array {
    const i = this.weightPool.findIndex((a) => a.length >= total)
    if (i < 0) return new Float32Array(total)
    return this.weightPool.splice(i, 1)[0]!
  }
  /** An answer's given-back weights array, kept for the next changed weights (pooledArrays). */
  private keepWeightBuffer(b: Float32Array | undefined): void {
    if (!b || !pooledArrays() || this.weightPool.length >= this.workers) return
    this.weightPool.push(b)
  }
  /** Arrays given back after they carried weights (at most one a worker). */
  private readonly weightPool: Float32Array[] = []

  /** The SharedArrayBuffer's regions, each as long as all the run's weights together: the
   *  changed weights (one region all workers read), then one a worker for its gradients (made the
   *  first time; null without sharedExchange). */
  private exchange(): { weights: Float32Array; grads: Float32Array[] } | null {
    if (!sharedExchange()) return null
    if (!this.regions) {
      let total = 0
      for (const v of this.names.keys()) total += v.size
      const sab = new SharedArrayBuffer(4 * total * this.workers)
      this.regions = { weights: new Float32Array(sab, 0, total), grads: this.slots.map((_, i) => new Float32Array(sab, 4 * total * (i + 1), total)) }
    }
    return this.regions
  }
  private regions: { weights: Float32Array; grads: Float32Array[] } | null = null

  /** Where worker `slot` writes its gradients of `size` floats: its shared region, or the array
   *  its last answer brought (handed back), or nowhere given (it makes one). */
  private gradTarget(slot: Slot, size: number): Float32Array | undefined {
    const region = this.exchange()?.grads[slot.share - 1]
    if (region && region.length >= size) return region.subarray(0, size)
    const b = slot.gradBuffer
    slot.gradBuffer = null
    return b && b.length > 0 && pooledArrays() ? b : undefined
  }

  /** One inference pass on the other workers' rows of a pass (inferencePasses.ts; the rows after
   *  this worker's own share, shared among them in order), reading the weights the loop has now;
   *  a failed worker's share is computed here on the replica copy. Resolves once the requests have
   *  left this worker (PassSplit), with the outputs joined in row order. */
  async post(pass: InferPass, wanted: () => boolean = () => true): Promise<{ answer: Promise<PassOutput> }> {
    await this.nextWeights()
    const sizes = shareSizes(passRows(pass), this.slots.length)
    const parts = this.slots.length === 1 ? [pass] : splitPass(pass, sizes)
    // The weights go transferred (inferTransfer) or shared; a lost worker's share is recomputed
    // here by the replica, which is given what it lacks (weightsFor).
    const asked = this.slots.flatMap((slot, i) =>
      sizes[i]! > 0
        ? [
            this.toSlot(slot, (p, weights) => p.infer({ weights, pass: parts[i]! }), wanted).then((r) => {
              this.replicaTensors = r.tensors
              this.keepWeightBuffer(r.weightBuffer)
              return r
            }),
          ]
        : [],
    )
    const answer = Promise.all(asked).then(joinOutputs)
    answer.catch(() => {}) // awaited by the caller after its own share
    if (this.split) await nextTask()
    return { answer }
  }

  /**
   * The mean loss and gradients of `vars` over the whole micro-batch `makeBatch` builds
   * (called inside tf.tidy; its tensors are freed here), as one worker would compute them:
   * the first share here with `seeds[0]`, share k on worker k with `seeds[k]` (one seed a
   * worker: `workers`).
   */
  async gradients(vars: tf.Variable[], makeBatch: () => Batch, cache: Cache, seeds: readonly string[], apart?: HalvesApart): Promise<{ value: tf.Scalar; grads: tf.Tensor[] }> {
    if (seeds.length < this.workers) throw new Error(`${this.workers} workers need ${this.workers} dropout seeds, not ${seeds.length}`)
    const start = clock()
    let n = 0
    let n0 = 0
    let a: Batch | null = null
    // The other workers' rows from the host rows when the caller can build the shares apart:
    // nothing of them uploaded, sliced or read back here, and this worker's own share built only
    // after the requests have left (below), while the others compute. The same rows in order.
    const hostRest = apart && !legacyTransport() && !benchSwitch.wholeBatchSplit ? apart.theirs(this.ownRows(apart.rows)) : null
    let rest: Record<string, TensorData>
    let split: number
    if (hostRest) {
      n = apart!.rows
      n0 = this.ownRows(n)
      rest = hostRest
      split = clock()
    } else {
      const [a0, b] = tf.tidy(() => {
        const full = makeBatch()
        n = full.input.shape[0]!
        const h = this.ownRows(n)
        return [sliceBatch(full, 0, h), sliceBatch(full, h, n - h)] as unknown as tf.TensorContainer
      }) as unknown as [Batch, Batch]
      a = a0
      n0 = a0.input.shape[0]!
      split = clock()
      rest = {}
      try {
        for (const [k, t] of Object.entries(b)) if (t instanceof tf.Tensor) rest[k] = await tensorData(t)
      } catch (e) {
        tf.dispose(Object.values(a0) as tf.Tensor[])
        throw e
      } finally {
        tf.dispose(Object.values(b) as tf.Tensor[])
      }
    }
    const n1 = n - n0
    const sizes = shareSizes(n1, this.slots.length)
    const batches = this.slots.length === 1 ? [rest] : splitRows(rest, sizes)
    try {
      await this.nextWeights()
    } catch (e) {
      if (a) tf.dispose(Object.values(a) as tf.Tensor[])
      throw e
    }
    const gradSize = vars.reduce((s, v) => s + v.size, 0)
    const varNames = vars.map((v) => this.names.get(v)!)
    const plan = { prefixBlocks: cache.prefixBlocks, pooled: cache.pooled }
    // Each worker's request; the weights it lacks are added as it is sent (toSlot).
    const requests = this.slots.map((slot, i) => {
      const gradBuffer = sizes[i]! > 0 ? this.gradTarget(slot, gradSize) : undefined
      return { vars: varNames, batch: batches[i]!, cache: plan, seed: seeds[i + 1]!, ...(gradBuffer ? { gradBuffer } : {}) }
    })
    const sent: { weights: number; handedBack: boolean } = { weights: 0, handedBack: requests[0]?.gradBuffer !== undefined }
    const ask = (i: number) => (p: GradientPeer, weights: NamedWeight[]) => {
      if (i === 0) sent.weights = weights.reduce((s, w) => s + w.data.byteLength, 0) // before a transfer empties them
      return p.half({ ...requests[i]!, weights })
    }
    const serialized = clock()
    // Set when this share fails: the others' answers are then only waited for, never used.
    let abandoned = false
    // Posted before this share runs: the shares compute at the same time. A worker lost before
    // this step has its share computed here, after this worker's own.
    const answers: (Promise<HalfResult> | null)[] = this.slots.map((slot, i) => (sizes[i]! > 0 && slot.lost === null ? this.toSlot(slot, ask(i), () => !abandoned) : null))
    const posted = clock()
    let own: Batch | null = a
    let yielded: number
    let ownBuilt: number | undefined
    let mine: { value: tf.Scalar; grads: tf.Tensor[] }
    try {
      // A worker message leaves only when this thread's task ends: in Chromium the second worker
      // received the request after this half had run (the halves ran one after the other, the
      // bench's timeline showed). One task boundary here lets them go first.
      if (answers.some((x) => x !== null) && !legacyTransport()) await nextTask()
      yielded = clock()
      // Built apart: this worker's share uploaded only now, after the requests were posted.
      own ??= tf.tidy(() => apart!.mine(n0) as unknown as tf.TensorContainer) as unknown as Batch
      ownBuilt = a ? undefined : clock()
      const ownHalf = own
      mine = tf.tidy(() => {
        const r = tf.variableGrads(() => SPLIT_TASKS[this.task].loss(this.model, this.tuning, ownHalf, cache, this.s, true, seeds[0]!), vars)
        return { value: r.value, grads: vars.map((v) => r.grads[v.name]!) }
      })
    } catch (e) {
      // This share failed (out of memory, a shape error) with the others' requests out: their
      // answers are waited for before the error goes on, so the shared weights region is not
      // written while a worker may still read it, their arrays come back to the pools, and a
      // worker that fails meanwhile is not recomputed here for an answer nobody reads (nor after
      // the run has ended and its weights are gone).
      if (own) tf.dispose(Object.values(own) as tf.Tensor[])
      abandoned = true
      await this.settleAbandoned(answers)
      throw e
    }
    tf.dispose(Object.values(own) as tf.Tensor[])
    const mineAt = clock()
    const others: (HalfResult | null)[] = []
    try {
      for (let i = 0; i < this.slots.length; i++) {
        const slot = this.slots[i]!
        if (sizes[i] === 0) others.push(null)
        else others.push(await (answers[i] ?? this.toSlot(slot, ask(i))))
      }
    } catch (e) {
      tf.dispose([mine.value, ...mine.grads])
      await this.settleAbandoned(answers)
      throw e
    }
    others.forEach((r, i) => {
      if (!r) return
      this.replicaTensors = r.tensors
      this.keepWeightBuffer(r.weightBuffer)
      // Combined below into tensors that hold copies (wasm): the array goes back with the
      // worker's next request (a view of its shared region is not kept: taken again then).
      if (pooledArrays() && !onShared(r.grads)) this.slots[i]!.gradBuffer = r.grads
    })
    const answered = clock()
    const lossA = (await mine.value.data())[0] ?? NaN
    mine.value.dispose()
    // The other workers' shares as one: with one other worker its answer itself; with more,
    // their mean over their rows (each share's mean weighted by its rows, in row order).
    const done = others.flatMap((r, i) => (r ? [{ r, rows: sizes[i]! }] : []))
    if (done.length === 0) {
      // A batch of one row: all of it here (n1 = 0), nothing to combine.
      const combined = clock()
      this.lastEnd = combined
      return { value: tf.scalar(lossA), grads: mine.grads }
    }
    let otherGrads: Float32Array
    let otherLoss: number
    if (done.length === 1) {
      otherGrads = done[0]!.r.grads
      otherLoss = done[0]!.r.loss
    } else {
      otherGrads = this.meanArray(gradSize)
      otherLoss = 0
      done.forEach(({ r, rows }, k) => {
        const w = rows / n1
        const g = r.grads
        if (k === 0) for (let j = 0; j < gradSize; j++) otherGrads[j] = g[j]! * w
        else for (let j = 0; j < gradSize; j++) otherGrads[j]! += g[j]! * w
        otherLoss += r.loss * w
      })
    }
    // Equal halves: (g₀ + g₁)/2, two operations a weight instead of four; with a power-of-two
    // half (8 + 8) it is bit for bit the rows-weighted form (scaling by 2^k is exact).
    const equal = n0 === n1 && !legacyTransport()
    // On wasm and cpu one kernel for all weights (fusedUpdate.ts), the same float32 operations.
    const fused = !legacyTransport() && !benchSwitch.unfusedOptimizer && fusedBackend() && mine.grads.every((g) => g.dtype === 'float32')
    const grads = fused ? tf.tidy(() => runCombineHalves(mine.grads, tf.tensor1d(otherGrads, 'float32'), [n0, n1])) : tf.tidy(() => {
      let o = 0
      return mine.grads.map((g) => {
        const part = tf.tensor(otherGrads.subarray(o, o + g.size), g.shape, 'float32')
        o += g.size
        // The full batch's mean: each share's mean weighted by its rows, in row order.
        return equal ? tf.mul(tf.add(g, part), 0.5) : tf.div(tf.add(tf.mul(g, n0), tf.mul(part, n1)), n)
      })
    })
    tf.dispose(mine.grads)
    const combined = clock()
    const first = others[0] ?? null
    const batchBytes = requests.reduce((s, r) => s + Object.values(r.batch).reduce((t, x) => t + x.data.byteLength, 0), 0)
    const updated = this.dirtyAt !== null && this.lastEnd !== null && this.dirtyAt >= this.lastEnd ? this.dirtyAt : null
    recentSteps.push({ prevEnd: this.lastEnd, updated, start, split, serialized, posted, yielded, ...(ownBuilt === undefined ? {} : { ownBuilt }), mine: mineAt, answered, combined, rows: [n0, n1], ...(this.slots.length > 1 ? { shares: [n0, ...sizes] } : {}), weightBytes: sent.weights, batchBytes, gradBytes: done.reduce((s, d) => s + d.r.grads.byteLength, 0), handedBack: { grads: sent.handedBack, weights: first?.weightBuffer !== undefined }, shared: onShared(requests[0]?.gradBuffer), replica: first?.timing ?? null })
    if (recentSteps.length > 400) recentSteps.shift()
    this.lastEnd = combined
    return { value: tf.scalar((lossA * n0 + otherLoss * n1) / n), grads }
  }
  private lastEnd: number | null = null

  /** An array for the other workers' mean gradient (more than one other worker), kept. */
  private meanArray(size: number): Float32Array {
    if (!this.mean || this.mean.length !== size) this.mean = new Float32Array(size)
    return this.mean
  }
  private mean: Float32Array | null = null

  /** After this worker's share failed (or another's answer did): waits for every answer to the
   *  requests already out, takes their arrays back for the next requests as a used answer's
   *  are. A failed answer is dropped: the loop's own error is the one the caller gets (a lost
   *  worker was recorded and reported by toSlot). The workers have then assigned the requests'
   *  weights, so a next step sends only what changes after, as after any step. */
  private async settleAbandoned(answers: readonly (Promise<HalfResult> | null)[]): Promise<void> {
    const settled = await Promise.allSettled(answers.map((x) => x ?? Promise.resolve(null)))
    settled.forEach((s, i) => {
      if (s.status !== 'fulfilled' || !s.value) return
      const r = s.value
      this.replicaTensors = r.tensors
      this.keepWeightBuffer(r.weightBuffer)
      if (pooledArrays() && !onShared(r.grads)) this.slots[i]!.gradBuffer = r.grads
    })
  }

  dispose(): void {
    this.local.dispose()
  }
}

/** The replica's side (in the second worker): the model and tuning pieces rebuilt from the
 *  setup, the weights kept equal to the loop's, one half's gradients at a time. */
export class GradientReplica {
  private state: { body: Body; tuning: Tuning; byName: Map<string, tf.Variable>; s: Settings; task: SplitTask } | null = null

  async setup(setup: ReplicaSetup): Promise<void> {
    this.dispose()
    const init = new Map<string, tf.Tensor>()
    for (const w of setup.weights) if (w.name.startsWith('body/')) init.set(w.name.slice(5), tf.tensor(w.data, w.shape, 'float32'))
    let body: Body
    try {
      body = setup.body.kind === 'tiny-gpt' ? new TinyGpt(setup.body.config, init) : new TinyCnn(setup.body.config, init)
    } finally {
      tf.dispose([...init.values()])
    }
    const tuning = new Tuning(body, setup.settings, setup.need)
    const byName = new Map([...stableNames(body, tuning.parts)].map(([v, n]) => [n, v] as const))
    this.state = { body, tuning, byName, s: setup.settings, task: setup.task }
    this.assign(setup.weights)
  }

  /** New tensors for the changed weights, assigned (a variable's own buffer is never written:
   *  XNNPACK keeps packed copies of a product's weights by tensor, and Identity shares buffers). */
  private assign(weights: readonly NamedWeight[]): void {
    const { byName } = this.state!
    for (const w of weights) {
      const v = byName.get(w.name)
      if (!v) throw new Error(`The second worker's model has no weight ${w.name}`)
      const t = tf.tensor(w.data, w.shape, 'float32')
      try {
        v.assign(t)
      } finally {
        t.dispose()
      }
    }
  }
  /** The assigned weights' array, whole, to give back to the loop: the weights are in tensors
   *  now (wasm copies them in, pooledArrays), nothing here reads it again. */
  private givenBack(weights: readonly NamedWeight[]): Float32Array | undefined {
    const first = weights[0]?.data
    // A view of the shared region stays where it is: the loop writes it again.
    return pooledArrays() && first && first.buffer.byteLength > 0 && !onShared(first) ? new Float32Array(first.buffer as ArrayBuffer) : undefined
  }
  /** The gradient array the loop gave back (HalfRequest.gradBuffer), for the next half. */
  private gradPool: Float32Array | null = null

  async infer(r: InferRequest): Promise<InferResult> {
    const st = this.state
    if (!st) throw new Error('The second worker was asked for an evaluation before it was set up')
    this.assign(r.weights)
    const weightBuffer = this.givenBack(r.weights)
    const out = await runPass(st.body, st.tuning, r.pass)
    return { ...out, tensors: tf.memory().numTensors, ...(weightBuffer ? { weightBuffer } : {}) }
  }

  async half(r: HalfRequest): Promise<HalfResult> {
    const st = this.state
    if (!st) throw new Error('The second worker was asked for gradients before it was set up')
    const received = clock()
    this.assign(r.weights)
    const weightBuffer = this.givenBack(r.weights)
    const pooled = pooledArrays()
    if (pooled && r.gradBuffer && r.gradBuffer.length > 0) this.gradPool = r.gradBuffer
    const assigned = clock()
    const vars = r.vars.map((n) => {
      const v = st.byName.get(n)
      if (!v) throw new Error(`The second worker's model has no weight ${n}`)
      return v
    })
    const cache = new FeatureCache(r.cache.prefixBlocks, r.cache.pooled, { train: 0, val: 0 })
    const batch = Object.fromEntries(Object.entries(r.batch).map(([k, t]) => [k, tf.tensor(t.data, t.shape, t.dtype)])) as unknown as Batch
    const uploaded = clock()
    const { value, grads } = tf.tidy(() => {
      const g = tf.variableGrads(() => SPLIT_TASKS[st.task].loss(st.body, st.tuning, batch, cache, st.s, true, r.seed), vars)
      return { value: g.value, grads: vars.map((v) => g.grads[v.name]!) }
    })
    tf.dispose(Object.values(batch) as unknown as tf.Tensor[])
    cache.dispose()
    const computed = clock()
    const size = grads.reduce((a, g) => a + g.size, 0)
    let flat: Float32Array
    if (pooled) {
      // Straight from the heap into the array the loop gave back (the same size every step).
      flat = this.gradPool && this.gradPool.length === size ? this.gradPool : new Float32Array(size)
      this.gradPool = null
      readFloatsInto(grads, flat)
    } else {
      flat = new Float32Array(size)
      let o = 0
      for (const g of grads) {
        flat.set((await g.data()) as Float32Array, o)
        o += g.size
      }
    }
    const loss = (await value.data())[0] ?? NaN
    tf.dispose([value, ...grads])
    return { loss, grads: flat, tensors: tf.memory().numTensors, ...(weightBuffer ? { weightBuffer } : {}), timing: { received, assigned, uploaded, computed, readOut: clock() } }
  }

  dispose(): void {
    if (!this.state) return
    this.state.tuning.dispose()
    this.state.body.dispose()
    this.state = null
  }
}
