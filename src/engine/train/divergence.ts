/**
 * The loop's divergence rule (fineTune.ts), one rule for every loss it reads after an update:
 * a training step's loss and an epoch's validation loss. Not a number, or above
 * DIVERGED_ABOVE, is divergence: every built-in objective's loss is of order 1 to 10 on a
 * model that learns (cross-entropy near ln C or ln V, about 11 for a 50,257-token
 * vocabulary; regression's squared error is on standardised targets, 1 for the mean), so a
 * loss of ten thousand means the updates have thrown the weights far off, not that the data
 * is hard.
 * The loss of the model before any update is not checked by it (nothing was trained:
 * impossibleLoss.ts says what that is).
 */
export const DIVERGED_ABOVE = 1e4

/** Whether a loss read after an update means the run diverged. */
export function divergedLoss(loss: number): boolean {
  return !Number.isFinite(loss) || loss > DIVERGED_ABOVE
}

/** A loss as the divergence words write it: NaN / Infinity as they are, else 2 decimals of an exponent. */
export function lossWords(loss: number): string {
  return Number.isFinite(loss) ? loss.toExponential(2) : String(loss)
}
