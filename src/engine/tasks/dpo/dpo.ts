import * as tf from '@tensorflow/tfjs'
import type { TinyGpt } from '../../models/tinyGpt'
import type { Lora } from '../../tuning/lora'
import { tinyGptLm, type CausalLm, type LmCallOptions } from '../lm'
import type { SftExample } from '../sft/data'
import type { DpoPair } from './data'

/**
 * Direct Preference Optimization (Rafailov et al. 2023). With π the policy being tuned and
 * ref the model before tuning, each pair's implicit rewards are
 *   r_c = β·(log π(chosen|prompt) − log ref(chosen|prompt)),  r_r likewise for rejected,
 * and the loss is −log σ(r_c − r_r), averaged over pairs, plus optionally
 * sftWeight × the chosen answers' mean next-token cross-entropy (an SFT term, as TRL's
 * rpo_alpha). Log-probabilities are sums over the answer tokens (the mask), as in TRL.
 */

export interface DpoMetrics {
  loss: number
  /** Share of pairs whose chosen answer has the higher implicit reward (r_c > r_r). */
  rewardAccuracy: number
  /** Mean r_c − r_r. */
  rewardMargin: number
  /** Mean r_c and r_r. */
  chosenReward: number
  rejectedReward: number
  /** Mean policy log-probabilities of the chosen and rejected answers. */
  chosenLogProb: number
  rejectedLogProb: number
  /** Share of pairs where the policy itself gives the chosen answer the higher log-probability. */
  preferenceAccuracy: number
}

/** Sum of log p(ids[t+1] | ids[..t]) over positions whose target is masked in. → [B]. */
export function sequenceLogProbs(logits: tf.Tensor3D, ids: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [b, t, v] = logits.shape
    const logp = tf.logSoftmax(logits.slice([0, 0, 0], [b, t - 1, v]))
    const target = ids.slice([0, 1], [b, t - 1])
    const picked = tf.sum(tf.mul(logp, tf.oneHot(target as tf.Tensor2D, v)), 2) // [B, T-1]
    return tf.sum(tf.mul(picked, mask.slice([0, 1], [b, t - 1])), 1) as tf.Tensor1D
  })
}

/**
 * The same sums as sequenceLogProbs, computing logits only where an answer token is
 * predicted when the model offers logitsAt (mask read on the host: it is data, not a
 * tensor to differentiate). ids/mask as host arrays [B·T] row-major.
 */
export function answerLogProbs(lm: CausalLm, ids: Int32Array, mask: Float32Array, b: number, t: number, opts?: LmCallOptions): tf.Tensor1D {
  return tf.tidy(() => {
    const idsT = tf.tensor2d(ids, [b, t], 'int32')
    if (!lm.logitsAt) return sequenceLogProbs(lm.logits(idsT, opts), idsT, tf.tensor2d(mask, [b, t]))
    const positions: number[] = []
    const targets: number[] = []
    const rowOf: number[] = []
    for (let r = 0; r < b; r++) {
      for (let k = 1; k < t; k++) {
        if (mask[r * t + k]! > 0) {
          positions.push(r * t + k - 1)
          targets.push(ids[r * t + k]!)
          rowOf.push(r)
        }
      }
    }
    if (positions.length === 0) return tf.zeros([b]) as tf.Tensor1D
    const logits = lm.logitsAt(idsT, tf.tensor1d(positions, 'int32'), opts) // [M, V]
    const lp = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(targets, 'int32'), logits.shape[1])), 1) // [M]
    return tf.unsortedSegmentSum(lp, tf.tensor1d(rowOf, 'int32'), b) as tf.Tensor1D
  })
}

