/**
 * The inference passes a run makes besides its training steps (no gradient, no dropout):
 * the frozen blocks' output for the feature cache, the head's outputs for an evaluation, and
 * the label log-probabilities of the zero-shot baseline. Each is a function of the model, its
 * tuning pieces and some rows only, so on two workers (dataParallel.ts) the rows are halved:
 * the first ceil(n/2) here, the rest on the replica, the same function on each, and the
 * outputs put back together in row order (with more workers, shared as shareRows.ts says:
 * `splitPass`, `joinOutputs`). Metrics are then computed here from the whole
 * output, as one worker computes them: no averaged averages; only the summation order inside
 * the model's products can differ from one worker's (float rounding).
 */
import * as tf from '@tensorflow/tfjs'
import type { Body } from '../models/body'
import type { ForwardHooks, TinyGpt } from '../models/tinyGpt'
import type { Tuning } from './fineTune'
import type { TensorData } from './dataParallel'
import { frozenPrefix, headLogits, type Batch, type Cache } from './forward'
import { FeatureCache } from './featureCache'
import { splitRows } from './shareRows'

export interface CachePlan {
  prefixBlocks: number
  pooled: boolean
}

/** One pass on the replica's rows; its answer is one float32 tensor, rows first. */
export type InferPass =
  | { kind: 'prefix'; cache: CachePlan; tokens: TensorData; mask: TensorData }
  | { kind: 'head'; cache: CachePlan; batch: Record<string, TensorData> }
  | { kind: 'labelLogProbs'; tokens: TensorData; picks: Int32Array; targets: Int32Array }

export interface PassOutput {
  shape: number[]
  data: Float32Array
}

/** Sends a pass to the replica (dataParallel.ts: with the weights changed since its last
 *  request; computed here on a replica copy if the second worker failed). Resolves once the
 *  request has left this worker, with the answer to wait for: a worker message goes out only
 *  when this thread's task ends, so a caller that computed its own half first would have the
 *  replica start only after it. */
export interface PassSplit {
  /** The rows of an n-row pass this worker computes itself: the first share (shareRows.ts). */
  ownRows(n: number): number
  /** `wanted`: false once the caller's own half has failed, so a replica lost after that is not
   *  recomputed for an answer nobody reads (the answer then fails with the loss). */
  post(pass: InferPass, wanted?: () => boolean): Promise<{ answer: Promise<PassOutput> }>
}

export async function tensorData(t: tf.Tensor): Promise<TensorData> {
  const dtype = t.dtype === 'int32' ? 'int32' : 'float32'
  const data = await (dtype === 'int32' ? t.data<'int32'>() : t.data<'float32'>())
  return { shape: [...t.shape], dtype, data: data.slice() }
}

const fromData = (t: TensorData) => tf.tensor(t.data, t.shape, t.dtype)
const planOf = (cache: Cache): CachePlan => ({ prefixBlocks: cache.prefixBlocks, pooled: cache.pooled })
/** The replica's rows read back for its request; the sliced tensors freed whether or not the
 *  readback succeeds (on WebGL or WebGPU it fails when the context or device is lost). */
async function readRows(rows: Record<string, tf.Tensor>): Promise<Record<string, TensorData>> {
  try {
    const data: Record<string, TensorData> = {}
    for (const [k, t] of Object.entries(rows)) data[k] = await tensorData(t)
    return data
  } finally {
    tf.dispose(Object.values(rows))
  }
}
const rowsOf = (t: tf.Tensor, from: number, n: number) => tf.slice(t, [from, ...t.shape.slice(1).map(() => 0)], [n, ...t.shape.slice(1)])

/** The label tokens' log-probabilities: for each pick (a flat [row·T + position] index) the
 *  log-softmax of the LM's logits there, at the pick's target. Logits only where a label token
 *  is predicted: the vocabulary product dominates otherwise. Call inside tf.tidy. */
export function labelLogProbs(model: TinyGpt, tokens: tf.Tensor2D, picks: Int32Array, targets: Int32Array, hooks?: ForwardHooks): tf.Tensor1D {
  const [b, t] = tokens.shape
  const hidden = model.forward(tokens, hooks ? { hooks } : {}) // [B, T, D]
  const d = hidden.shape[2]
  const picked = tf.gather(hidden.reshape([b * t, d]), tf.tensor1d(picks, 'int32')) // [M, D]
  const logits = model.lmLogits(picked.reshape([1, picks.length, d]) as tf.Tensor3D).reshape([picks.length, -1]) // [M, V]
  const lp = tf.logSoftmax(logits)
  const oneHot = tf.oneHot(tf.tensor1d(targets, 'int32'), lp.shape[1]!)
  return tf.sum(tf.mul(lp, oneHot), 1) as tf.Tensor1D
}

