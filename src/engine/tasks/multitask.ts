/** Several label columns, one head each on shared features: the weighted sum of the heads'
 *  cross-entropies; per-task loss, accuracy and macro-F1 (accuracy weighted like the loss);
 *  the majority-class line takes each task's commonest class. */
import * as tf from '@tensorflow/tfjs'
import type { Metrics } from '../types/metrics'
import { lineToBeat, majorityClass } from '../train/baselines'
import { labelsOf, tasksOf } from '../train/encoded'
import { evalBatch, featuresOf, fillCache, gatherBatch, range } from '../train/forward'
import { softmaxCrossEntropy } from '../train/losses'
import { multitaskMetrics } from '../train/multitaskData'
import { classification } from './classification'
import type { ReadingTask } from './task'

export const multitask: ReadingTask = {
  name: 'multitask',
  reads: (set, tuning) => tuning.multi !== null && tasksOf(set) !== null,
  hasAccuracy: true,
  lossRange: { min: 0, what: 'a sum of cross-entropies with weights of 0 or more' },
  loss(model, tuning, batch, cache, s, training, seed) {
    const multi = tuning.multi!
    const outputs = multi.apply(featuresOf(model, tuning, batch, cache, s, training, seed) as tf.Tensor2D, training, s.dropout, seed)
    return multi.loss(outputs, batch.taskLabels!, training ? s.labelSmoothing : 0)
  },
  async evaluate(model, tuning, source, cache, side) {
    const multi = tuning.multi!
    const set = source.set
    const tasks = tasksOf(set)!
    const lossSums = tasks.map(() => 0)
    const preds: number[][] = tasks.map(() => [])
    const truth: number[][] = tasks.map(() => [])
    for (let start = 0, rows = evalBatch(model); start < set.n; start += rows) {
      const idx = range(start, Math.min(set.n, start + rows))
      await fillCache(model, tuning, cache, source, side, idx)
      const parts = tf.tidy(() => {
        const batch = gatherBatch(source, cache, side, idx)
        const outputs = multi.apply(featuresOf(model, tuning, batch, cache, tuning.settings, false) as tf.Tensor2D, false)
        return tasks.map((t) => {
          const out = outputs.get(t.name)!
          return [softmaxCrossEntropy(out, batch.taskLabels!.get(t.name)!, 0), tf.argMax(out, 1)] as const
        })
      })
      for (const [i, [lossT, predT]] of parts.entries()) {
        lossSums[i]! += ((await lossT.data())[0] ?? NaN) * idx.length
        preds[i]!.push(...(await predT.data()))
        idx.forEach((r) => truth[i]!.push(tasks[i]!.labels[r]!))
      }
      tf.dispose(parts.flat())
    }
    return multitaskMetrics(tasks, multi.weights, truth, preds, lossSums.map((l) => l / Math.max(set.n, 1)))
  },
  trainMetrics: (loss): Metrics => ({ loss }),
  baseline({ untrained, train, val, tuning, zeroShot, zeroShotNote }) {
    // Always answering each task's commonest training class, averaged with the task
    // weights as validation accuracy is.
    const tasks = tasksOf(train)!
    const valTasks = tasksOf(val)!
    const per = tasks.map((t, i) => majorityClass(t.labels, valTasks[i]!.labels, t.classes))
    const w = tuning.multi!.weights
    const total = w.reduce((a, x) => a + x, 0) || 1
    const acc = per.reduce((a, p, i) => a + (w[i] ?? 1) * (p.metrics.accuracy ?? 0), 0) / total
    const majority = { metrics: { loss: NaN, accuracy: acc }, className: per.map((p) => p.className).join(', ') }
    return lineToBeat(untrained, labelsOf(val)!.classes.length, zeroShot, majority, zeroShotNote)
  },
  describeBest: classification.describeBest,
}
