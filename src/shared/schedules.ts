import type { Settings } from '../settings/types'

/** What the schedule needs. Unlike Settings.stepEvery (epochs), stepEvery here counts
 *  optimizer steps: the caller multiplies by steps per epoch. */
export interface ScheduleSettings extends Pick<Settings, 'learningRate' | 'schedule' | 'warmupSteps' | 'stepGamma'> {
  stepEvery: number // 'step': optimizer steps between decays (≤ 0 = never)
  minLrRatio?: number // 'linear'/'cosine' decay towards learningRate · minLrRatio (default 0); floor for 'step'
}

/** Learning rate for optimizer step `step` (0-based) of `totalSteps`.
 *  - Warm-up: lr · (step + 1) / warmupSteps for step < warmupSteps, so the first step is
 *    small but not wasted and the last warm-up step reaches lr.
 *  - 'linear' / 'cosine': progress p = (step − warmup) / (totalSteps − warmup) runs over the
 *    steps after warm-up; the rate falls from lr towards the minimum, which it would reach
 *    one step after the last (as in Hugging Face's schedulers), so no step runs at zero.
 *  - 'step': lr · gamma^floor(step / stepEvery), counted from step 0 so decays land on the
 *    epoch boundaries the user chose; warm-up scales it like the others. */
export function learningRateAt(step: number, totalSteps: number, s: ScheduleSettings): number {
  const lr = s.learningRate
  const minLr = lr * (s.minLrRatio ?? 0)
  const warmup = Math.max(0, Math.floor(s.warmupSteps))
  const warm = step < warmup ? (step + 1) / warmup : 1
  const p = clamp01((step - warmup) / Math.max(1, totalSteps - warmup))
  let base: number
  switch (s.schedule) {
    case 'constant':
      base = lr
      break
    case 'linear':
      base = minLr + (lr - minLr) * (1 - p)
      break
    case 'cosine':
      base = minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * p))
      break
    case 'step': {
      const decays = s.stepEvery > 0 ? Math.floor(step / s.stepEvery) : 0
      base = Math.max(minLr, lr * Math.pow(s.stepGamma, decays))
      break
    }
    default: {
      const never: never = s.schedule
      throw new Error(`Unknown schedule ${String(never)}`)
    }
  }
  return base * warm
}

export interface LrPoint {
  step: number
  lr: number
}

/** About `points` samples of the schedule (every step when there are fewer), first and last
 *  step included, for a preview chart. */
export function scheduleCurve(totalSteps: number, s: ScheduleSettings, points = 200): LrPoint[] {
  const n = Math.max(0, Math.floor(totalSteps))
  if (n === 0) return []
  const count = Math.min(n, Math.max(2, Math.floor(points)))
  const out: LrPoint[] = []
  let last = -1
  for (let k = 0; k < count; k++) {
    const step = count === 1 ? 0 : Math.round((k * (n - 1)) / (count - 1))
    if (step === last) continue
    last = step
    out.push({ step, lr: learningRateAt(step, n, s) })
  }
  return out
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x))
}
