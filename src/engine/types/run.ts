/** What a training run reports as it goes and when it ends. */
import type { Metrics } from './metrics'

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

/** One point of a run's loss chart: a reporting window's mean loss at an optimizer step. */
export interface StepPoint {
  step: number
  loss: number
  lr: number
}

/** One point of a run's validation chart, per epoch; the headline metric is one of the
 *  optional fields (shared/headlineMetric.ts says which). */
export interface EpochPoint {
  epoch: number // 1-based
  trainLoss: number
  valLoss: number
  valAcc?: number // percent
  valPpl?: number
  valRmse?: number // regression, in the target's units
  /** A run's record only: the run was stopped inside this epoch. It was measured, but its steps
   *  did not cover the training split (worker/checkpointHost.ts RunRecorder marks it). Records
   *  stored before the mark have none. */
  partial?: true
}

/** What the loop reports after each epoch's validation. */
export interface EpochEvent {
  epoch: number
  train: Metrics
  val: Metrics
  lr: number // the rate the epoch's last step used (a plateau halving at its end shows next epoch)
  isBest: boolean
}

export type DoneReason = 'finished' | 'stopped' | 'early-stopped' | 'diverged'

export interface RunSummary {
  epochs: number // epochs completed
  bestEpoch: number
  best: Metrics
  baseline: Metrics // the line to beat
  baselineName: string // what it is: "majority class (ham)", "zero-shot LM", "training mean"…
  seconds: number
}
