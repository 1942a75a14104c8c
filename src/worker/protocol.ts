/** The one contract between the page and the training worker. Both sides import only
 *  this file from each other; `type` narrows every payload, so no casts are needed. */
import type { BackendInfo } from '../engine/backend'
import type { BackendChoice, Settings } from '../settings/types'

export type TaskKind = 'text-classification' | 'language-modelling'

export interface DatasetSummary {
  id: string
  name: string
  task: TaskKind
  rows: number // kept rows
  rejected: number
  rejectedReasons: { row: number; reason: string }[] // first few, for the preview
  warnings: string[]
  classes: { name: string; count: number }[] // empty for language modelling
  preview: string[][] // first rows (text, label), shown as text, never as HTML
  columns: string[]
  bytes: number
  source: string // where it came from: "sample: spam-ham", "file: mine.csv"
}

export interface LayerSummary {
  name: string
  type: string
  block: number
  outputShape: string
  params: number
  trainable: boolean
}

export interface ModelSummary {
  id: string
  title: string
  description: string
  pretrained: boolean
  card?: Record<string, unknown>
  layers: LayerSummary[]
  totalParams: number
  trainableParams: number
  nLayers: number
  dModel: number
  seqLen: number
  vocabSize: number
}

export interface Metrics {
  loss: number
  accuracy?: number // 0..1
  macroF1?: number
  perplexity?: number
  confusion?: number[][] // [truth][prediction]
}

export interface StepEvent {
  step: number // optimizer steps done
  totalSteps: number
  epoch: number // 0-based epoch in progress
  epochs: number
  loss: number // mean training loss over the last reporting window
  lr: number
  samplesPerSec: number
  etaSec: number
}

export type DoneReason = 'finished' | 'stopped' | 'early-stopped' | 'diverged'

export interface RunSummary {
  epochs: number // epochs completed
  bestEpoch: number
  best: Metrics
  baseline: Metrics
  seconds: number
}

export type ToWorker =
  | { type: 'init'; backend: BackendChoice }
  | { type: 'loadDataset'; source: { kind: 'url'; url: string; name: string } | { kind: 'file'; file: File } }
  | { type: 'loadModel'; source: { kind: 'builtin'; id: string; url: string } | { kind: 'url'; url: string } }
  | { type: 'configure'; settings: Settings }
  | { type: 'train'; runId: string; settings: Settings }
  | { type: 'pause'; runId: string }
  | { type: 'resume'; runId: string }
  | { type: 'stop'; runId: string }
  | { type: 'evaluate' }
  | { type: 'crash' } // test hook: throws inside the worker to prove errors reach the page

export type FromWorker =
  | { type: 'ready' }
  | { type: 'backend'; info: BackendInfo }
  | { type: 'progress'; task: 'backend' | 'dataset' | 'model' | 'features' | 'baseline'; done: number; total: number; label: string }
  | { type: 'dataset'; summary: DatasetSummary }
  | { type: 'model'; summary: ModelSummary }
  | { type: 'plan'; trainableParams: number; totalParams: number; problems: { field: string; message: string }[] }
  | { type: 'baseline'; runId: string; metrics: Metrics; note: string }
  | ({ type: 'step'; runId: string } & StepEvent)
  | { type: 'epoch'; runId: string; epoch: number; train: Metrics; val: Metrics; lr: number; isBest: boolean }
  | { type: 'state'; runId: string; state: 'running' | 'paused' }
  | { type: 'done'; runId: string; reason: DoneReason; summary: RunSummary; message: string }
  | { type: 'evaluation'; metrics: Metrics }
  | { type: 'error'; runId?: string; message: string; where?: string }
