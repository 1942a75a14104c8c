/** Classification (text, image or tabular rows → one class): cross-entropy with label
 *  smoothing; accuracy, macro-F1 and the confusion matrix; the line to beat is the best of
 *  the majority class, the zero-shot LM and the untrained head (or the model as loaded, when
 *  the head starts from its own output layer). */
import * as tf from '@tensorflow/tfjs'
import type { Metrics } from '../types/metrics'
import { lineToBeat, majorityClass } from '../train/baselines'
import { labelsOf } from '../train/encoded'
import { disposeBatch, evalBatch, fillCache, headLogits, heldBatch, range } from '../train/forward'
import { headRows } from '../train/inferencePasses'
import { softmaxCrossEntropy } from '../train/losses'
import { accuracy, confusionMatrix, macroF1 } from '../train/metrics'
import { pct, type ReadingTask } from './task'

export const classification: ReadingTask = {
  name: 'classification',
  reads: (set) => labelsOf(set) !== null,
  hasAccuracy: true,
  lossRange: { min: 0, what: 'a cross-entropy' },
  loss(model, tuning, batch, cache, s, training, seed) {
    return softmaxCrossEntropy(headLogits(model, tuning, batch, cache, s, training, seed), batch.labels!, training ? s.labelSmoothing : 0)
  },
  async evaluate(model, tuning, source, cache, side, split) {
    const set = source.set
    const lab = labelsOf(set)!
    let lossSum = 0
    const preds: number[] = []
    const truth: number[] = []
    for (let start = 0, rows = evalBatch(model); start < set.n; start += rows) {
      const idx = range(start, Math.min(set.n, start + rows))
      await fillCache(model, tuning, cache, source, side, idx, split)
      const batch = heldBatch(source, cache, side, idx)
      let lossT: tf.Tensor, predT: tf.Tensor
      try {
        // The whole batch's logits (on two workers each half's, in row order), then its loss.
        const logits = await headRows(model, tuning, batch, cache, split)
        ;[lossT, predT] = tf.tidy(() => [softmaxCrossEntropy(logits, batch.labels!, 0), tf.argMax(logits, 1)])
        logits.dispose()
      } finally {
        disposeBatch(batch)
      }
      lossSum += ((await lossT.data())[0] ?? NaN) * idx.length
      preds.push(...(await predT.data()))
      idx.forEach((r) => truth.push(lab.labels[r]!))
      tf.dispose([lossT, predT])
    }
    const loss = lossSum / Math.max(set.n, 1)
    const cm = confusionMatrix(truth, preds, lab.classes.length)
    return { loss, accuracy: accuracy(truth, preds), macroF1: macroF1(cm), confusion: cm }
  },
  trainMetrics: (loss): Metrics => ({ loss }),
  baseline({ untrained, train, val, tuning, zeroShot, zeroShotNote }) {
    const a = labelsOf(train)
    const b = labelsOf(val)!
    const majority = a ? majorityClass(a.labels, b.labels, a.classes) : null
    return lineToBeat(untrained, b.classes.length, zeroShot, majority, zeroShotNote, tuning.head?.origin ?? null, tuning.head?.baseName ?? null)
  },
  describeBest: (s) => `best validation accuracy ${pct(s.best.accuracy)} (line to beat: ${s.baselineName} ${pct(s.baseline.accuracy)})`,
}
