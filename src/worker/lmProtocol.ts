/**
 * Messages of the language-model objectives (issue 17): instruction tuning (SFT),
 * preference tuning (DPO) and learning without labels (pseudo-labels). The worker handler maps
 * them to the engine session (SFT and DPO) and pseudoLabelHost.ts; the page side is ui/lmObjectives/. Runs post the ordinary run events
 * (baseline, step, epoch, done) under their runId, so the live charts and the run bar follow
 * them like any run.
 */
import type { Settings } from '../settings/types'
import type { Metrics } from '../engine/types/metrics'
import type { EpochPoint, StepPoint } from '../engine/types/run'

// The objectives' domain types are the engine's (engine/types/lmObjectives.ts).
import type { DpoStepPoint, LmChatMessage, LmDataSummary, LmObjective } from '../engine/types/lmObjectives'
export type { DpoStepPoint, LmChatMessage, LmDataSummary, LmObjective, MaskToken, ObjectiveRun } from '../engine/types/lmObjectives'

export type LmCommand =
  // A training file (and optionally a held-out file) for an objective; read and checked in the worker.
  // columns: a CSV's prompt and completion columns (default: those named so, else the first two).
  | { type: 'lmData'; objective: LmObjective; file: File; validation?: File; seqLen: number; columns?: { prompt: string; completion: string } }
  // Train the loaded objective data through the loop (fineTune) with these settings.
  | { type: 'lmTrain'; runId: string; objective: LmObjective; settings: Settings; beta: number; sftWeight: number; pack: boolean }
  // One chat turn: the base model's and the tuned model's answers, with the same template.
  // raw: prompt/completion data: the last user message is the prompt itself, continued as training rows were.
  | { type: 'lmChat'; requestId: string; messages: LmChatMessage[]; maxTokens: number; raw: boolean }
  // The TRL recipe of the current objective data and these settings (a script, a data file, a command).
  | { type: 'lmRecipe'; objective: LmObjective; settings: Settings; beta: number; sftWeight: number; pack: boolean }
  // Learning without labels: zero-shot pseudo-labels of an unlabelled text file.
  | { type: 'pseudoLabel'; file: File; validation?: File; classes: string[] }
  // Self-training: rows at or above the threshold train a classifier head; `rounds` re-label and train again.
  // balance: each class keeps at most as many rows as the smallest (most confident first).
  // resume: a saved self-training job's id (pseudoRestore first): its next round onwards, on its labels.
  | { type: 'pseudoTrain'; runId: string; settings: Settings; threshold: number; rounds: number; balance: boolean; resume?: string }
  // Self-training kept round by round in IndexedDB (engine/storage/selfTraining.ts): list, restore
  // (the texts, labels, rounds' figures and the last round's model), delete.
  | { type: 'pseudoSaved' }
  | { type: 'pseudoRestore'; id: string }
  | { type: 'pseudoDelete'; id: string }

/** A self-training job kept in this browser, as the page lists it. */
export interface SavedSelfTraining {
  id: string
  name: string // the unlabelled file
  classes: string[]
  roundsDone: number
  rounds: number // planned
  modelTitle: string
  updatedAt: number
  /** What it takes in this browser: its record and every round's weights. */
  bytes: number
}

export interface PseudoRound {
  round: number // 0 = the zero-shot labels
  kept: number
  keptPerClass: number[]
  /** Accuracy of this round's labels on the labelled validation file, if one was given. */
  validationAccuracy: number | null
  /** A round that did not finish (stopped, or its loss diverged): shown, but not kept. */
  notKept?: 'stopped' | 'diverged'
}

export interface PseudoSummary {
  name: string
  rows: number
  classes: string[]
  /** Confidence of every row's zero-shot label (softmax over the calibrated class scores). */
  confidence: number[]
  labels: number[]
  /** Histogram of confidence: bin edges [lo, hi) and counts. */
  histogram: { lo: number; hi: number; count: number }[]
  validationName: string | null
  /** Zero-shot accuracy on the validation file (the base model's own labels), if given. */
  zeroShotAccuracy: number | null
  /** Rows of the file that came with a label (kept as given, confidence 1). */
  labelledRows: number
  /** Some example rows with their labels, for the page. */
  examples: { text: string; label: string; confidence: number }[]
}

export type LmEvent =
  | { type: 'lmData'; summary: LmDataSummary }
  | { type: 'lmChat'; requestId: string; base: string; tuned: string | null; prompt: string }
  | { type: 'lmRecipe'; files: { name: string; text: string }[] }
  | { type: 'pseudoLabels'; summary: PseudoSummary }
  // DPO training batches since the last event: reward accuracy, margin, chosen and rejected log-probabilities.
  | { type: 'lmSteps'; runId: string; points: DpoStepPoint[] }
  | { type: 'pseudoRound'; runId: string; round: PseudoRound }
  | { type: 'pseudoSaved'; jobs: SavedSelfTraining[] }
  // A saved job restored: its labelling, its finished rounds and the choices it ran with; the
  // session holds its last round's model. next: the round "continue" trains (null: all done).
  // charts: the finished rounds' loss and validation charts, one round after another.
  | { type: 'pseudoRestored'; id: string; summary: PseudoSummary; rounds: PseudoRound[]; charts: { steps: StepPoint[]; epochs: EpochPoint[]; baseline: { metrics: Metrics; note: string; name?: string } | null }; threshold: number; balance: boolean; roundsPlanned: number; next: number | null; settings: Settings; message: string }
  // Round `next` of kept job `id` was stopped: the rounds before it are kept, and it can be trained again.
  | { type: 'pseudoStopped'; runId: string; id: string; next: number; settings: Settings }
  // The job is paused before round `next` (its labels are ready), which starts on Resume; next null: resumed.
  | { type: 'pseudoPaused'; runId: string; next: number | null }
  | { type: 'lmError'; message: string; where: string }

const LM_COMMANDS = new Set<string>(['lmData', 'lmTrain', 'lmChat', 'lmRecipe', 'pseudoLabel', 'pseudoTrain', 'pseudoSaved', 'pseudoRestore', 'pseudoDelete'])
export function isLmCommand(msg: { type: string }): msg is LmCommand {
  return LM_COMMANDS.has(msg.type)
}
