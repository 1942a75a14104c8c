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
 * A person's own model as loaded (`loaded`: its name, and where its head's weights come from)
 * is the base model: its RMSE before fine-tuning is the line when it is lower than the
 * mean's (a tie goes to the mean, the simpler reference).
 */
export function regressionBaseline(target: { values: Float32Array; scale: TargetScale }, untrainedHead: Metrics, loaded: { name: string; origin: string | null } | null = null): { metrics: Metrics; note: string; name: string } {
  const metrics = regressionMetrics(new Float32Array(target.values.length), target.values, target.scale)
  const meanNote = `always predicting the training mean of ${target.scale.name} (${target.scale.mean.toPrecision(4)})`
  const rmse = untrainedHead.rmse
  if (rmse === undefined) return { metrics, note: meanNote, name: 'training mean' }
  const headWords = `${loaded?.name ?? 'untrained head'} RMSE ${rmse.toPrecision(4)}`
  if (loaded && metrics.rmse !== undefined && rmse < metrics.rmse) {
    return { metrics: untrainedHead, name: loaded.name, note: `${loaded.origin ?? loaded.name}, before fine-tuning (${headWords}; training mean RMSE ${metrics.rmse.toPrecision(4)})` }
  }
  return { metrics, note: `${meanNote}; ${headWords}`, name: 'training mean' }
}
