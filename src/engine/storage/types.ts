/** What the studio keeps in IndexedDB. Plain, structured-clone friendly records: the worker
 *  writes them, the page only ever sees the metadata (never the weights). */
import type { Settings } from '../../settings/types'
import type { Metrics } from '../types/metrics'
import type { ObjectiveRun } from '../types/lmObjectives'
import type { DoneReason, EpochPoint, StepPoint } from '../types/run'
import type { EarlyStoppingState } from '../train/earlyStopping'
import type { OptimizerState } from '../train/optimizers'
import type { PlateauState } from '../train/plateau'

// A run's chart points are domain types (engine/types/run.ts); runs store them as they are.
export type { EpochPoint, StepPoint } from '../types/run'

/** One stored tensor: float32 values under a stable name ("body/h0.attn.qkv.kernel",
 *  "tuning/head.task.kernel"). */
export interface StoredTensor {
  name: string
  shape: number[]
  data: ArrayBuffer // float32, little-endian (the platform's)
}

/** An optimizer parameter group: the variables it steps (stable names, in order) and its state. */
export interface StoredOptimizerGroup {
  names: string[]
  state: OptimizerState
}

/** Everything the loop needs to continue a run exactly where a checkpoint left it. */
export interface LoopResumeState {
  epoch: number // epochs completed
  step: number // optimizer steps taken
  early: EarlyStoppingState
  plateau: PlateauState
  baseline: Metrics
  baselineNote: string
  baselineName?: string // absent in checkpoints saved before the line to beat was named
}

export type CheckpointStatus = 'complete'

/** The listing record; the weights sit in their own store under the same id. */
export interface CheckpointMeta {
  id: string
  runId: string
  name: string // a person may rename it
  createdAt: number // ms since epoch
  epoch: number // epochs completed (1-based for people)
  step: number
  train: Metrics
  val: Metrics
  monitored: number // the value early stopping watched, for "best"
  mode: 'min' | 'max'
  isBest: boolean // best of its run when it was saved
  pinned: boolean // renamed by a person: never pruned
  method: Settings['method']
  bytes: number // weights + optimizer state
  settings: Settings
  modelId: string
  modelKind?: 'text' | 'image' | 'tabular' // absent in checkpoints saved before image runs were recorded
  datasetId: string
  datasetName: string
  classes?: string[] // the dataset's class names (classification): a head fits only these
  objective?: RunObjectiveRef // an SFT or DPO run: what it trained on instead of a dataset
}

/** An instruction (SFT) or preference (DPO) run's objective, and the file it trained on. */
export interface RunObjectiveRef extends ObjectiveRun {
  file: string
  validationFile: string | null
}

export interface CheckpointBlob {
  id: string
  weights: StoredTensor[]
  optimizer: StoredOptimizerGroup[]
  loop: LoopResumeState
}

export type RunStatus = 'running' | 'paused' | 'interrupted' | 'failed' | DoneReason

export interface DatasetRef {
  id: string
  name: string
  storedId?: string // its id in the dataset store, to open it again for a resume
}

export interface RunRecord {
  id: string
  name: string
  status: RunStatus
  startedAt: number
  updatedAt: number
  settings: Settings
  dataset: DatasetRef
  model: { id: string; url: string; title: string; kind?: 'text' | 'image' | 'tabular' }
  steps: StepPoint[]
  epochs: EpochPoint[]
  baseline: Metrics | null
  message: string
  objective?: RunObjectiveRef // an SFT or DPO run (its dataset is the objective's file)
}

/** Why a write did not happen; returned, never thrown, so the caller can pause and ask. */
export type StorageError =
  | { kind: 'quota'; message: string; needed: number; available: number | null }
  | { kind: 'unavailable'; message: string }
  | { kind: 'failed'; message: string }

export type StorageResult<T> = { ok: true; value: T } | { ok: false; error: StorageError }

/** `navigator.storage.estimate()`, passed in so engine code stays free of globals. */
export type EstimateFn = () => Promise<{ usage?: number; quota?: number }>
