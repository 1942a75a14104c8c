/** Instruction tuning (SFT) as the loop's Task: next-token cross-entropy counting only the
 *  answer tokens (completion or assistant turns: the loss mask of tasks/sft/data.ts);
 *  validation loss and perplexity per answer token; the line to beat is the model before
 *  tuning on the same held-out answers. */
import * as tf from '@tensorflow/tfjs'
import type { Metrics } from '../types/metrics'
import type { Body } from '../models/body'
import { featuresOf, fillCache, gatherBatch, lmEvalRows, range, type Batch, type Cache } from '../train/forward'
import type { Tuning } from '../train/fineTune'
import { perplexity } from '../train/metrics'
import type { Seed } from '../train/seeds'
import type { Settings } from '../../settings/types'
import { formatPerplexity } from '../../format/format'
import { fmt, type Task } from './task'

/** Next-token logits [B, T, V] of a batch, from the body's own output layer. */
export function batchLmLogits(model: Body, tuning: Tuning, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): tf.Tensor3D {
  if (!model.lmLogits) throw new Error('Instruction and preference tuning need a causal language model (the text transformer or a Hugging Face causal LM).')
  return model.lmLogits(featuresOf(model, tuning, batch, cache, s, training, seed) as tf.Tensor3D)
}

/** log p(targets[b, t]) under logits [B, T, V] → [B, T]. */
export function targetLogProbs(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const v = logits.shape[2]
  return tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.cast(targets, 'int32') as tf.Tensor2D, v)), 2) as tf.Tensor2D
}

/** Summed answer-token cross-entropy and the count of answer tokens of one batch. */
function answerLossSum(model: Body, tuning: Tuning, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): { sum: tf.Scalar; count: tf.Scalar } {
  const lp = targetLogProbs(batchLmLogits(model, tuning, batch, cache, s, training, seed), batch.targets!) // [B, T]
  const m = batch.lossMask!
  return { sum: tf.neg(tf.sum(tf.mul(lp, m))) as tf.Scalar, count: tf.sum(m) as tf.Scalar }
}

export const sft: Task = {
  name: 'sft',
  hasAccuracy: false,
  lossRange: { min: 0, what: 'a next-token cross-entropy', zeroUntrained: true },
  loss(model, tuning, batch, cache, s, training, seed) {
    const { sum, count } = answerLossSum(model, tuning, batch, cache, s, training, seed)
    return tf.div(sum, tf.maximum(count, 1)) as tf.Scalar
  },
  async evaluate(model, tuning, source, cache, side) {
    const set = source.set
    let sum = 0
    let count = 0
    for (let start = 0, rows = lmEvalRows(model, set); start < set.n; start += rows) {
      const idx = range(start, Math.min(set.n, start + rows))
      await fillCache(model, tuning, cache, source, side, idx)
      const both = tf.tidy(() => {
        const r = answerLossSum(model, tuning, gatherBatch(source, cache, side, idx), cache, tuning.settings, false)
        return tf.stack([r.sum, r.count])
      })
      const [s, c] = await both.data()
      both.dispose()
      sum += s!
      count += c!
    }
    const loss = sum / Math.max(count, 1)
    return { loss, perplexity: perplexity(loss) }
  },
  trainMetrics: (loss): Metrics => ({ loss, perplexity: perplexity(loss) }),
  baseline: ({ untrained }) => ({ metrics: untrained, note: 'the model before tuning, on the same held-out answers', name: 'model before tuning' }),
  describeBest: (s) => `best validation answer loss ${fmt(s.best.loss)}, perplexity ${formatPerplexity(s.best.perplexity)} (line to beat: ${s.baselineName} ${fmt(s.baseline.loss)}, ${formatPerplexity(s.baseline.perplexity)})`,
}
