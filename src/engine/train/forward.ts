/**
 * The forward pass the loop and every task share: which leading blocks are frozen and
 * cached, filling that cache, gathering a batch (cached prefix, pooled features or raw
 * inputs) and running the rest of the body to features. Tasks (engine/tasks/) turn the
 * features into a loss and metrics; none of this knows which task or model kind runs.
 */
import * as tf from '@tensorflow/tfjs'
import type { Settings } from '../../settings/types'
import type { Body } from '../models/body'
import type { Adapters } from '../tuning/adapters'
import { frozenPrefixBlocks, trainableBlocks } from '../tuning/freeze'
import type { Lora } from '../tuning/lora'
import { FeatureCache } from './featureCache'
import { prefetchImages } from './imageBatches'
import { augmentBatch, type AugmentOptions } from '../data/images/augment'
import { SYMMETRIC } from '../data/images/pixels'
import type { BatchSource, RawBatch } from './batchSource'
import type { Seed } from './seeds'
import type { Encoded } from './encoded'
import type { Tuning } from './fineTune'
import { logitRows, vocabOf } from './logitBudget'
import { prefixRows, type PassSplit } from './inferencePasses'

export type Cache = FeatureCache

const EVAL_BATCH = 64
/** Rows per evaluation pass: 64, or fewer where the body says a pass of 64 would not fit
 *  (a 224 px MobileNet on the wasm heap). */
export const evalBatch = (model: Body) => Math.min(EVAL_BATCH, model.rowsPerPass ?? EVAL_BATCH)

/** Rows per evaluation pass of a causal LM's logits [rows, T, V]: the body's own rows per pass,
 *  fewer when its vocabulary is large (logitBudget.ts: a 50,257-token GPT-2 at 64 positions: 5
 *  rows, not 64, whose logits alone would take 823 MB and abort WebAssembly's heap). */
export function lmEvalRows(model: Body, set: object): number {
  const seqLen = 'seqLen' in set && typeof set.seqLen === 'number' ? set.seqLen : 0
  return logitRows(vocabOf(model), seqLen, evalBatch(model))
}

/** Leading blocks to cache at this epoch, and whether the cache can hold final pooled features. */
export function cachePlan(model: Body, tuning: Tuning, s: Settings, epoch: number): { blocks: number; pooled: boolean } {
  const n = model.config.nLayers
  const blocks = frozenPrefixBlocks(model, s, epoch, [tuning.lora, tuning.adapters].filter((t): t is Lora | Adapters => t !== null))
  const lnfFrozen = !trainableBlocks(n, s, epoch).has(n)
  return { blocks, pooled: blocks === n && lnfFrozen }
}

/** The cache for this epoch's frozen prefix: the old one while the plan is unchanged. */
export function planCache(model: Body, tuning: Tuning, train: Encoded, val: Encoded, s: Settings, epoch: number, old: Cache | null): Cache {
  // A pair is two sequences under one row index: no cache keyed by row holds it.
  const plan = train.kind === 'pairs' ? { blocks: 0, pooled: false } : cachePlan(model, tuning, s, epoch)
  if (old && old.prefixBlocks === plan.blocks && old.pooled === plan.pooled) return old
  old?.dispose()
  return new FeatureCache(plan.blocks, plan.pooled, { train: train.n, val: val.n })
}

/** Runs the frozen prefix (no dropout, no gradient) for rows of `idx` not cached yet; with
 *  `split` (a run on two workers) each pass's rows are halved between them (inferencePasses.ts). */
export async function fillCache(model: Body, tuning: Tuning, cache: Cache, source: BatchSource, side: 'train' | 'val', idx: number[], split?: PassSplit | null): Promise<void> {
  const set = source.set
  // Images stored outside memory are loaded here, before the synchronous tidy; cached rows are not loaded again.
  const need = cache.active ? idx.filter((r) => !cache.has(side, r)) : idx
  if (need.length) await prefetchImages(set, need)
  const computeSplit = split
    ? async (part: number[]) => {
        const raw = tf.tidy(() => source.inputs(part) as unknown as tf.TensorContainer) as unknown as RawBatch
        try {
          return await prefixRows(model, tuning, cache, raw.tokens, raw.mask, split)
        } finally {
          tf.dispose(Object.values(raw) as tf.Tensor[])
        }
      }
    : undefined
  await cache.ensure(side, idx, model.rowsPerPass ?? 64, (part) => {
    const { tokens, mask } = source.inputs(part)
    return frozenPrefix(model, tuning, cache, tokens, mask)
  }, computeSplit)
}

/** What the cache holds for a batch of inputs: the frozen blocks' output, or pooled features. */
export function frozenPrefix(model: Body, tuning: Tuning, cache: Cache, tokens: tf.Tensor, mask: tf.Tensor2D): tf.Tensor {
  const opts = { hooks: tuning.hooks, attentionMask: mask }
  if (!cache.pooled) return model.prefix(tokens, cache.prefixBlocks, opts)
  const hidden = model.forwardFrom(model.prefix(tokens, 0, opts), 0, opts)
  // A head reads pooled features; without one (language modelling) every position's state.
  return tuning.head ? model.pool(hidden, mask, tuning.pooling) : hidden
}

