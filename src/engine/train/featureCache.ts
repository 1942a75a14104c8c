import * as tf from '@tensorflow/tfjs'

export type Side = 'train' | 'val'

/**
 * Output of the frozen leading blocks, one kept tensor per example, filled lazily: the
 * first epoch computes each example's prefix when its batch first comes up (so the first
 * training step starts after one batch, not after a pass over the whole set), later epochs
 * only read. Valid while the frozen prefix stays the same; the loop replaces it otherwise.
 */
export class FeatureCache {
  private readonly rows: Record<Side, (tf.Tensor | null)[]>

  constructor(
    readonly prefixBlocks: number, // blocks already applied to the cached rows
    readonly pooled: boolean, // rows are the final pooled features [D] (head-only)
    sizes: Record<Side, number>,
  ) {
    this.rows = { train: new Array(sizes.train).fill(null), val: new Array(sizes.val).fill(null) }
  }

  /** False when nothing is frozen at the input side: batches start from the raw input. */
  get active(): boolean {
    return this.prefixBlocks > 0 || this.pooled
  }

  /** Computes the rows of `idx` not cached yet, at most `rowsPerPass` at a time (the body's
   *  bound on activation memory); `compute` maps a batch of row ids to a [b, ...] tensor (it
   *  runs inside tf.tidy here). `computeAsync`, when given, is used instead: a pass that
   *  computes half of the rows on a second worker (inferencePasses.ts); it frees its own
   *  intermediates and answers a new tensor. */
  async ensure(side: Side, idx: readonly number[], rowsPerPass: number, compute: (idx: number[]) => tf.Tensor, computeAsync?: (idx: number[]) => Promise<tf.Tensor>): Promise<void> {
    if (!this.active) return
    const rows = this.rows[side]
    const missing = idx.filter((r) => rows[r] === null)
    const step = Math.max(1, Math.floor(rowsPerPass))
    for (let start = 0; start < missing.length; start += step) {
      const part = missing.slice(start, start + step)
      const out = computeAsync ? await computeAsync(part) : tf.tidy(() => compute(part))
      const split = tf.unstack(out) // keeps each row alive on its own
      out.dispose()
      part.forEach((r, i) => (rows[r] = split[i]!))
      await split[split.length - 1]!.data() // let the worker hear pause/stop between chunks
    }
  }

  /** Whether row r of `side` is cached (so its raw input need not be loaded). */
  has(side: Side, r: number): boolean {
    return this.rows[side][r] != null
  }

  /** [b, ...] batch of cached rows; call inside tf.tidy (the result is a new tensor). */
  gather(side: Side, idx: readonly number[]): tf.Tensor {
    const rows = this.rows[side]
    return tf.stack(idx.map((r) => rows[r] ?? missingRow(side, r)))
  }

  dispose(): void {
    for (const side of ['train', 'val'] as const) {
      for (const t of this.rows[side]) t?.dispose()
      this.rows[side].fill(null)
    }
  }
}

function missingRow(side: Side, r: number): never {
  throw new Error(`Feature cache: ${side} row ${r} was not computed before use`)
}
