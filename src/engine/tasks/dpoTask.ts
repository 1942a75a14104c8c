/** Preference tuning (DPO) as the loop's Task. A batch holds B pairs as 2B rows (chosen,
 *  then rejected); each row's answer log-probability is the sum over its answer tokens; the
 *  reference's were computed once before tuning (referenceLogProbs, below) and travel with
 *  the pairs, so no second copy of the model is held (with LoRA the reference is the same
 *  weights with the adapter off, which is what the model is before its first step). */
import * as tf from '@tensorflow/tfjs'
import type { Metrics } from '../types/metrics'
import type { Body } from '../models/body'
import type { PairsEncoded } from './lmEncoded'
import { BatchSource } from '../train/batchSource'
import { gatherBatch, range, type Batch, type Cache } from '../train/forward'
import { FeatureCache } from '../train/featureCache'
import type { Tuning } from '../train/fineTune'
import type { Seed } from '../train/seeds'
import type { Settings } from '../../settings/types'
import { dpoLoss, preferenceMetrics } from './dpo/dpo'
import { batchLmLogits, targetLogProbs } from './sftTask'
import { lmEvalRows } from '../train/forward'
import { fmt, pct, type Task } from './task'

/** Summed answer log-probabilities of every row of a batch → [rows]. */
function rowLogProbs(model: Body, tuning: Tuning | null, batch: Batch, cache: Cache, s: Settings, training: boolean, seed?: Seed): tf.Tensor1D {
  const t = tuning ?? ({ hooks: undefined, head: null } as unknown as Tuning) // no tuning: the model as it is
  const lp = targetLogProbs(batchLmLogits(model, t, batch, cache, s, training, seed), batch.targets!)
  return tf.sum(tf.mul(lp, batch.lossMask!), 1) as tf.Tensor1D
}

/** Policy log-probabilities of a set's pairs: { chosen, rejected } per pair. */
async function pairLogProbsOf(model: Body, tuning: Tuning | null, source: BatchSource, s: Settings): Promise<{ chosen: Float32Array; rejected: Float32Array }> {
  const set = source.set
  const chosen = new Float32Array(set.n)
  const rejected = new Float32Array(set.n)
  const cache = new FeatureCache(0, false, { train: 0, val: 0 })
  for (let start = 0, rows = Math.max(1, lmEvalRows(model, set) >> 1); start < set.n; start += rows) {
    const idx = range(start, Math.min(set.n, start + rows))
    const lp = tf.tidy(() => rowLogProbs(model, tuning, gatherBatch(source, cache, 'val', idx), cache, s, false))
    const v = await lp.data()
    lp.dispose()
    chosen.set(v.subarray(0, idx.length), start)
    rejected.set(v.subarray(idx.length), start)
  }
  return { chosen, rejected }
}

/** The reference policy's answer log-probabilities: the model as it is now, with no tuning
 *  hooks. Call before the first step (the loop's Tuning does not exist yet or is untouched). */
export async function referenceLogProbs(model: Body, set: PairsEncoded, s: Settings): Promise<PairsEncoded> {
  const source = BatchSource.host(set)
  const r = await pairLogProbsOf(model, null, source, s)
  return { ...set, refChosen: r.chosen, refRejected: r.rejected }
}

/** Watchers of a training set's batches: each training batch hands over a kept [4] tensor
 *  (reward accuracy, mean reward margin, mean chosen and rejected log-probability), which the
 *  watcher reads and disposes. The loop knows nothing of it: a caller that draws per-step
 *  charts (engine/session/session.ts, PreferenceSteps) registers here. */
const watchers = new WeakMap<object, (summary: tf.Tensor1D) => void>()
export function watchDpoBatches(set: PairsEncoded, fn: (summary: tf.Tensor1D) => void): () => void {
  watchers.set(set, fn)
  return () => watchers.delete(set)
}

/** The DPO task for a set of pairs (β and the SFT term's weight travel with the pairs). */
export function dpoTask(set: Pick<PairsEncoded, 'beta' | 'sftWeight'>): Task {
  const { beta, sftWeight } = set
  const watch = watchers.get(set)
  return {
    name: 'dpo',
    hasAccuracy: true,
    // −log σ(β·margin) (softplus, ≥ 0) plus a cross-entropy: never below 0; the margins and
    // rewards the page charts can be, but they are not the loss.
    lossRange: { min: 0, what: 'DPO\'s loss (−log σ of the reward margin, plus a cross-entropy when weighted in)' },
    loss(model, tuning, batch, cache, s, training, seed) {
      const lp = rowLogProbs(model, tuning, batch, cache, s, training, seed) // [2B]
      const b = lp.shape[0] / 2
      const pc = lp.slice(0, b)
      const pr = lp.slice(b, b)
      const ref = batch.reference! // [B, 2]
      const d = dpoLoss(pc, pr, ref.slice([0, 0], [b, 1]).reshape([b]), ref.slice([0, 1], [b, 1]).reshape([b]), beta)
      let loss = d.loss
      if (training && watch) {
        const margin = tf.sub(d.chosenRewards, d.rejectedRewards)
        watch(tf.keep(tf.stack([tf.mean(tf.cast(tf.greater(margin, 0), 'float32')), tf.mean(margin), tf.mean(pc), tf.mean(pr)]) as tf.Tensor1D))
      }
      if (sftWeight > 0) {
        // Mean cross-entropy per chosen answer token (TRL's rpo_alpha term).
        const tokens = tf.maximum(tf.sum(batch.lossMask!.slice([0, 0], [b, -1])), 1)
        loss = tf.add(loss, tf.mul(sftWeight, tf.div(tf.neg(tf.sum(pc)), tokens))) as tf.Scalar
      }
      return loss
    },
    async evaluate(model, tuning, source, _cache, _side) {
      const set = source.set
      if (set.kind !== 'pairs') throw new Error('DPO evaluates preference pairs only')
      const p = await pairLogProbsOf(model, tuning, source, tuning.settings)
      const m = preferenceMetrics(p, { chosen: set.refChosen, rejected: set.refRejected }, beta)
      return { loss: m.loss, accuracy: m.preferenceAccuracy, preference: { rewardAccuracy: m.rewardAccuracy, rewardMargin: m.rewardMargin, chosenLogProb: m.chosenLogProb, rejectedLogProb: m.rejectedLogProb, chosenReward: m.chosenReward, rejectedReward: m.rejectedReward } }
    },
    trainMetrics: (loss): Metrics => ({ loss }),
    baseline: ({ untrained }) => ({
      metrics: untrained,
      note: 'how often the model before tuning already gives the chosen answer the higher log-probability',
      name: "base model's preference accuracy",
    }),
    describeBest: (s) =>
      `best validation preference accuracy ${pct(s.best.accuracy)}, reward margin ${fmt(s.best.preference?.rewardMargin)} (line to beat: ${s.baselineName} ${pct(s.baseline.accuracy)})`,
  }
}