/** `n` rows: [0, n0) by `mine` here while the replica computes [n0, n) from `theirs(n0)`;
 *  the outputs concatenated. A replica that fails fails the pass (dataParallel.ts has already
 *  recomputed its half here by then, so this happens only if that failed too). If `mine` fails
 *  (out of memory, a shape error), its error goes on once the replica's answer is in, dropped:
 *  the split's state is then as after any pass (dataParallel.ts: the shared weights region free,
 *  the answer's arrays back in the pools), and a worker lost meanwhile is reported within the
 *  pass and not recomputed here for it. */
async function halves(split: PassSplit, n: number, mine: (n0: number) => tf.Tensor, theirs: (n0: number) => Promise<InferPass>): Promise<tf.Tensor> {
  const n0 = split.ownRows(n)
  let abandoned = false
  const { answer } = await split.post(await theirs(n0), () => !abandoned) // gone before this half runs: both compute at once
  let a: tf.Tensor
  try {
    a = tf.tidy(() => mine(n0))
  } catch (e) {
    abandoned = true
    await answer.catch(() => {}) // the loop's own error is the one that goes on
    throw e
  }
  let b: PassOutput
  try {
    b = await answer
  } catch (e) {
    a.dispose()
    throw e
  }
  const out = tf.tidy(() => tf.concat([a, tf.tensor(b.data, b.shape, 'float32')]))
  a.dispose()
  return out
}

/** The frozen prefix (or pooled features) of a batch of inputs, as `frozenPrefix`. */
export async function prefixRows(model: Body, tuning: Tuning, cache: Cache, tokens: tf.Tensor, mask: tf.Tensor2D, split?: PassSplit | null): Promise<tf.Tensor> {
  const n = tokens.shape[0]!
  if (!split || n < 2) return tf.tidy(() => frozenPrefix(model, tuning, cache, tokens, mask))
  return halves(
    split,
    n,
    (n0) => frozenPrefix(model, tuning, cache, rowsOf(tokens, 0, n0), rowsOf(mask, 0, n0) as tf.Tensor2D),
    async (n0) => {
      const rows = await readRows(tf.tidy(() => ({ tokens: rowsOf(tokens, n0, n - n0), mask: rowsOf(mask, n0, n - n0) })))
      return { kind: 'prefix', cache: planOf(cache), tokens: rows.tokens!, mask: rows.mask! }
    },
  )
}

/** The head's outputs [n, k] for an evaluation batch (no dropout), as `headLogits`. */
export async function headRows(model: Body, tuning: Tuning, batch: Batch, cache: Cache, split?: PassSplit | null): Promise<tf.Tensor2D> {
  const n = batch.input.shape[0]!
  const local = (b: Batch) => headLogits(model, tuning, b, cache, tuning.settings, false)
  if (!split || n < 2) return tf.tidy(() => local(batch))
  const part = (from: number, count: number) => {
    const out: Record<string, tf.Tensor> = {}
    for (const [k, v] of Object.entries(batch)) if (v instanceof tf.Tensor) out[k] = rowsOf(v, from, count)
    return out
  }
  return (await halves(
    split,
    n,
    (n0) => local(part(0, n0) as unknown as Batch),
    async (n0) => ({ kind: 'head', cache: planOf(cache), batch: await readRows(tf.tidy(() => part(n0, n - n0))) }),
  )) as tf.Tensor2D
}

