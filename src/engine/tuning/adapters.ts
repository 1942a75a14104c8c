import * as tf from '@tensorflow/tfjs'
import { type ForwardHooks, type TinyGpt, gelu } from '../models/tinyGpt'
import { type NamedVariable, disposeAll, ownVariable } from './namedVariable'

/** Bottleneck adapters (Houlsby et al. 2019, without their LayerNorm) on the residual stream
 *  after chosen blocks: x + up(gelu(down(x))). `up` starts at zero, so the adapted model
 *  starts exactly at the base model; `down` is small random so `up` gets a gradient. */
export interface AdapterOptions {
  size: number // bottleneck width m
  blocks?: readonly number[] // blocks to follow with an adapter; default all
  seed?: number
  initStd?: number // std of `down` at init
}

interface AdapterWeights {
  down: tf.Variable // [D, m]
  downBias: tf.Variable // [m]
  up: tf.Variable // [m, D]
  upBias: tf.Variable // [D]
}

export class Adapters {
  readonly params: NamedVariable[] = []
  readonly blocks: number[]
  readonly hooks: ForwardHooks
  private readonly weights = new Map<number, AdapterWeights>()

  constructor(model: TinyGpt, opts: AdapterOptions) {
    const { nLayers, dModel } = model.config
    const m = opts.size
    if (!Number.isInteger(m) || m < 1) throw new Error(`Adapter size must be a positive integer, got ${m}`)
    const chosen = opts.blocks ?? Array.from({ length: nLayers }, (_, i) => i)
    for (const b of chosen) {
      if (!Number.isInteger(b) || b < 0 || b >= nLayers) throw new Error(`Adapter block ${b} does not exist: the model has blocks 0..${nLayers - 1}`)
    }
    this.blocks = [...new Set(chosen)].sort((x, y) => x - y)
    const std = opts.initStd ?? 0.02
    let s = opts.seed ?? 1
    for (const b of this.blocks) {
      const p = `h${b}.adapter`
      const down = ownVariable(`${p}.down.kernel`, tf.truncatedNormal([dModel, m], 0, std, 'float32', s++), true)
      const downBias = ownVariable(`${p}.down.bias`, tf.zeros([m]), false)
      const up = ownVariable(`${p}.up.kernel`, tf.zeros([m, dModel]), true)
      const upBias = ownVariable(`${p}.up.bias`, tf.zeros([dModel]), false)
      this.params.push(down, downBias, up, upBias)
      this.weights.set(b, { down: down.variable, downBias: downBias.variable, up: up.variable, upBias: upBias.variable })
    }
    this.hooks = { afterBlock: (block, x) => this.apply(block, x) }
  }

  /** x: [B, T, D] → x + up(gelu(down(x))) after an adapted block, x itself otherwise. */
  apply(block: number, x: tf.Tensor3D): tf.Tensor3D {
    const w = this.weights.get(block)
    if (!w) return x
    const [b, t, d] = x.shape
    // 2-D matmuls: the 3-D × 2-D BatchMatMul gradient does not reduce over the batch.
    const x2 = x.reshape([b * t, d]) as tf.Tensor2D
    const hidden = gelu(tf.add(tf.matMul(x2, w.down as tf.Tensor2D), w.downBias)) // [B*T, m]
    const out = tf.add(tf.matMul(hidden as tf.Tensor2D, w.up as tf.Tensor2D), w.upBias) // [B*T, D]
    return tf.add(x, out.reshape([b, t, d])) as tf.Tensor3D
  }

  dispose(): void {
    disposeAll(this.params)
    this.weights.clear()
  }
}

/** Runs several tuning methods in one forward pass: linear deltas are summed, block hooks
 *  are chained in the order given. Undefined entries are skipped. */
export function combineHooks(...all: (ForwardHooks | undefined)[]): ForwardHooks {
  const hooks = all.filter((h): h is ForwardHooks => h !== undefined)
  const deltas = hooks.flatMap((h) => (h.linearDelta ? [h.linearDelta] : []))
  const blocks = hooks.flatMap((h) => (h.afterBlock ? [h.afterBlock] : []))
  const combined: ForwardHooks = {}
  if (deltas.length > 0) {
    combined.linearDelta = (layer, x, training, seed) => {
      let sum: tf.Tensor2D | null = null
      for (const f of deltas) {
        const d = f(layer, x, training, seed)
        if (d) sum = sum ? (tf.add(sum, d) as tf.Tensor2D) : d
      }
      return sum
    }
  }
  if (blocks.length > 0) {
    combined.afterBlock = (block, x, training) => blocks.reduce((acc, f) => f(block, acc, training), x)
  }
  return combined
}
