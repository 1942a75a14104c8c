import * as tf from '@tensorflow/tfjs'
import { labelsOf, tasksOf, valuesOf, type Encoded } from './encoded'
import { imageRows, imageTensor } from './imageBatches'
import type { TensorData } from './dataParallel'

/** A batch's raw inputs and targets, before any cached prefix. */
export interface RawBatch {
  tokens: tf.Tensor // token ids [B, T] int32, pixels [B, H, W, 3] or features [B, dim]
  mask: tf.Tensor2D // [B, T]; [B, 1] ones for images and tabular rows (unused there)
  targets?: tf.Tensor2D // lm: next ids [B, T]
  lossMask?: tf.Tensor2D // sft, pairs: [B, T] (pairs: [2B, T]) 1 where the target counts in the loss
  reference?: tf.Tensor2D // pairs: [B, 2] the reference policy's chosen, rejected answer log-probabilities
}

/** Largest set kept on the device; bigger ones are copied batch by batch. */
export const DEVICE_ROWS_MAX_BYTES = 64 * 1024 * 1024

/**
 * Where a set's rows come from when a batch is built. On the device: the whole set is
 * uploaded once and each batch is gathered there with one small index upload, as model.fit
 * slices its tensors (before, each step uploaded its tokens, mask and labels, or 98 kB of
 * pixels for 8 small images). From the host: each batch is copied out of the typed arrays
 * and uploaded; for sets streamed from storage (images loaded per batch) or too big to keep.
 * Both give the same values. Call the batch methods inside tf.tidy.
 */
export class BatchSource {
  private constructor(
    readonly set: Encoded,
    private readonly dev: Map<string, tf.Tensor> | null,
  ) {}

  /** Copies each batch from the host arrays. */
  static host(set: Encoded): BatchSource {
    return new BatchSource(set, null)
  }

  /** Keeps the set on the device when it is in memory and under `maxBytes`; else host. */
  static device(set: Encoded, maxBytes = DEVICE_ROWS_MAX_BYTES): BatchSource {
    const arrays = hostArrays(set)
    if (!arrays || arrays.reduce((n, a) => n + a.data.byteLength, 0) > maxBytes) return BatchSource.host(set)
    return new BatchSource(set, new Map(arrays.map((a) => [a.key, tf.keep(tf.tensor(a.data, a.shape, a.dtype))] as const)))
  }

  get onDevice(): boolean {
    return this.dev !== null
  }

  /** What a batch needs of the rows of `idx`: their inputs (unless `inputs` is false, when
   *  a cache already holds what they would give) and their targets. Call inside tf.tidy. */
  rows(idx: readonly number[], inputs = true): Rows {
    const set = this.set
    const lab = labelsOf(set)
    const val = valuesOf(set)
    const tasks = tasksOf(set)
    const dev = this.dev
    if (!dev) {
      return {
        ...(inputs ? { inputs: hostInputs(set, idx) } : {}),
        ...(lab ? { labels: tf.tensor1d(Int32Array.from(idx, (r) => lab.labels[r]!), 'int32') } : {}),
        ...(val ? { values: tf.tensor1d(Float32Array.from(idx, (r) => val.values[r]!)) } : {}),
        ...(tasks ? { taskLabels: new Map(tasks.map((t) => [t.name, tf.tensor1d(Int32Array.from(idx, (r) => t.labels[r]!), 'int32')] as const)) } : {}),
      }
    }
    const at = tf.tensor1d(Int32Array.from(idx), 'int32') // the batch's one upload
    const take = (key: string) => tf.gather(dev.get(key)!, at)
    return {
      ...(inputs ? { inputs: this.deviceInputs(take, idx.length) } : {}),
      ...(lab ? { labels: take('labels') as tf.Tensor1D } : {}),
      ...(val ? { values: take('values') as tf.Tensor1D } : {}),
      ...(tasks ? { taskLabels: new Map(tasks.map((t) => [t.name, take(`task:${t.name}`) as tf.Tensor1D] as const)) } : {}),
    }
  }

  /** Only the rows' inputs (to fill a feature cache). Call inside tf.tidy. */
  inputs(idx: readonly number[]): RawBatch {
    const dev = this.dev
    if (!dev) return hostInputs(this.set, idx)
    const at = tf.tensor1d(Int32Array.from(idx), 'int32')
    return this.deviceInputs((key) => tf.gather(dev.get(key)!, at), idx.length)
  }

  /** A source over tensors already holding the set's rows (used for one host batch). */
  static fromTensors(set: Encoded, dev: Map<string, tf.Tensor>): BatchSource {
    return new BatchSource(set, dev)
  }

