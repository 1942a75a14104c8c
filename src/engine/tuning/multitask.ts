import * as tf from '@tensorflow/tfjs'
import { Head, type HeadSpec } from './heads'
import type { NamedVariable } from './namedVariable'
import { subSeed, type Seed } from '../train/seeds'

export interface TaskSpec extends HeadSpec {
  lossWeight?: number // weight of this task in the summed loss (default 1)
}

/** One head per task on shared pooled features; the training loss is the weighted sum. */
export class MultiHead {
  readonly heads: Head[]
  readonly weights: number[]

  constructor(tasks: readonly TaskSpec[], seed = 1) {
    if (tasks.length === 0) throw new Error('MultiHead needs at least one task')
    const names = new Set<string>()
    for (const t of tasks) {
      if (names.has(t.name)) throw new Error(`MultiHead: task name "${t.name}" is used twice`)
      names.add(t.name)
      const w = t.lossWeight ?? 1
      if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`MultiHead: task "${t.name}" has an invalid loss weight ${w}`)
    }
    // Distinct seeds so two same-shaped heads do not start identical.
    this.heads = tasks.map((t, i) => new Head(t, seed + 1009 * i))
    this.weights = tasks.map((t) => t.lossWeight ?? 1)
  }

  get params(): NamedVariable[] {
    return this.heads.flatMap((h) => h.params)
  }

  /** features: [B, D] → one output per task name ([B, C] or [B, 1]). */
  apply(features: tf.Tensor2D, training: boolean, dropout = 0, seed?: Seed): Map<string, tf.Tensor2D> {
    const out = new Map<string, tf.Tensor2D>()
    this.heads.forEach((h, i) => out.set(h.spec.name, h.apply(features, training, dropout, subSeed(seed, `head${i}`))))
    return out
  }

  /** Weighted sum of the task losses; every task needs its output and target. */
  loss(outputs: Map<string, tf.Tensor2D>, targets: Map<string, tf.Tensor1D>, labelSmoothing = 0): tf.Scalar {
    return tf.tidy(() => {
      let total: tf.Scalar = tf.scalar(0)
      this.heads.forEach((h, i) => {
        const name = h.spec.name
        const out = outputs.get(name)
        const target = targets.get(name)
        if (!out || !target) throw new Error(`MultiHead: missing ${out ? 'target' : 'output'} for task "${name}"`)
        total = tf.add(total, tf.mul(h.loss(out, target, labelSmoothing), this.weights[i] ?? 1))
      })
      return total
    })
  }

  dispose(): void {
    for (const h of this.heads) h.dispose()
  }
}
