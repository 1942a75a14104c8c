/**
 * A training task: what a run learns to predict and how it is judged. Each task module
 * supplies its loss, its evaluation on a whole split, its line to beat (baseline) and the
 * words the page shows at the end of a run. The loop (engine/train/fineTune.ts) calls these
 * and never asks which task runs; `taskFor` (tasks/index.ts) picks the module from the
 * encoded data once.
 *
 * A new task is one module here plus one line in `tasks/index.ts` (and, when it reads new
 * targets, their encoding in engine/train/encoded.ts). `registerTask` adds one at run time
 * (tests do: session.test.ts trains a task defined in the test file).
 */
import type * as tf from '@tensorflow/tfjs'
import type { Settings } from '../../settings/types'
import type { Metrics } from '../types/metrics'
import type { RunSummary } from '../types/run'
import type { Body } from '../models/body'
import type { BatchSource } from '../train/batchSource'
import type { Encoded } from '../train/encoded'
import type { Batch, Cache } from '../train/forward'
import type { PassSplit } from '../train/inferencePasses'
import type { Tuning } from '../train/fineTune'
import type { Seed } from '../train/seeds'
import type { LossRange } from '../train/impossibleLoss'

/** The line to beat a run is measured against, named for the page. */
export interface Baseline {
  metrics: Metrics
  note: string
  name: string
}

export interface BaselineInput {
  /** The base model with the run's untrained head (or none), on the validation split. */
  untrained: Metrics
  train: Encoded
  val: Encoded
  tuning: Tuning
  /** The pretrained LM scoring class names, when the caller measured it. */
  zeroShot: Metrics | null
  zeroShotNote?: string
}

export interface Task {
  /** For messages and tests ('classification', 'regression', …). */
  readonly name: string
  /** Whether validation accuracy exists (the "val_acc" monitor watches it). */
  readonly hasAccuracy: boolean
  /** The values this task's loss can take (train/impossibleLoss.ts): the loop stops a run whose
   *  backend produces a loss outside them. Absent: not checked. */
  readonly lossRange?: LossRange
  /** The training loss of one batch (inside the gradient). */
  loss(model: Body, tuning: Tuning, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): tf.Scalar
  /** Loss and this task's metrics on a whole set, in batches, reading values with await.
   *  `split` (a run on two workers; train/inferencePasses.ts): a task may halve each batch's
   *  rows between the workers; its metrics are those of the whole output either way. */
  evaluate(model: Body, tuning: Tuning, source: BatchSource, cache: Cache, side: 'train' | 'val', split?: PassSplit | null): Promise<Metrics>
  /** An epoch's training metrics from its mean loss. */
  trainMetrics(loss: number): Metrics
  /** The line to beat. */
  baseline(input: BaselineInput): Baseline
  /** The end-of-run words for the best validation result against the line to beat. */
  describeBest(summary: RunSummary, val: Encoded): string
}

/** A task with what it reads: an entry of the registry (tasks/index.ts). */
export interface ReadingTask extends Task {
  /** Whether this task trains on `set` (what the encoded data predicts); the first task in
   *  the registry that reads a set trains it. */
  reads(set: Encoded, tuning: Pick<Tuning, 'multi'>): boolean
}

export const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)}%`)
export const fmt = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(2))
export const fmtNum = (x: number | undefined) => (x === undefined ? '–' : x.toPrecision(4))