  dispose(): void {
    if (this.dev) tf.dispose([...this.dev.values()])
    this.dev?.clear()
  }

  private deviceInputs(take: (key: string) => tf.Tensor, b: number): RawBatch {
    const set = this.set
    const x = take('x')
    if (set.kind === 'lm') {
      const T = set.seqLen
      return { tokens: x.slice([0, 0], [b, T]), mask: tf.fill([b, T], 1) as tf.Tensor2D, targets: x.slice([0, 1], [b, T]) as tf.Tensor2D }
    }
    if (set.kind === 'sft' || set.kind === 'pairs') {
      // Pairs: the chosen rows, then the rejected rows of the same pairs ([2B, T]).
      const T = set.seqLen
      const ids = set.kind === 'pairs' ? tf.concat([x, take('xr')]) : x
      const lossMask = (set.kind === 'pairs' ? tf.concat([take('lossMask'), take('lossMaskR')]) : take('lossMask')) as tf.Tensor2D
      const rows = ids.shape[0]!
      return {
        tokens: ids.slice([0, 0], [rows, T]),
        mask: tf.fill([rows, T], 1) as tf.Tensor2D,
        targets: ids.slice([0, 1], [rows, T]) as tf.Tensor2D,
        lossMask,
        ...(set.kind === 'pairs' ? { reference: take('reference') as tf.Tensor2D } : {}),
      }
    }
    return { tokens: x, mask: this.dev!.has('mask') ? (take('mask') as tf.Tensor2D) : (tf.fill([b, 1], 1) as tf.Tensor2D) }
  }
}

/** What a batch gets from its rows. */
export interface Rows {
  inputs?: RawBatch
  labels?: tf.Tensor1D // classification
  values?: tf.Tensor1D // regression: standardised targets
  taskLabels?: Map<string, tf.Tensor1D> // multitask: labels per task name
}

interface HostArray {
  key: string
  data: Int32Array | Float32Array
  shape: number[]
  dtype: 'int32' | 'float32'
}

/** The set's per-row arrays as whole tensors' worth of data; null when they are not all in memory. */
function hostArrays(set: Encoded): HostArray[] | null {
  const n = set.n
  const out: HostArray[] = []
  switch (set.kind) {
    case 'classification':
    case 'regression':
      out.push({ key: 'x', data: set.tokens, shape: [n, set.seqLen], dtype: 'int32' }, { key: 'mask', data: set.mask, shape: [n, set.seqLen], dtype: 'float32' })
      break
    case 'lm':
      out.push({ key: 'x', data: set.tokens, shape: [n, set.seqLen + 1], dtype: 'int32' })
      break
    case 'sft':
      out.push({ key: 'x', data: set.tokens, shape: [n, set.seqLen + 1], dtype: 'int32' }, { key: 'lossMask', data: set.lossMask, shape: [n, set.seqLen], dtype: 'float32' })
      break
    case 'pairs':
      out.push(
        { key: 'x', data: set.chosen, shape: [n, set.seqLen + 1], dtype: 'int32' },
        { key: 'xr', data: set.rejected, shape: [n, set.seqLen + 1], dtype: 'int32' },
        { key: 'lossMask', data: set.chosenMask, shape: [n, set.seqLen], dtype: 'float32' },
        { key: 'lossMaskR', data: set.rejectedMask, shape: [n, set.seqLen], dtype: 'float32' },
        { key: 'reference', data: interleave(set.refChosen, set.refRejected), shape: [n, 2], dtype: 'float32' },
      )
      break
    case 'tabular':
      out.push({ key: 'x', data: set.features, shape: [n, set.dim], dtype: 'float32' })
      break
    case 'image':
      if (!set.pixels) return null // streamed from storage batch by batch
      out.push({ key: 'x', data: set.pixels, shape: [n, set.height, set.width, 3], dtype: 'float32' })
      break
  }
  const lab = labelsOf(set)
  if (lab) out.push({ key: 'labels', data: lab.labels, shape: [n], dtype: 'int32' })
  const val = valuesOf(set)
  if (val) out.push({ key: 'values', data: val.values, shape: [n], dtype: 'float32' })
  for (const t of tasksOf(set) ?? []) out.push({ key: `task:${t.name}`, data: t.labels, shape: [n], dtype: 'int32' })
  return out
}

