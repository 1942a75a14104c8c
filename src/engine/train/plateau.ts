export type Mode = 'min' | 'max'

export interface PlateauOptions {
  patience: number // epochs without improvement before reducing (≤ 0 = off)
  factor?: number // multiplier per reduction (default 0.5)
  minLr?: number // the reduced rate never goes below this (default 0)
  mode?: Mode // 'min' for a loss, 'max' for an accuracy (default 'min')
  minDelta?: number // an improvement must beat the best by more than this (default 0)
}

export interface PlateauState {
  best: number | null
  bad: number
  scale: number
}

/** Reduce-on-plateau as a multiplier on top of the schedule: call `update` once per epoch
 *  with the monitored value and use `apply(scheduledLr)` for every step after. Kept as a
 *  scale (not an absolute rate) so it composes with warm-up and decay schedules. */
export class ReduceLrOnPlateau {
  private best: number | null = null
  private bad = 0 // epochs since the last improvement or reduction
  private scale_ = 1
  private readonly factor: number
  private readonly minLr: number
  private readonly mode: Mode
  private readonly minDelta: number

  constructor(private readonly opts: PlateauOptions) {
    this.factor = opts.factor ?? 0.5
    this.minLr = opts.minLr ?? 0
    this.mode = opts.mode ?? 'min'
    this.minDelta = opts.minDelta ?? 0
  }

  get scale(): number {
    return this.scale_
  }

  /** Feeds one epoch's value; says whether the rate was just reduced. A NaN never improves. */
  update(value: number): { reduced: boolean; scale: number } {
    if (this.opts.patience <= 0) return { reduced: false, scale: this.scale_ }
    if (improves(value, this.best, this.mode, this.minDelta)) {
      this.best = value
      this.bad = 0
      return { reduced: false, scale: this.scale_ }
    }
    this.bad += 1
    if (this.bad < this.opts.patience) return { reduced: false, scale: this.scale_ }
    this.bad = 0
    this.scale_ *= this.factor
    return { reduced: true, scale: this.scale_ }
  }

  /** The rate to use: the scheduled rate times the plateau scale, floored at minLr. */
  apply(lr: number): number {
    return this.scale_ === 1 ? lr : Math.max(this.minLr, lr * this.scale_)
  }

  state(): PlateauState {
    return { best: this.best, bad: this.bad, scale: this.scale_ }
  }

  restore(s: PlateauState): void {
    this.best = s.best
    this.bad = s.bad
    this.scale_ = s.scale
  }
}

/** Whether `value` beats `best` by more than minDelta in the given direction. */
export function improves(value: number, best: number | null, mode: Mode, minDelta = 0): boolean {
  if (!Number.isFinite(value)) return false
  if (best === null) return true
  return mode === 'min' ? value < best - minDelta : value > best + minDelta
}
