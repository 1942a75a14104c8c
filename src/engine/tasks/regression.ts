/** Regression (text or tabular rows → a number): MSE on standardised targets; MAE and RMSE
 *  in the target's units; the line to beat is predicting the training mean, or a person's own
 *  model as loaded when it does better (train/regression.ts regressionBaseline). */
import * as tf from '@tensorflow/tfjs'
import type { Metrics } from '../types/metrics'
import { valuesOf } from '../train/encoded'
import { disposeBatch, evalBatch, fillCache, headLogits, heldBatch, range } from '../train/forward'
import { headRows } from '../train/inferencePasses'
import { regressionBaseline, regressionMetrics } from '../train/regression'
import { headLoss } from '../tuning/heads'
import { fmtNum, type ReadingTask } from './task'

export const regression: ReadingTask = {
  name: 'regression',
  reads: (set) => valuesOf(set) !== null,
  hasAccuracy: false,
  lossRange: { min: 0, what: 'a mean squared error' },
  loss(model, tuning, batch, cache, s, training, seed) {
    return headLoss('regression', headLogits(model, tuning, batch, cache, s, training, seed), batch.values!)
  },
  async evaluate(model, tuning, source, cache, side, split) {
    const set = source.set
    const target = valuesOf(set)!
    const preds = new Float32Array(set.n)
    for (let start = 0, rows = evalBatch(model); start < set.n; start += rows) {
      const idx = range(start, Math.min(set.n, start + rows))
      await fillCache(model, tuning, cache, source, side, idx, split)
      const batch = heldBatch(source, cache, side, idx)
      // On two workers each half's outputs, in row order (train/inferencePasses.ts).
      const out = await headRows(model, tuning, batch, cache, split).finally(() => disposeBatch(batch))
      preds.set((await out.data()) as Float32Array, start)
      out.dispose()
    }
    return regressionMetrics(preds, target.values, target.scale)
  },
  trainMetrics: (loss): Metrics => ({ loss }),
  baseline: ({ untrained, val, tuning }) => regressionBaseline(valuesOf(val)!, untrained, tuning.head?.baseName ? { name: tuning.head.baseName, origin: tuning.head.origin } : null),
  describeBest: (s, val) => `best validation RMSE ${fmtNum(s.best.rmse)} ${valuesOf(val)!.scale.name} (line to beat: ${s.baselineName} ${fmtNum(s.baseline.rmse)})`,
}