/** The DPO loss and its implicit rewards from four [N] log-probability tensors. */
export function dpoLoss(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  refChosen: tf.Tensor1D,
  refRejected: tf.Tensor1D,
  beta: number,
): { loss: tf.Scalar; chosenRewards: tf.Tensor1D; rejectedRewards: tf.Tensor1D } {
  if (!(beta > 0)) throw new RangeError(`DPO beta must be positive, got ${beta}`)
  return tf.tidy(() => {
    const chosenRewards = tf.mul(beta, tf.sub(policyChosen, refChosen)) as tf.Tensor1D
    const rejectedRewards = tf.mul(beta, tf.sub(policyRejected, refRejected)) as tf.Tensor1D
    // −log σ(z) = softplus(−z), the numerically stable form.
    const loss = tf.mean(tf.softplus(tf.neg(tf.sub(chosenRewards, rejectedRewards)))) as tf.Scalar
    return { loss, chosenRewards, rejectedRewards }
  })
}

/** Pairs as one [2N, T] batch: chosen rows first, then rejected; T the longest sequence. */
export function pairBatch(pairs: readonly DpoPair[], padId: number): { ids: tf.Tensor2D; mask: tf.Tensor2D; n: number } {
  const h = pairArrays(pairs, padId)
  return { ids: tf.tensor2d(h.ids, [h.b, h.t], 'int32'), mask: tf.tensor2d(h.mask, [h.b, h.t]), n: pairs.length }
}

/** The same batch as host arrays. */
export function pairArrays(pairs: readonly DpoPair[], padId: number): { ids: Int32Array; mask: Float32Array; b: number; t: number } {
  const seqs: SftExample[] = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)]
  const T = Math.max(2, ...seqs.map((s) => s.ids.length))
  const ids = new Int32Array(seqs.length * T).fill(padId) // right padding: causal attention never sees it
  const mask = new Float32Array(seqs.length * T)
  seqs.forEach((s, i) => {
    ids.set(s.ids, i * T)
    mask.set(s.mask, i * T)
  })
  return { ids, mask, b: seqs.length, t: T }
}

/** Answer log-probabilities of every pair under one model: { chosen, rejected } per pair. */
export async function pairLogProbs(lm: CausalLm, pairs: readonly DpoPair[], padId: number, batchSize = 16): Promise<{ chosen: Float32Array; rejected: Float32Array }> {
  const chosen = new Float32Array(pairs.length)
  const rejected = new Float32Array(pairs.length)
  for (let i = 0; i < pairs.length; i += batchSize) {
    const part = pairs.slice(i, i + batchSize)
    const h = pairArrays(part, padId)
    const lp = answerLogProbs(lm, h.ids, h.mask, h.b, h.t)
    const v = await lp.data()
    lp.dispose()
    chosen.set(v.subarray(0, part.length), i)
    rejected.set(v.subarray(part.length), i)
  }
  return { chosen, rejected }
}

/** The baseline to beat: how often the base model already gives the chosen answer the higher log-probability. */
export function preferenceAccuracy(lp: { chosen: Float32Array; rejected: Float32Array }): number {
  let n = 0
  for (let i = 0; i < lp.chosen.length; i++) if (lp.chosen[i]! > lp.rejected[i]!) n++
  return lp.chosen.length ? n / lp.chosen.length : 0
}

function metricsFrom(
  loss: number,
  pc: Float32Array,
  pr: Float32Array,
  rc: Float32Array,
  rr: Float32Array,
  beta: number,
): DpoMetrics {
  const n = pc.length
  let acc = 0
  let pref = 0
  let margin = 0
  let cr = 0
  let rjr = 0
  let clp = 0
  let rlp = 0
  for (let i = 0; i < n; i++) {
    const a = beta * (pc[i]! - rc[i]!)
    const b = beta * (pr[i]! - rr[i]!)
    if (a > b) acc++
    if (pc[i]! > pr[i]!) pref++
    margin += a - b
    cr += a
    rjr += b
    clp += pc[i]!
    rlp += pr[i]!
  }
  return {
    loss,
    rewardAccuracy: acc / n,
    rewardMargin: margin / n,
    chosenReward: cr / n,
    rejectedReward: rjr / n,
    chosenLogProb: clp / n,
    rejectedLogProb: rlp / n,
    preferenceAccuracy: pref / n,
  }
}

/** DPO metrics from per-pair log-probabilities of the policy and the reference, on the host
 *  (loss: mean of −log σ(β·((pc − rc) − (pr − rr))), in the stable softplus form). */
