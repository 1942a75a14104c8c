/** Metrics and the reference score for predicting a number. */
import type { Metrics } from '../types/metrics'
import { unscale, type TargetScale } from '../data/numericEncode'
import { meanAbsoluteError, rootMeanSquaredError } from './metrics'

/** Predictions and targets are standardised; the loss stays in that space (what training
 *  minimises), MAE and RMSE go back to the target's units (what a person can judge). */
export function regressionMetrics(predZ: ArrayLike<number>, targetZ: ArrayLike<number>, scale: TargetScale): Metrics {
  let se = 0
  for (let i = 0; i < targetZ.length; i++) se += ((predZ[i] ?? 0) - (targetZ[i] ?? 0)) ** 2
  const pred = unscale(predZ, scale)
  const truth = unscale(targetZ, scale)
  return { loss: se / Math.max(targetZ.length, 1), mae: meanAbsoluteError(pred, truth), rmse: rootMeanSquaredError(pred, truth) }
}

/**
 * The score to beat: always predicting the training mean (0 in standardised units), which
 * is what a model that learned nothing from the inputs does at best. An untrained head
 * predicts noise around 0 and scores worse, so it is reported but not used as the line.
 */
export function regressionBaseline(target: { values: Float32Array; scale: TargetScale }, untrainedHead: Metrics): { metrics: Metrics; note: string } {
  const metrics = regressionMetrics(new Float32Array(target.values.length), target.values, target.scale)
  const head = untrainedHead.rmse === undefined ? '' : `; untrained head RMSE ${untrainedHead.rmse.toPrecision(4)}`
  return { metrics, note: `always predicting the training mean of ${target.scale.name} (${target.scale.mean.toPrecision(4)})${head}` }
}
