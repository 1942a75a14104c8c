/** Language modelling (next token at every position): cross-entropy over the vocabulary on
 *  the real tokens; loss and perplexity; the line to beat is the pretrained model itself. */
import * as tf from '@tensorflow/tfjs'
import type { Metrics } from '../types/metrics'
import type { Body } from '../models/body'
import { featuresOf, fillCache, gatherBatch, lmEvalRows, range, type Batch, type Cache } from '../train/forward'
import type { Tuning } from '../train/fineTune'
import { maskedTokenCrossEntropy } from '../train/losses'
import { perplexity } from '../train/metrics'
import type { Seed } from '../train/seeds'
import type { Settings } from '../../settings/types'
import { formatPerplexity } from '../../format/format'
import { type ReadingTask } from './task'

/** Next-token logits [B, T, V] from the body's own output layer. */
function lmLogits(model: Body, tuning: Tuning, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): tf.Tensor3D {
  if (!model.lmLogits) throw new Error('Language modelling needs the text transformer.')
  return model.lmLogits(featuresOf(model, tuning, batch, cache, s, training, seed) as tf.Tensor3D)
}

export const languageModelling: ReadingTask = {
  name: 'language-modelling',
  reads: (set) => set.kind === 'lm',
  hasAccuracy: false,
  lossRange: { min: 0, what: 'a next-token cross-entropy', zeroUntrained: true },
  loss(model, tuning, batch, cache, s, training, seed) {
    return maskedTokenCrossEntropy(lmLogits(model, tuning, batch, cache, s, training, seed), batch.targets!, batch.mask!)
  },
  async evaluate(model, tuning, source, cache, side) {
    const set = source.set
    let lossSum = 0
    // a large vocabulary's logits take fewer rows a pass (lmEvalRows)
    for (let start = 0, rows = lmEvalRows(model, set); start < set.n; start += rows) {
      const idx = range(start, Math.min(set.n, start + rows))
      await fillCache(model, tuning, cache, source, side, idx)
      const lossT = tf.tidy(() => {
        const batch = gatherBatch(source, cache, side, idx)
        return maskedTokenCrossEntropy(lmLogits(model, tuning, batch, cache, tuning.settings, false), batch.targets!, batch.mask!)
      })
      lossSum += ((await lossT.data())[0] ?? NaN) * idx.length
      lossT.dispose()
    }
    const loss = lossSum / Math.max(set.n, 1)
    return { loss, perplexity: perplexity(loss) }
  },
  trainMetrics: (loss): Metrics => ({ loss, perplexity: perplexity(loss) }),
  baseline: ({ untrained }) => ({ metrics: untrained, note: 'the pretrained model before fine-tuning', name: 'pretrained model' }),
  describeBest: (s) => `best validation perplexity ${formatPerplexity(s.best.perplexity)} (line to beat: ${s.baselineName} ${formatPerplexity(s.baseline.perplexity)})`,
}
