/**
 * Messages of the language-model objectives (issue 17): instruction tuning (SFT),
 * preference tuning (DPO) and learning without labels (pseudo-labels). The worker side is
 * lmObjectivesHost.ts; the page side ui/lmObjectives/. Runs post the ordinary run events
 * (baseline, step, epoch, done) under their runId, so the live charts and the run bar follow
 * them like any run.
 */
import type { Settings } from '../settings/types'
import type { Metrics } from '../engine/types/metrics'

export type LmObjective = 'sft' | 'dpo'

export interface LmChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

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
  | { type: 'pseudoTrain'; runId: string; settings: Settings; threshold: number; rounds: number; balance: boolean }

/** One token of a preview row: its text and whether the loss counts it. */
export interface MaskToken {
  text: string
  trained: boolean
}

export interface LmDataSummary {
  objective: LmObjective
  name: string
  validationName: string | null
  rows: number
  validationRows: number
  /** Chat conversations (rendered with the model's chat template) rather than prompt/completion. */
  chat: boolean
  /** Refused rows, named with what to do (the first 20) and how many in all. */
  problems: { row: number; message: string; file: string }[]
  problemCount: number
  /** Rows whose prompt was cut from the left to fit the sequence length (never the answer). */
  truncated: number[]
  seqLen: number
  /** The first rows token by token: which tokens the loss counts (for DPO, the chosen answer's row). */
  preview: { row: number; tokens: MaskToken[]; rejected?: MaskToken[] }[]
  /** A CSV's columns and the two read as prompt and completion (null for JSON Lines). */
  csv: { columns: string[]; prompt: string; completion: string } | null
  /** The chat template the rows are rendered with (Jinja), when chat rows are present. */
  template: string | null
}

export interface PseudoRound {
  round: number // 0 = the zero-shot labels
  kept: number
  keptPerClass: number[]
  /** Accuracy of this round's labels on the labelled validation file, if one was given. */
  validationAccuracy: number | null
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

export interface DpoStepPoint {
  batch: number
  rewardAccuracy: number
  rewardMargin: number
  chosenLogProb: number
  rejectedLogProb: number
}

export type LmEvent =
  | { type: 'lmData'; summary: LmDataSummary }
  | { type: 'lmChat'; requestId: string; base: string; tuned: string | null; prompt: string }
  | { type: 'lmRecipe'; files: { name: string; text: string }[] }
  | { type: 'pseudoLabels'; summary: PseudoSummary }
  // DPO training batches since the last event: reward accuracy, margin, chosen and rejected log-probabilities.
  | { type: 'lmSteps'; runId: string; points: DpoStepPoint[] }
  | { type: 'pseudoRound'; runId: string; round: PseudoRound }
  | { type: 'lmError'; message: string; where: string }

const LM_COMMANDS = new Set<string>(['lmData', 'lmTrain', 'lmChat', 'lmRecipe', 'pseudoLabel', 'pseudoTrain'])
export function isLmCommand(msg: { type: string }): msg is LmCommand {
  return LM_COMMANDS.has(msg.type)
}
