import * as tf from '@tensorflow/tfjs'
import type { Body } from './body'
import { glorotUniform } from '../tuning/heads'
import { matMulFast } from './matMulFast'
import { subSeed } from '../train/seeds'
import type { ForwardOptions, Param } from './tinyGpt'

/**
 * A small MLP body for numeric features (already standardised): a dense stem to `hidden`
 * units, then `nLayers` residual blocks x + ReLU(x·W + b), each with dropout while training.
 * No pretrained tabular model exists for a person's own columns, so this body starts from a
 * seeded Glorot initialisation and every layer trains; the task head sits on top as for the
 * other bodies. Residual blocks keep the start close to the stem's features, so a deeper
 * setting does not hurt small data much. Implements `Body` so the loop, the feature cache,
 * checkpoints and the layer table treat it like TinyGpt and TinyCnn.
 */
export interface TabularMlpConfig {
  inputDim: number // number of feature columns
  hidden: number
  nLayers: number
}

export const DEFAULT_TABULAR: Omit<TabularMlpConfig, 'inputDim'> = { hidden: 64, nLayers: 2 }

export class TabularMlp implements Body {
  readonly kind = 'tabular' as const
  readonly params: Param[] = []
  readonly config: TabularMlpConfig & { dModel: number }
  readonly featureDim: number
  private readonly byName = new Map<string, tf.Variable>()

  constructor(config: TabularMlpConfig, seed = 1) {
    if (!Number.isInteger(config.inputDim) || config.inputDim < 1) throw new Error(`A tabular model needs at least one numeric feature column, got ${config.inputDim}`)
    this.config = { ...config, dModel: config.hidden }
    this.featureDim = config.hidden
    this.add('stem', -1, config.inputDim, config.hidden, seed)
    for (let i = 0; i < config.nLayers; i++) this.add(`h${i}`, i, config.hidden, config.hidden, seed + 7 * (i + 1))
  }

  private add(layer: string, block: number, fanIn: number, fanOut: number, seed: number): void {
    const put = (name: string, value: tf.Tensor) => {
      const v = tf.variable(value, true)
      value.dispose()
      this.byName.set(name, v)
      this.params.push({ name, layer, block, variable: v, decay: name.endsWith('.kernel') }) // kernels decay, biases not
    }
    put(`${layer}.kernel`, glorotUniform([fanIn, fanOut], seed))
    put(`${layer}.bias`, tf.zeros([fanOut]))
  }

  get(name: string): tf.Variable {
    const v = this.byName.get(name)
    if (!v) throw new Error(`TabularMlp has no weight "${name}"`)
    return v
  }

  private dense(x: tf.Tensor2D, layer: string): tf.Tensor2D {
    return tf.add(matMulFast(x, this.get(`${layer}.kernel`) as tf.Tensor2D), this.get(`${layer}.bias`)) as tf.Tensor2D
  }

  embed(input: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.relu(this.dense(input.toFloat() as tf.Tensor2D, 'stem')))
  }

  prefix(input: tf.Tensor, n: number, opts: ForwardOptions = {}): tf.Tensor {
    return tf.tidy(() => this.blocks(this.embed(input) as tf.Tensor2D, 0, n, opts))
  }

  forwardFrom(x: tf.Tensor, n: number, opts: ForwardOptions = {}): tf.Tensor {
    return tf.tidy(() => this.blocks(x as tf.Tensor2D, n, this.config.nLayers, opts))
  }

  private blocks(x: tf.Tensor2D, from: number, to: number, opts: ForwardOptions): tf.Tensor2D {
    let h = x
    for (let i = from; i < to; i++) {
      let y = tf.relu(this.dense(h, `h${i}`))
      if (opts.training && (opts.dropout ?? 0) > 0) y = tf.dropout(y, opts.dropout!, undefined, subSeed(opts.seed, `drop${i}`)) as tf.Tensor2D
      h = tf.add(h, y) as tf.Tensor2D
    }
    return h
  }

  /** The hidden state is already one vector per row. */
  pool(hidden: tf.Tensor): tf.Tensor2D {
    return hidden as tf.Tensor2D
  }

  parameterCount(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0)
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose()
  }
}