export function preferenceMetrics(p: { chosen: Float32Array; rejected: Float32Array }, ref: { chosen: Float32Array; rejected: Float32Array }, beta: number): DpoMetrics {
  let loss = 0
  for (let i = 0; i < p.chosen.length; i++) {
    const z = beta * (p.chosen[i]! - ref.chosen[i]! - (p.rejected[i]! - ref.rejected[i]!))
    loss += Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)))
  }
  return metricsFrom(loss / Math.max(p.chosen.length, 1), p.chosen, p.rejected, ref.chosen, ref.rejected, beta)
}

/** Metrics of the policy against reference log-probabilities, e.g. on validation pairs. */
export async function evaluateDpo(
  policy: CausalLm,
  pairs: readonly DpoPair[],
  reference: { chosen: Float32Array; rejected: Float32Array },
  beta: number,
  padId: number,
): Promise<DpoMetrics> {
  const p = await pairLogProbs(policy, pairs, padId)
  const loss = tf.tidy(() => dpoLoss(tf.tensor1d(p.chosen), tf.tensor1d(p.rejected), tf.tensor1d(reference.chosen), tf.tensor1d(reference.rejected), beta).loss)
  const l = (await loss.data())[0]!
  loss.dispose()
  return metricsFrom(l, p.chosen, p.rejected, reference.chosen, reference.rejected, beta)
}

export interface DpoStepOptions {
  beta: number
  /** Weight of the SFT term (mean cross-entropy per chosen answer token); 0 = off. */
  sftWeight?: number
  padId: number
  call?: LmCallOptions
}

/**
 * One optimisation step on a batch of pairs: the reference's log-probabilities (computed
 * before tuning, or by the same weights with the adapter off) are constants; the gradient
 * flows into `variables` only. Returns the batch's metrics (before the update).
 */
export async function dpoStep(
  policy: CausalLm,
  pairs: readonly DpoPair[],
  reference: { chosen: Float32Array; rejected: Float32Array },
  variables: tf.Variable[],
  optimizer: tf.Optimizer,
  options: DpoStepOptions,
): Promise<DpoMetrics> {
  const { beta, padId } = options
  const sftWeight = options.sftWeight ?? 0
  const n = pairs.length
  const out = tf.tidy(() => {
    const h = pairArrays(pairs, padId)
    const mask = tf.tensor2d(h.mask, [h.b, h.t])
    const rc = tf.tensor1d(reference.chosen)
    const rr = tf.tensor1d(reference.rejected)
    let logps: tf.Tensor1D | null = null
    const { value, grads } = tf.variableGrads(() => {
      const lp = answerLogProbs(policy, h.ids, h.mask, h.b, h.t, { training: true, ...options.call })
      logps = tf.keep(lp)
      const pc = lp.slice(0, n)
      const pr = lp.slice(n, n)
      let loss = dpoLoss(pc, pr, rc, rr, beta).loss
      if (sftWeight > 0) {
        const tokens = tf.maximum(tf.sum(mask.slice([0, 1], [n, mask.shape[1] - 1])), 1)
        loss = tf.add(loss, tf.mul(sftWeight, tf.div(tf.neg(tf.sum(pc)), tokens))) as tf.Scalar
      }
      return loss
    }, variables)
    optimizer.applyGradients(grads)
    return { value, logps: logps! }
  })
  const [loss, lp] = await Promise.all([out.value.data(), out.logps.data()])
  tf.dispose([out.value, out.logps])
  return metricsFrom(loss[0]!, lp.slice(0, n) as Float32Array, lp.slice(n) as Float32Array, reference.chosen, reference.rejected, beta)
}

/** A LoRA-tuned TinyGpt as the DPO policy and its reference: one set of weights, the
 *  reference being the same model with the adapter switched off (no second copy). */
export function loraPolicyAndReference(model: TinyGpt, lora: Lora, dropout = 0): { policy: CausalLm; reference: CausalLm } {
  return { policy: tinyGptLm(model, { hooks: () => lora.hooks, dropout }), reference: tinyGptLm(model) }
}
