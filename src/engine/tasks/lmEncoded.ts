/**
 * Encoded data of the language-model objectives the loop trains as Task modules:
 * instruction tuning (SFT, tasks/sftTask.ts) and preference pairs (DPO, tasks/dpoTask.ts).
 * Built from SFT examples and DPO pairs (tasks/sft/data.ts, tasks/dpo/data.ts) by
 * tasks/lmObjectiveData.ts; the batch source (train/batchSource.ts) uploads them.
 */
export interface SftEncoded {
  kind: 'sft'
  n: number
  seqLen: number
  /** n rows of seqLen + 1 ids (inputs are the first seqLen, targets the last seqLen), right-padded. */
  tokens: Int32Array
  /** [n, seqLen]: 1 where the target (the token at t + 1) is an answer token that counts in the loss. */
  lossMask: Float32Array
}

export interface PairsEncoded {
  kind: 'pairs'
  /** Pairs. */
  n: number
  seqLen: number
  /** [n, seqLen + 1] ids of prompt + chosen answer, and of prompt + rejected answer, right-padded. */
  chosen: Int32Array
  rejected: Int32Array
  /** [n, seqLen]: 1 where the target is a token of the final answer (as SftEncoded.lossMask). */
  chosenMask: Float32Array
  rejectedMask: Float32Array
  /** The reference policy's (the model before tuning) summed answer log-probabilities per pair. */
  refChosen: Float32Array
  refRejected: Float32Array
  /** DPO's β and the weight of the SFT term on the chosen answers (0 = off). */
  beta: number
  sftWeight: number
}