/** A training batch of augmented images: the raw pixels of `idx`, augmented on the device
 *  (engine/data/images/augment.ts), then run through the frozen prefix here instead of being
 *  read from the cache, in the form gatherBatch would give. Call inside tf.tidy, outside
 *  the gradient (the prefix is frozen). */
export function augmentedBatch(model: Body, tuning: Tuning, source: BatchSource, cache: Cache, idx: number[], opts: AugmentOptions, seed: number): Batch {
  const set = source.set
  if (set.kind !== 'image') throw new Error('Augmentation applies to image data only')
  const rows = source.rows(idx, true)
  const mask = rows.inputs!.mask
  const pixels = augmentBatch(rows.inputs!.tokens as tf.Tensor4D, opts, seed, set.norm ?? SYMMETRIC)
  const input = cache.active ? frozenPrefix(model, tuning, cache, pixels, mask) : pixels
  return { input, ...(cache.pooled ? {} : { mask }), ...(rows.labels ? { labels: rows.labels } : {}) }
}

export interface Batch {
  input: tf.Tensor // tokens [B, T] int32, cached prefix [B, T, D] or pooled [B, D]
  mask?: tf.Tensor2D // [B, T]; absent when the cache holds pooled features (nothing left to pool)
  labels?: tf.Tensor1D // classification
  values?: tf.Tensor1D // regression: standardised targets
  targets?: tf.Tensor2D // lm: next ids [B, T]
  lossMask?: tf.Tensor2D // sft, pairs: 1 where the target counts in the loss (pairs: chosen rows, then rejected)
  reference?: tf.Tensor2D // pairs: [B, 2] the reference policy's chosen, rejected log-probabilities
  taskLabels?: Map<string, tf.Tensor1D> // multitask: labels per task name
}

export function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i)
}

/** A training or evaluation batch: the cached prefix or pooled features when the cache holds
 *  them, else the raw inputs, with the mask for pooling and the targets. */
export function gatherBatch(source: BatchSource, cache: Cache, side: 'train' | 'val', idx: number[]): Batch {
  const set = source.set
  // Pooled features need neither tokens nor a mask: building them was two uploads per
  // head-only step for nothing. Cached image rows need no pixels (they may not be loaded).
  const cachedImages = cache.active && set.kind === 'image'
  const rows = source.rows(idx, !cache.pooled && !cachedImages)
  const mask = cache.pooled ? undefined : (rows.inputs?.mask ?? (tf.ones([idx.length, 1]) as tf.Tensor2D))
  const input = cache.active ? cache.gather(side, idx) : rows.inputs!.tokens
  const targets = rows.inputs?.targets
  const { lossMask, reference } = rows.inputs ?? {}
  return { input, ...(lossMask ? { lossMask } : {}), ...(reference ? { reference } : {}), ...(mask ? { mask } : {}), ...(rows.labels ? { labels: rows.labels } : {}), ...(rows.values ? { values: rows.values } : {}), ...(targets ? { targets } : {}), ...(rows.taskLabels ? { taskLabels: rows.taskLabels } : {}) }
}

/** `gatherBatch` outside a tidy (its tensors kept; `disposeBatch` frees them), for a pass
 *  that awaits (inferencePasses.ts). Not for multitask batches (a Map is not kept). */
export function heldBatch(source: BatchSource, cache: Cache, side: 'train' | 'val', idx: number[]): Batch {
  return tf.tidy(() => gatherBatch(source, cache, side, idx) as unknown as tf.TensorContainer) as unknown as Batch
}

export function disposeBatch(b: Batch): void {
  tf.dispose(Object.values(b).filter((t): t is tf.Tensor => t instanceof tf.Tensor))
}

/** Pooled features (with a head) or final hidden states, from whatever the cache computed. */
export function featuresOf(model: Body, tuning: Tuning, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): tf.Tensor {
  const opts = { training, dropout: s.dropout, hooks: tuning.hooks, ...(seed === undefined ? {} : { seed }), ...(batch.mask ? { attentionMask: batch.mask } : {}), ...(training && tuning.trainable ? { trainable: tuning.trainable } : {}) }
  if (cache.pooled) return batch.input
  const x = cache.active ? batch.input : model.embed(batch.input, opts)
  const hidden = model.forwardFrom(x, cache.prefixBlocks, opts)
  return tuning.head ? model.pool(hidden, batch.mask!, tuning.pooling) : hidden
}

/** The task head's output for a batch (classification logits or one regression value). */
export function headLogits(model: Body, tuning: Tuning, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): tf.Tensor2D {
  if (!tuning.head) throw new Error('This task needs a head on the model: the run built none.')
  return tuning.head.apply(featuresOf(model, tuning, batch, cache, s, training, seed) as tf.Tensor2D, training, s.dropout, seed)
}
