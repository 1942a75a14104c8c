import * as tf from '@tensorflow/tfjs'
import type { Body } from '../models/body'
import type { Tuning } from '../train/fineTune'
import { applyInterpolation, disposeWeights, snapshotWeights, type WeightMap, type WeightOwner } from './interpolate'

/**
 * WiSE-FT for a finished run: θ(α) = (1−α)·θ_base + α·θ_tuned over everything the run changed.
 *  - body weights: between the pretrained snapshot and the tuned values;
 *  - LoRA: B (and so the update scale·A·B) is scaled by α. Since W + α·s·A·B =
 *    (1−α)·W + α·(W + s·A·B), this is exactly interpolating the merged kernels;
 *  - adapters: the base model is an adapter whose `up` is zero, so `up` and its bias are
 *    scaled by α (the adapter's output scales with them; `down` is then irrelevant at α=0);
 *  - the task head stays the tuned head (the base model has none to blend with).
 * α = 1 restores the tuned weights bit for bit; α = 0 gives the base body (bit-exact).
 */
export class TunedBlend {
  /** α now applied to the model; `kept` is the one the person chose to keep. */
  alpha = 1
  kept = 1
  private readonly tunedBody: WeightMap
  private readonly zeroBased: WeightOwner
  private readonly tunedZero: WeightMap
  private readonly zeros: WeightMap

  constructor(
    readonly model: Body,
    private readonly base: WeightMap, // not owned: the handler's pretrained snapshot
    readonly tuning: Tuning,
  ) {
    // Only weights the run moved need blending; the rest stay shared with the base.
    this.tunedBody = snapshotWeights(model.params.filter((p) => base.has(p.name)))
    const scaled = [
      ...(tuning.lora?.params.filter((p) => p.name.endsWith('.lora_B')) ?? []),
      ...(tuning.adapters?.params.filter((p) => p.name.includes('.adapter.up.')) ?? []),
    ]
    this.zeroBased = { params: scaled }
    this.tunedZero = snapshotWeights(scaled)
    this.zeros = new Map(scaled.map((p) => [p.name, tf.keep(tf.zerosLike(p.variable))] as const))
  }

  apply(alpha: number): void {
    if (!Number.isFinite(alpha) || alpha < 0 || alpha > 1) throw new Error(`α must be between 0 and 1, got ${alpha}`)
    applyInterpolation(this.model, this.base, this.tunedBody, alpha)
    applyInterpolation(this.zeroBased, this.zeros, this.tunedZero, alpha)
    this.alpha = alpha
  }

  dispose(): void {
    disposeWeights(this.tunedBody)
    disposeWeights(this.tunedZero)
    disposeWeights(this.zeros)
  }
}

/** α = 0, 1/(n−1), …, 1 — `points` values, both ends included. */
export function sweepAlphas(points: number): number[] {
  const n = Math.min(101, Math.max(2, Math.round(points)))
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : Math.round((i / (n - 1)) * 1e6) / 1e6))
}

export interface SweepPoint {
  alpha: number
  loss: number
  accuracy?: number
  perplexity?: number
  rmse?: number // regression
}

/** Measures the validation metric at each α, then puts back the α that was applied before,
 *  so the tuned weights are never lost. */
export async function sweepBlend(
  blend: TunedBlend,
  points: number,
  measure: () => Promise<{ loss: number; accuracy?: number; perplexity?: number; rmse?: number }>,
  onPoint?: (done: number, total: number, p: SweepPoint) => void,
): Promise<SweepPoint[]> {
  const before = blend.alpha
  const alphas = sweepAlphas(points)
  const out: SweepPoint[] = []
  try {
    for (const [i, alpha] of alphas.entries()) {
      blend.apply(alpha)
      const m = await measure()
      const p: SweepPoint = { alpha, loss: m.loss, ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}), ...(m.perplexity !== undefined ? { perplexity: m.perplexity } : {}), ...(m.rmse !== undefined ? { rmse: m.rmse } : {}) }
      out.push(p)
      onPoint?.(i + 1, alphas.length, p)
    }
  } finally {
    blend.apply(before)
  }
  return out
}

/** The α with the best metric (accuracy up, else perplexity, RMSE or loss down); ties go to the larger α. */
export function bestAlpha(points: readonly SweepPoint[]): number | null {
  let best: SweepPoint | null = null
  const score = (p: SweepPoint) => (p.accuracy !== undefined ? p.accuracy : -(p.perplexity ?? p.rmse ?? p.loss))
  for (const p of points) if (!best || score(p) >= score(best)) best = p
  return best?.alpha ?? null
}