/**
 * The batch `gatherBatch` (forward.ts) builds from the rows of `idx` when no cache holds their
 * prefix (input, mask, labels or values), as host arrays, with no tensor made: the second engine
 * worker's half of a split step is posted from these (dataParallel.ts), so the training worker
 * neither uploads nor reads back that half. The same values either way (batchSource.test.ts).
 * Null for sets whose steps are not split over two workers (LM, SFT, pairs, tabular, multitask).
 */
export function hostBatchData(set: Encoded, idx: readonly number[]): Record<string, TensorData> | null {
  if (tasksOf(set)) return null
  const b = idx.length
  let input: TensorData
  let mask: TensorData
  if (set.kind === 'image') {
    input = { shape: [b, set.height, set.width, 3], dtype: 'float32', data: imageRows(set, idx) }
    mask = { shape: [b, 1], dtype: 'float32', data: new Float32Array(b).fill(1) }
  } else if (set.kind === 'classification' || set.kind === 'regression') {
    const T = set.seqLen
    const tok = new Int32Array(b * T)
    const m = new Float32Array(b * T)
    idx.forEach((r, i) => {
      tok.set(set.tokens.subarray(r * T, (r + 1) * T), i * T)
      m.set(set.mask.subarray(r * T, (r + 1) * T), i * T)
    })
    input = { shape: [b, T], dtype: 'int32', data: tok }
    mask = { shape: [b, T], dtype: 'float32', data: m }
  } else return null
  const lab = labelsOf(set)
  const val = valuesOf(set)
  return {
    input,
    mask,
    ...(lab ? { labels: { shape: [b], dtype: 'int32', data: Int32Array.from(idx, (r) => lab.labels[r]!) } satisfies TensorData } : {}),
    ...(val ? { values: { shape: [b], dtype: 'float32', data: Float32Array.from(idx, (r) => val.values[r]!) } satisfies TensorData } : {}),
  }
}

/** Token ids and mask for the chosen rows, copied from the host arrays; LM rows are split
 *  into inputs and targets. Images: the pixel batch [B, H, W, 3] (in memory, or from the last
 *  prefetch) and an unused mask. */
function hostInputs(set: Encoded, idx: readonly number[]): RawBatch {
  if (set.kind === 'image') return { tokens: imageTensor(set, idx), mask: tf.ones([idx.length, 1]) }
  if (set.kind === 'tabular') {
    const x = new Float32Array(idx.length * set.dim)
    idx.forEach((r, i) => x.set(set.features.subarray(r * set.dim, (r + 1) * set.dim), i * set.dim))
    return { tokens: tf.tensor2d(x, [idx.length, set.dim]), mask: tf.ones([idx.length, 1]) }
  }
  const T = set.seqLen
  const b = idx.length
  if (set.kind === 'sft' || set.kind === 'pairs') {
    // The same values the device path gathers (see deviceInputs): copy the rows, upload, reuse it.
    const dev = new Map<string, tf.Tensor>()
    for (const a of hostArrays(set)!) {
      const width = a.shape.slice(1).reduce((x, y) => x * y, 1)
      const data = a.dtype === 'int32' ? new Int32Array(b * width) : new Float32Array(b * width)
      idx.forEach((r, i) => data.set(a.data.subarray(r * width, (r + 1) * width), i * width))
      dev.set(a.key, tf.tensor(data, [b, ...a.shape.slice(1)], a.dtype))
    }
    return BatchSource.fromTensors(set, dev).inputs(range(b))
  }
  if (set.kind === 'classification' || set.kind === 'regression') {
    const tok = new Int32Array(b * T)
    const mask = new Float32Array(b * T)
    idx.forEach((r, i) => {
      tok.set(set.tokens.subarray(r * T, (r + 1) * T), i * T)
      mask.set(set.mask.subarray(r * T, (r + 1) * T), i * T)
    })
    return { tokens: tf.tensor2d(tok, [b, T], 'int32'), mask: tf.tensor2d(mask, [b, T]) }
  }
  const tok = new Int32Array(b * T)
  const tgt = new Int32Array(b * T)
  idx.forEach((r, i) => {
    const row = set.tokens.subarray(r * (T + 1), (r + 1) * (T + 1))
    tok.set(row.subarray(0, T), i * T)
    tgt.set(row.subarray(1), i * T)
  })
  return { tokens: tf.tensor2d(tok, [b, T], 'int32'), mask: tf.ones([b, T]), targets: tf.tensor2d(tgt, [b, T], 'int32') }
}

/** [a0, b0, a1, b1, …]: two per-row values as one [n, 2] array. */
function interleave(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length * 2)
  for (let i = 0; i < a.length; i++) {
    out[2 * i] = a[i]!
    out[2 * i + 1] = b[i]!
  }
  return out
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i)
