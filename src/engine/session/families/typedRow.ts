/** One row typed in the playground, read through a model that takes standardised table rows
 *  (the studio's tabular MLP, tabular.ts; a person's own MLP, layersRows.ts): the row parsed
 *  and standardised as the run's training split was, a tuning's output for it, and that output
 *  answered as a number in the target's units or as class probabilities. */
import * as tf from '@tensorflow/tfjs'
import { parseRow } from '../../data/rowInput'
import { softmax } from '../../infer/sampling'
import type { TabularEncoded } from '../../train/encoded'
import type { Tuning } from '../../train/fineTune'
import type { PlaygroundAnswer, Which } from '../../types/playground'

/** What a row model does with a batch of rows, up to the features the head reads. */
export interface RowReader {
  prefix(x: tf.Tensor, from: number): tf.Tensor
  forwardFrom(x: tf.Tensor, from: number): tf.Tensor
  pool(hidden: tf.Tensor, mask: null): tf.Tensor2D
}

export interface TypedRow {
  /** `t`'s head output for the row, with the body's current weights. */
  outputOf(t: Tuning): Promise<Float32Array>
  /** Answers the output as the playground's "before" or "after". */
  send(which: Which, out: Float32Array, note: string): void
}

/** The row ready to predict, or null when it could not be read (the answer says why). */
export function typedRow(body: RowReader, val: TabularEncoded, values: Record<string, string>, requestId: string, answer: (a: PlaygroundAnswer) => void): TypedRow | null {
  const st = val.standardizer
  const row = parseRow(st.columns, values)
  if (!row.ok) {
    answer({ type: 'playground', requestId, message: row.message })
    return null
  }
  const x = row.x.map((v, j) => (v - st.mean[j]!) / st.std[j]!)
  return {
    async outputOf(t) {
      const out = tf.tidy(() => t.head!.apply(body.pool(body.forwardFrom(body.prefix(tf.tensor2d(x, [1, x.length]), 0), 0), null), false))
      const v = (await out.data()) as Float32Array
      out.dispose()
      return v
    },
    send(which, out, note) {
      if (val.scale) answer({ type: 'prediction', requestId, which, classes: [], value: { name: val.scale.name, value: (out[0] ?? NaN) * val.scale.std + val.scale.mean }, note })
      else answer({ type: 'prediction', requestId, which, classes: Array.from(softmax(out), (prob, i) => ({ name: val.classes?.[i] ?? `class ${i}`, prob })), note })
    },
  }
}
