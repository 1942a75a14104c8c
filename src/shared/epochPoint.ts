import type { EpochEvent, EpochPoint } from '../engine/types/run'

/** An epoch as the validation chart draws it (1-based, accuracy in percent, the metrics the task
 *  has): the live chart (state/bridge.ts), a run's record (worker/checkpointHost.ts) and a kept
 *  self-training round (worker/pseudoLabelHost.ts) make their points here, so a restored chart
 *  is the one drawn live. */
export function epochPoint(e: Pick<EpochEvent, 'epoch' | 'train' | 'val'>): EpochPoint {
  return {
    epoch: e.epoch + 1,
    trainLoss: e.train.loss,
    valLoss: e.val.loss,
    ...(e.val.accuracy !== undefined ? { valAcc: 100 * e.val.accuracy } : {}),
    ...(e.val.perplexity !== undefined ? { valPpl: e.val.perplexity } : {}),
    ...(e.val.rmse !== undefined ? { valRmse: e.val.rmse } : {}),
  }
}
