/** The one contract between the page and the training worker. Both sides import only
 *  this file from each other; `type` narrows every payload, so no casts are needed. */
import type { BackendInfo } from '../engine/backend'
import type { BackendChoice, Settings } from '../settings/types'
import type { ExportChoice } from '../engine/export/tuningPack'
import type { SweepPoint } from '../engine/tuning/blend'

export type { ExportChoice, SweepPoint }
// The engine owns its domain types; the page gets them here, never from src/engine.
import type { DoneReason, EpochEvent, LayerSummary, Metrics, ModelInput, ModelLimits, ModelSummary, PlaygroundAnswer, PlaygroundInput, RunSummary, SettingsPlan, StepEvent, TaskKind, TaskMetrics, Which } from '../engine/types'
export type { BackendInfo, DoneReason, EpochEvent, LayerSummary, Metrics, ModelInput, ModelLimits, ModelSummary, PlaygroundAnswer, PlaygroundInput, RunSummary, SettingsPlan, StepEvent, TaskKind, TaskMetrics, Which }
import type { DataCommand, DataEvent, DatasetDetails } from './dataProtocol'
import type { CheckpointCommand, CheckpointEvent } from './checkpointProtocol'
import type { LmCommand, LmEvent } from './lmProtocol'
import type { HfCommand, HfEvent } from './hfProtocol'
import type { PlaygroundChat } from '../engine/types/playground'
export type { PlaygroundChat }

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
  details?: DatasetDetails // roles, split, lengths, storage, images (see dataProtocol.ts)
}

export type ToWorker =
  | { type: 'init'; backend: BackendChoice }
  | { type: 'loadDataset'; source: { kind: 'url'; url: string; name: string } | { kind: 'file'; file: File } }
  | { type: 'loadModel'; source: { kind: 'builtin'; id: string; url: string } | { kind: 'url'; url: string } | { kind: 'file'; file: File } | { kind: 'files'; files: File[] } }
  | { type: 'configure'; settings: Settings }
  | { type: 'train'; runId: string; settings: Settings }
  | { type: 'pause'; runId: string }
  | { type: 'resume'; runId: string }
  | { type: 'stop'; runId: string }
  | { type: 'evaluate' }
  | { type: 'crash' } // test hook: throws inside the worker to prove errors reach the page
  // Interpolation θ(α) = (1−α)·θ_base + α·θ_tuned and export (see worker/exportCommands.ts).
  | { type: 'interpolate'; alpha: number } // apply α to the model (head stays tuned)
  | { type: 'keepAlpha'; alpha: number } // apply α and keep it as the chosen one
  | { type: 'sweep'; points: number } // validation metric at `points` α values from 0 to 1
  | { type: 'export'; choice: ExportChoice; alpha: number; metrics: { base: Metrics | null; tuned: Metrics | null; baseName?: string | null } }
  | DataCommand // datasets: storage, roles, validation file, images (dataProtocol.ts)
  | CheckpointCommand // checkpoints and run history (checkpointProtocol.ts)
  | LmCommand // instruction and preference tuning, learning without labels (lmProtocol.ts)
  | HfCommand // Hugging Face models: probe a repo, load, stored files (hfProtocol.ts)
  // Playground: try the model before and after fine-tuning (see worker/playground.ts).
  | { type: 'predict'; requestId: string; input: PlaygroundInput }
  | { type: 'generate'; requestId: string; prompt: string; maxTokens: number; temperature: number; topK: number; seed: number; chat?: PlaygroundChat }
  | { type: 'stopGenerate'; requestId: string }

export type FromWorker =
  | { type: 'ready' }
  | { type: 'backend'; info: BackendInfo }
  | { type: 'progress'; task: 'backend' | 'dataset' | 'model' | 'features' | 'baseline' | 'sweep' | 'export'; done: number; total: number; label: string }
  | { type: 'dataset'; summary: DatasetSummary }
  // loaded: posted as a load made this the held model (a built-in, a URL, model files, a studio
  // .zip's or a Hugging Face model), even under the id of the one before; a plan re-posts the
  // summary without it
  | { type: 'model'; summary: ModelSummary; loaded?: true }
  // trainExamples: what one epoch steps over (rows, or token windows for language modelling), when the worker knows
  | ({ type: 'plan' } & SettingsPlan)
  | { type: 'baseline'; runId: string; metrics: Metrics; note: string; name: string } // name: the line to beat, e.g. "majority class (ham)"
  | ({ type: 'step'; runId: string } & StepEvent)
  | ({ type: 'epoch'; runId: string } & EpochEvent)
  | { type: 'state'; runId: string; state: 'running' | 'paused' }
  // the run set the model back to its base weights (before its 'running' state): what was in use
  // before (a restored checkpoint's weights) is gone, even if the run then fails to start. Without
  // runId: an adapter-only .zip's import or a PEFT adapter's load did, before applying the
  // adapter (which can still fail)
  | { type: 'weightsReset'; runId?: string }
  | { type: 'done'; runId: string; reason: DoneReason; summary: RunSummary; message: string }
  | { type: 'evaluation'; metrics: Metrics }
  // restart: the engine cannot go on in this worker (an aborted WebAssembly module): start a fresh one.
  // loadId: the failed command was that Hugging Face load (hfLoad), which this error ends.
  | { type: 'error'; runId?: string; loadId?: number; message: string; where?: string; restart?: boolean }
  | { type: 'interpolation'; alpha: number; kept: number; metrics: Metrics }
  | { type: 'sweep'; points: SweepPoint[]; best: number | null }
  | { type: 'exported'; fileName: string; choice: ExportChoice; bytes: ArrayBuffer } // transfer `bytes`
  | { type: 'imported'; fileName: string; choice: ExportChoice; title: string; metrics: Metrics | null; note: string }
  | DataEvent // stored datasets list, augmentation preview (dataProtocol.ts)
  | CheckpointEvent // checkpoints, runs, storage, recovery (checkpointProtocol.ts)
  | LmEvent // objective data and mask preview, chat, TRL recipe, pseudo-labels (lmProtocol.ts)
  | HfEvent // Hugging Face repo sizes and memory plans, stored repos (hfProtocol.ts)
  | PlaygroundAnswer // prediction, generation, or why a request gave no answer (engine/types/playground.ts)
