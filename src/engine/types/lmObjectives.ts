/** Domain types of the language-model objectives (issue 17): instruction tuning (SFT) and
 *  preference tuning (DPO). The protocol (worker/lmProtocol.ts) re-exports them. */

export type LmObjective = 'sft' | 'dpo'

/** What an SFT or DPO run trains on besides the settings: which objective, DPO's β and the
 *  weight of its SFT term on the chosen answers, and whether short SFT rows are packed. */
export interface ObjectiveRun {
  objective: LmObjective
  beta: number
  sftWeight: number
  pack: boolean
}

export interface LmChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

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
  /** The model whose tokenizer and chat template the preview shows. */
  model: string
}

/** A DPO run's training batches: reward accuracy, margin, chosen and rejected log-probabilities. */
export interface DpoStepPoint {
  batch: number
  rewardAccuracy: number
  rewardMargin: number
  chosenLogProb: number
  rejectedLogProb: number
}
