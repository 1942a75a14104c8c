import { improves, type Mode } from './plateau'

export interface EarlyStoppingOptions {
  patience: number // epochs without improvement before stopping (≤ 0 = never stop, still tracks the best)
  mode?: Mode // 'min' for a loss, 'max' for an accuracy (default 'min')
  minDelta?: number // an improvement must beat the best by more than this (default 0)
}

export interface EarlyStoppingState {
  best: number | null
  bestEpoch: number // -1 until a finite value is seen
  bad: number
}

export interface EarlyStoppingVerdict {
  isBest: boolean // this epoch is the best so far: save "best" weights now
  stop: boolean // patience ran out: end training
}

/** Tracks the best epoch of a monitored value and says when to stop. Tracking runs even with
 *  patience off, since "restore best weights" needs it. */
export class EarlyStopping {
  private best: number | null = null
  private bestEpoch_ = -1
  private bad = 0
  private readonly mode: Mode
  private readonly minDelta: number

  constructor(private readonly opts: EarlyStoppingOptions) {
    this.mode = opts.mode ?? 'min'
    this.minDelta = opts.minDelta ?? 0
  }

  get bestEpoch(): number {
    return this.bestEpoch_
  }

  get bestValue(): number | null {
    return this.best
  }

  /** Feeds one epoch's value. A NaN or infinite value never counts as an improvement. */
  update(epoch: number, value: number): EarlyStoppingVerdict {
    if (improves(value, this.best, this.mode, this.minDelta)) {
      this.best = value
      this.bestEpoch_ = epoch
      this.bad = 0
      return { isBest: true, stop: false }
    }
    this.bad += 1
    return { isBest: false, stop: this.opts.patience > 0 && this.bad >= this.opts.patience }
  }

  state(): EarlyStoppingState {
    return { best: this.best, bestEpoch: this.bestEpoch_, bad: this.bad }
  }

  restore(s: EarlyStoppingState): void {
    this.best = s.best
    this.bestEpoch_ = s.bestEpoch
    this.bad = s.bad
  }
}
