import * as tf from '@tensorflow/tfjs'
import { type NamedVariable, disposeAll, ownVariable } from './namedVariable'
import type { Seed } from '../train/seeds'

/** A task head trained from scratch on pooled features: dropout, then one dense layer.
 *  Kept to a single dense so the head adds capacity only where the body cannot. */
export type HeadKind = 'classification' | 'regression'

export interface HeadSpec {
  name: string // task name; weights are "head.<name>.kernel" / ".bias"
  kind: HeadKind
  inputDim: number // D of the pooled features
  numClasses?: number // classification only, ≥ 2
}

export class Head {
  readonly params: NamedVariable[]
  readonly outputDim: number
  private readonly kernel: tf.Variable // [D, C]
  private readonly bias: tf.Variable // [C]

  constructor(
    readonly spec: HeadSpec,
    seed = 1,
  ) {
    this.outputDim = outputDimOf(spec)
    const prefix = `head.${spec.name}`
    const kernel = ownVariable(`${prefix}.kernel`, glorotUniform([spec.inputDim, this.outputDim], seed), true)
    const bias = ownVariable(`${prefix}.bias`, tf.zeros([this.outputDim]), false)
    this.kernel = kernel.variable
    this.bias = bias.variable
    this.params = [kernel, bias]
  }

  /** features: [B, D] → logits [B, C] (classification) or predictions [B, 1] (regression). */
  apply(features: tf.Tensor2D, training: boolean, dropout = 0, seed?: Seed): tf.Tensor2D {
    return tf.tidy(() => {
      const x = training && dropout > 0 ? (tf.dropout(features, dropout, undefined, seed) as tf.Tensor2D) : features
      return tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias) as tf.Tensor2D
    })
  }

  /** Mean loss for a batch. target: int labels [B] (classification) or values [B] (regression). */
  loss(output: tf.Tensor2D, target: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
    return headLoss(this.spec.kind, output, target, labelSmoothing)
  }

  dispose(): void {
    disposeAll(this.params)
  }
}

/** Softmax cross-entropy (with label smoothing) or mean squared error. */
export function headLoss(kind: HeadKind, output: tf.Tensor2D, target: tf.Tensor1D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    if (kind === 'regression') {
      return tf.losses.meanSquaredError(target.reshape([-1, 1]).toFloat(), output) as tf.Scalar
    }
    const oneHot = tf.oneHot(target.toInt(), output.shape[1]) // [B, C]
    return tf.losses.softmaxCrossEntropy(oneHot, output, undefined, labelSmoothing) as tf.Scalar
  })
}

/** Glorot/Xavier uniform: keeps activation variance roughly equal in and out. */
export function glorotUniform(shape: [number, number], seed: number): tf.Tensor2D {
  const limit = Math.sqrt(6 / (shape[0] + shape[1]))
  return tf.randomUniform(shape, -limit, limit, 'float32', seed) as tf.Tensor2D
}

function outputDimOf(spec: HeadSpec): number {
  if (!Number.isInteger(spec.inputDim) || spec.inputDim < 1) {
    throw new Error(`Head "${spec.name}": input width must be a positive integer, got ${spec.inputDim}`)
  }
  if (spec.kind === 'regression') return 1
  const c = spec.numClasses ?? 0
  if (!Number.isInteger(c) || c < 2) {
    throw new Error(`Head "${spec.name}": a classification head needs at least 2 classes, got ${spec.numClasses ?? 'none'}`)
  }
  return c
}
