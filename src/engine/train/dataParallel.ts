/**
 * Data parallelism on the CPU: a second engine worker (a "replica") computes the gradient of
 * half of every micro-batch while the training loop computes the other half, so a 2-core
 * machine without a GPU uses both cores. WebAssembly threads could not do it: XNNPACK's pool
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
import { runPass, tensorData, type InferPass, type PassOutput, type PassSplit } from './inferencePasses'
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

/** The dropout seed of half `half` (0: this worker, 1: the replica) of micro-batch `micro`. */
export function halfSeed(seed: number, step: number, micro: number, half: 0 | 1): string {
  return `${microBatchSeed(seed, step, micro)}|half${half}`
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

/** A split step's two halves built apart from the batch's rows (fineTune.ts, when no cache or
 *  augmentation needs the whole batch built at once): `mine(n0)` this worker's half, rows
 *  [0, n0), as tensors (called inside tf.tidy); `theirs(n0)` the replica's, rows [n0, rows), as
 *  host arrays (batchSource.ts hostBatchData), or null when they cannot be (the whole batch is
 *  then built and split as before). */
export interface HalvesApart {
  rows: number
  mine: (n0: number) => Batch
  theirs: (n0: number) => Record<string, TensorData> | null
}

/** The training loop's side: splits each micro-batch, sends the replica its half, combines;
 *  and sends it its half of the rows of the run's inference passes (`infer`). */
export class DataParallel implements PassSplit {
  private readonly names: Map<tf.Variable, string>
  private readonly dirty = new Set<tf.Variable>()
  private started = false
  private lost: string | null = null
  /** The replica's last tensor count (tests watch it stay flat). */
  replicaTensors = 0
  /** Whether the training steps are split too (`gradients`), or only the inference passes
   *  (a head-only run, a batch of one: whyNotSplit). */
  splitsSteps = true

  constructor(
    private readonly peer: GradientPeer,
    private readonly model: Body,
    private readonly tuning: Tuning,
    private readonly s: Settings,
    private readonly task: SplitTask,
    private readonly need: number | 'regression',
    private readonly onPeerLost?: (message: string) => void,
    /** The replica, here: computes a lost replica's halves (the same code, the same numbers). */
    private readonly local = new GradientReplica(),
  ) {
    this.names = stableNames(model, tuning.parts)
  }

  /** Whether halves still go to the second worker. */
  get split(): boolean {
    return this.lost === null
  }

  /** Weights the loop changed (an update, a restore): sent before the next half. */
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

  /** `call` on the second worker, or here once it is lost; `fresh`: the replica here was just set
   *  up from the loop's variables, so it holds every current weight already (the request's
   *  weights may have gone with the lost worker's message). */
  private async toReplica<T>(call: (p: GradientPeer, fresh: boolean) => Promise<T>, wanted: () => boolean = () => true): Promise<T> {
    if (this.lost === null) {
      try {
        return await call(this.peer, false)
      } catch (e) {
        this.lost = e instanceof Error ? e.message : String(e)
        this.onPeerLost?.(this.lost)
        // Nothing will read this answer (the loop's own half failed): no replica set up here for it.
        if (!wanted()) throw e
      }
    }
    // The second worker is gone: its halves are computed here, from a replica set up now.
    let fresh = false
    if (!this.localReady) {
      await this.local.setup(await this.setupOf())
      this.localReady = true
      this.dirty.clear()
      fresh = true
    }
    return call(this.local, fresh)
  }
  private localReady = false

  /**
   * The mean loss and gradients of `vars` over the whole micro-batch `makeBatch` builds
   * (called inside tf.tidy; its tensors are freed here), as one worker would compute them:
   * the first half here with `seeds[0]`, the second on the replica with `seeds[1]`.
   */
  /** Sets the replica up on the first request (every weight); then the weights changed since.
   *  Written into the shared weights region (sharedExchange) when no request that reads it is
   *  unanswered (`sharedWeightsOut`; the caller counts its request in and out); else into an array
   *  of their own. */
  private async changedWeights(): Promise<{ weights: NamedWeight[]; shared: boolean }> {
    if (!this.started) {
      const setup = await this.setupOf()
      // Transferred to the worker (setupTransfer); a replica set up here after a failure was
      // just set up from the loop's variables, so it is not set up again from these.
      await this.toReplica((p, fresh) => (fresh ? Promise.resolve() : p.setup(setup)))
      this.started = true
      this.dirty.clear()
    }
    const dirty = [...this.dirty]
    this.dirty.clear()
    if (dirty.length === 0) return { weights: [], shared: false } // the array given back stays for the next changes
    if (!pooledArrays()) {
      const weights: NamedWeight[] = []
      for (const v of dirty) weights.push(await namedWeight(v, this.names.get(v)!))
      return { weights, shared: false }
    }
    // Every changed weight into one array, straight from the heap: the array the replica gave
    // back after its last half when it is long enough (transferred there and back: no fresh
    // 4.3 MB a step for tiny-lm), each weight a view of it (one buffer to transfer).
    const total = dirty.reduce((a, v) => a + v.size, 0)
    const region = this.sharedWeightsOut === 0 ? this.exchange()?.weights : undefined
    let all: Float32Array
    if (region && region.length >= total) all = region
    else {
      const spare = this.weightPool
      this.weightPool = null
      all = spare && spare.length >= total ? spare : new Float32Array(total)
    }
    readFloatsInto(dirty, all)
    let o = 0
    const weights = dirty.map((v) => {
      const data = all.subarray(o, o + v.size)
      o += v.size
      return { name: this.names.get(v)!, shape: [...v.shape], data }
    })
    return { weights, shared: all === region }
  }
  /** Requests carrying views of the shared weights region that are not answered yet. */
  private sharedWeightsOut = 0
  /** The SharedArrayBuffer's two regions, each as long as all the run's weights together: the
   *  changed weights, the replica's gradients (made the first time; null without sharedExchange). */
  private exchange(): { weights: Float32Array; grads: Float32Array } | null {
    if (!sharedExchange()) return null
    if (!this.regions) {
      let total = 0
      for (const v of this.names.keys()) total += v.size
      const sab = new SharedArrayBuffer(8 * total)
      this.regions = { weights: new Float32Array(sab, 0, total), grads: new Float32Array(sab, 4 * total, total) }
    }
    return this.regions
  }
  private regions: { weights: Float32Array; grads: Float32Array } | null = null
  /** The array the replica gave back after assigning the last changed weights (HalfResult.weightBuffer). */
  private weightPool: Float32Array | null = null
  /** The last answer's gradient array, done with here: given back with the next request. */
  private gradBuffer: Float32Array | null = null

  /** One inference pass on the replica's half of some rows (inferencePasses.ts), reading the
   *  weights the loop has now; computed here on the replica copy if the second worker failed.
   *  Resolves once the request has left this worker (PassSplit), with the answer. */
  async post(pass: InferPass, wanted: () => boolean = () => true): Promise<{ answer: Promise<PassOutput> }> {
    const { weights, shared } = await this.changedWeights()
    if (shared) this.sharedWeightsOut++
    // The weights are transferred (inferTransfer) or shared: a lost worker's pass is recomputed
    // here by a replica just set up from the loop's variables, which needs none of them (unless
    // the caller's own half failed meanwhile: `wanted`, as in `gradients`).
    const answer = this.toReplica((p, fresh) => p.infer({ weights: fresh ? [] : weights, pass }), wanted)
      .finally(() => {
        if (shared) this.sharedWeightsOut--
      })
      .then((r) => {
        this.replicaTensors = r.tensors
        if (r.weightBuffer && pooledArrays()) this.weightPool = r.weightBuffer
        return r
      })
    answer.catch(() => {}) // awaited by the caller after its own half
    if (this.lost === null) await nextTask()
    return { answer }
  }

  async gradients(vars: tf.Variable[], makeBatch: () => Batch, cache: Cache, seeds: readonly [string, string], apart?: HalvesApart): Promise<{ value: tf.Scalar; grads: tf.Tensor[] }> {
    const start = clock()
    let n = 0
    let n0 = 0
    let a: Batch | null = null
    // The replica's half from the host rows when the caller can build the halves apart: nothing
    // of it uploaded, sliced or read back here, and this worker's own half built only after the
    // request has left (below), while the replica computes. The same rows in the same order.
    const hostHalf = apart && !legacyTransport() && !benchSwitch.wholeBatchSplit ? apart.theirs(Math.ceil(apart.rows / 2)) : null
    let batch: Record<string, TensorData>
    let split: number
    if (hostHalf) {
      n = apart!.rows
      n0 = Math.ceil(n / 2)
      batch = hostHalf
      split = clock()
    } else {
      const [a0, b] = tf.tidy(() => {
        const full = makeBatch()
        n = full.input.shape[0]!
        const h = Math.ceil(n / 2)
        return [sliceBatch(full, 0, h), sliceBatch(full, h, n - h)] as unknown as tf.TensorContainer
      }) as unknown as [Batch, Batch]
      a = a0
      n0 = a0.input.shape[0]!
      split = clock()
      batch = {}
      try {
        for (const [k, t] of Object.entries(b)) if (t instanceof tf.Tensor) batch[k] = await tensorData(t)
      } catch (e) {
        tf.dispose(Object.values(a0) as tf.Tensor[])
        throw e
      } finally {
        tf.dispose(Object.values(b) as tf.Tensor[])
      }
    }
    const n1 = n - n0
    let changed: { weights: NamedWeight[]; shared: boolean }
    try {
      changed = await this.changedWeights()
    } catch (e) {
      if (a) tf.dispose(Object.values(a) as tf.Tensor[])
      throw e
    }
    const { weights, shared } = changed
    // The replica's gradients: into the shared region (only one half is ever unanswered), or into
    // the array the last answer brought (handed back).
    const gradSize = vars.reduce((a, v) => a + v.size, 0)
    const gradRegion = this.exchange()?.grads
    const gradBuffer = gradRegion && gradRegion.length >= gradSize ? gradRegion.subarray(0, gradSize) : this.gradBuffer && this.gradBuffer.length > 0 && pooledArrays() ? this.gradBuffer : undefined
    this.gradBuffer = null
    const request: HalfRequest = { weights, vars: vars.map((v) => this.names.get(v)!), batch, cache: { prefixBlocks: cache.prefixBlocks, pooled: cache.pooled }, seed: seeds[1], ...(gradBuffer ? { gradBuffer } : {}) }
    const weightBytes = weights.reduce((s, w) => s + w.data.byteLength, 0) // before a transfer empties them
    const serialized = clock()
    // A lost worker's request is recomputed here by a replica set up from the loop's variables:
    // the request's weights (transferred to the lost worker) are not needed.
    const send = (p: GradientPeer, fresh: boolean) => p.half(fresh ? { ...request, weights: [] } : request)
    // Posted before this half runs: the two halves compute at the same time.
    if (shared) this.sharedWeightsOut++
    // Set when this half fails: the replica's answer is then only waited for, never used.
    let abandoned = false
    const theirs = this.lost === null ? this.toReplica(send, () => !abandoned) : null
    // A worker message leaves only when this thread's task ends: in Chromium the second worker
    // received the request after this half had run (the halves ran one after the other, the
    // bench's timeline showed). One task boundary here lets it go first.
    const posted = clock()
    let own: Batch | null = a
    let yielded: number
    let ownBuilt: number | undefined
    let mine: { value: tf.Scalar; grads: tf.Tensor[] }
    try {
      if (theirs && !legacyTransport()) await nextTask()
      yielded = clock()
      // Built apart: this worker's half uploaded only now, after the replica's request was posted.
      own ??= tf.tidy(() => apart!.mine(n0) as unknown as tf.TensorContainer) as unknown as Batch
      ownBuilt = a ? undefined : clock()
      const ownHalf = own
      mine = tf.tidy(() => {
        const r = tf.variableGrads(() => SPLIT_TASKS[this.task].loss(this.model, this.tuning, ownHalf, cache, this.s, true, seeds[0]), vars)
        return { value: r.value, grads: vars.map((v) => r.grads[v.name]!) }
      })
    } catch (e) {
      // This half failed (out of memory, a shape error) with the replica's request out: its
      // answer is waited for before the error goes on, so the shared weights region is not
      // written while the replica may still read it, its arrays come back to the pools, and a
      // replica that fails meanwhile is not recomputed here for an answer nobody reads (nor after
      // the run has ended and its weights are gone).
      if (own) tf.dispose(Object.values(own) as tf.Tensor[])
      abandoned = true
      await this.settleAbandoned(theirs, shared)
      throw e
    }
    tf.dispose(Object.values(own) as tf.Tensor[])
    const mineAt = clock()
    let other: HalfResult
    try {
      other = await (theirs ?? this.toReplica(send))
    } catch (e) {
      tf.dispose([mine.value, ...mine.grads])
      throw e
    } finally {
      if (shared) this.sharedWeightsOut--
    }
    this.replicaTensors = other.tensors
    if (other.weightBuffer && pooledArrays()) this.weightPool = other.weightBuffer
    const answered = clock()
    const lossA = (await mine.value.data())[0] ?? NaN
    mine.value.dispose()
    // Equal halves: (g₀ + g₁)/2, two operations a weight instead of four; with a power-of-two
    // half (8 + 8) it is bit for bit the rows-weighted form (scaling by 2^k is exact).
    const equal = n0 === n1 && !legacyTransport()
    // On wasm and cpu one kernel for all weights (fusedUpdate.ts), the same float32 operations.
    const fused = !legacyTransport() && !benchSwitch.unfusedOptimizer && fusedBackend() && mine.grads.every((g) => g.dtype === 'float32')
    const grads = fused ? tf.tidy(() => runCombineHalves(mine.grads, tf.tensor1d(other.grads, 'float32'), [n0, n1])) : tf.tidy(() => {
      let o = 0
      return mine.grads.map((g) => {
        const part = tf.tensor(other.grads.subarray(o, o + g.size), g.shape, 'float32')
        o += g.size
        // The full batch's mean: each half's mean weighted by its rows, the halves in row order.
        return equal ? tf.mul(tf.add(g, part), 0.5) : tf.div(tf.add(tf.mul(g, n0), tf.mul(part, n1)), n)
      })
    })
    tf.dispose(mine.grads)
    // Combined: the tensors above hold copies (wasm), so the array goes back with the next request
    // (a view of the shared region is not kept: the next request takes the region again).
    if (pooledArrays() && !onShared(other.grads)) this.gradBuffer = other.grads
    const combined = clock()
    const batchBytes = Object.values(batch).reduce((s, x) => s + x.data.byteLength, 0)
    const updated = this.dirtyAt !== null && this.lastEnd !== null && this.dirtyAt >= this.lastEnd ? this.dirtyAt : null
    recentSteps.push({ prevEnd: this.lastEnd, updated, start, split, serialized, posted, yielded, ...(ownBuilt === undefined ? {} : { ownBuilt }), mine: mineAt, answered, combined, rows: [n0, n1], weightBytes, batchBytes, gradBytes: other.grads.byteLength, handedBack: { grads: gradBuffer !== undefined, weights: other.weightBuffer !== undefined }, shared: onShared(gradBuffer), replica: other.timing ?? null })
    if (recentSteps.length > 400) recentSteps.shift()
    this.lastEnd = combined
    return { value: tf.scalar((lossA * n0 + other.loss * n1) / n), grads }
  }
  private lastEnd: number | null = null

  /** After this worker's half failed: waits for the replica's answer to the request already out
   *  (`theirs`; null when the halves are computed here), takes its arrays back for the next
   *  requests as a used answer's are, and counts the request out of `sharedWeightsOut`. A failed
   *  answer is dropped: the loop's own error is the one the caller gets (a lost worker was
   *  recorded and reported by toReplica). The replica has then assigned the request's weights, so
   *  a next step sends only what changes after, as after any step. */
  private async settleAbandoned(theirs: Promise<HalfResult> | null, shared: boolean): Promise<void> {
    try {
      const r = theirs ? await theirs : null
      if (r) {
        this.replicaTensors = r.tensors
        if (r.weightBuffer && pooledArrays()) this.weightPool = r.weightBuffer
        if (pooledArrays() && !onShared(r.grads)) this.gradBuffer = r.grads
      }
    } catch {
      // see above
    } finally {
      if (shared) this.sharedWeightsOut--
    }
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