/** `labelLogProbs` of a [B, T] batch whose picks are in row order. */
export async function labelLogProbRows(model: TinyGpt, tokens: Int32Array, shape: [number, number], picks: Int32Array, targets: Int32Array, hooks?: ForwardHooks, split?: PassSplit | null): Promise<Float32Array> {
  const [b, t] = shape
  let out: tf.Tensor
  if (!split || b < 2 || hooks) {
    // With hooks (a run's LoRA or adapters) the pass reads the loop's tuning: not sent.
    out = tf.tidy(() => labelLogProbs(model, tf.tensor2d(tokens, shape, 'int32'), picks, targets, hooks))
  } else {
    const n0 = split.ownRows(b)
    let m0 = 0
    while (m0 < picks.length && picks[m0]! < n0 * t) m0++
    out = await halves(
      split,
      b,
      () => labelLogProbs(model, tf.tensor2d(tokens.subarray(0, n0 * t), [n0, t], 'int32'), picks.subarray(0, m0), targets.subarray(0, m0)),
      async () => ({
        kind: 'labelLogProbs',
        tokens: { shape: [b - n0, t], dtype: 'int32', data: tokens.slice(n0 * t) },
        picks: picks.slice(m0).map((p) => p - n0 * t),
        targets: targets.slice(m0),
      }),
    )
  }
  const values = (await out.data()) as Float32Array
  out.dispose()
  return values
}

/** Rows of a pass (its first dimension; a label pass's token rows). */
export function passRows(pass: InferPass): number {
  if (pass.kind === 'head') return Object.values(pass.batch)[0]?.shape[0] ?? 0
  return pass.tokens.shape[0] ?? 0
}

/** A pass cut into consecutive shares of `sizes` rows, one a worker (dataParallel.ts with more
 *  than two workers); `joinOutputs` puts their outputs back in row order. A label pass's picks
 *  (flat row·T + position indices, in row order) go with their rows, counted from the share's
 *  first row. */
export function splitPass(pass: InferPass, sizes: readonly number[]): InferPass[] {
  if (pass.kind === 'prefix') {
    const tokens = splitRows({ tokens: pass.tokens, mask: pass.mask }, sizes)
    return tokens.map((r) => ({ kind: 'prefix', cache: pass.cache, tokens: r.tokens!, mask: r.mask! }))
  }
  if (pass.kind === 'head') return splitRows(pass.batch, sizes).map((batch) => ({ kind: 'head', cache: pass.cache, batch }))
  const t = pass.tokens.shape[1] ?? 0
  const rows = splitRows({ tokens: pass.tokens }, sizes)
  let from = 0
  let m = 0
  return sizes.map((count, i) => {
    const start = m
    while (m < pass.picks.length && pass.picks[m]! < (from + count) * t) m++
    const offset = from * t
    from += count
    return { kind: 'labelLogProbs', tokens: rows[i]!.tokens!, picks: pass.picks.slice(start, m).map((p) => p - offset), targets: pass.targets.slice(start, m) }
  })
}

/** Shares' outputs (rows first) as one, in order. */
export function joinOutputs(outs: readonly PassOutput[]): PassOutput {
  if (outs.length === 1) return outs[0]!
  const rows = outs.reduce((a, o) => a + (o.shape[0] ?? 0), 0)
  const data = new Float32Array(outs.reduce((a, o) => a + o.data.length, 0))
  let at = 0
  for (const o of outs) {
    data.set(o.data, at)
    at += o.data.length
  }
  return { shape: [rows, ...(outs[0]?.shape.slice(1) ?? [])], data }
}

/** The replica's side: one pass on its rows, read back as floats (inside its own tidy). */
export async function runPass(model: Body, tuning: Tuning, pass: InferPass): Promise<PassOutput> {
  const cache = pass.kind === 'labelLogProbs' ? null : new FeatureCache(pass.cache.prefixBlocks, pass.cache.pooled, { train: 0, val: 0 })
  try {
    const out = tf.tidy(() => {
      if (pass.kind === 'prefix') return frozenPrefix(model, tuning, cache!, fromData(pass.tokens), fromData(pass.mask) as tf.Tensor2D)
      if (pass.kind === 'head') {
        const batch = Object.fromEntries(Object.entries(pass.batch).map(([k, t]) => [k, fromData(t)])) as unknown as Batch
        return headLogits(model, tuning, batch, cache!, tuning.settings, false)
      }
      if (!('lmLogits' in model)) throw new Error('Label log-probabilities need the built-in text transformer')
      return labelLogProbs(model as unknown as TinyGpt, fromData(pass.tokens) as tf.Tensor2D, pass.picks, pass.targets)
    })
    const data = (await out.data()) as Float32Array
    const shape = [...out.shape]
    out.dispose()
    return { shape, data: data.slice() }
  } finally {
    cache?.dispose()
  }
}
