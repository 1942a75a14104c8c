import * as tf from '@tensorflow/tfjs'

/** Sums gradients over micro-batches in variables it owns and hands back their mean, so k
 *  micro-batches of b examples give one optimizer step equal to a batch of k·b.
 *  Weight each micro-batch by its example count when the last one is smaller (each grad is
 *  a mean over its own batch): mean = Σ wᵢ·gᵢ / Σ wᵢ is then exactly the full-batch mean. */
export class GradientAccumulator {
  private sums: tf.Variable[] = []
  private total = 0
  private adds = 0

  /** Micro-batches added since the last reset. */
  get count(): number {
    return this.adds
  }

  /** Adds one micro-batch's gradients (not disposed: the caller owns them). */
  add(grads: tf.Tensor[], weight = 1): void {
    if (this.sums.length === 0) {
      this.sums = grads.map((g) => tf.tidy(() => tf.variable(tf.zerosLike(g), false)))
    }
    if (grads.length !== this.sums.length) {
      throw new Error(`Accumulator holds ${this.sums.length} gradients, got ${grads.length}`)
    }
    tf.tidy(() => {
      grads.forEach((g, i) => {
        const s = this.sums[i]
        if (s) s.assign(tf.add(s, weight === 1 ? g : tf.mul(g, weight)))
      })
    })
    this.total += weight
    this.adds += 1
  }

  /** The weighted mean as new tensors the caller owns. */
  mean(): tf.Tensor[] {
    if (this.adds === 0) throw new Error('No gradients accumulated')
    const total = this.total
    return tf.tidy(() => this.sums.map((s) => tf.div(s, total)))
  }

  /** Zeroes the sums for the next optimizer step; the variables are reused. */
  reset(): void {
    tf.tidy(() => this.sums.forEach((s) => s.assign(tf.zerosLike(s))))
    this.total = 0
    this.adds = 0
  }

  dispose(): void {
    for (const s of this.sums) s.dispose()
    this.sums = []
    this.total = 0
    this.adds = 0
  }
}
