import * as tf from '@tensorflow/tfjs'
import { type NamedVariable, disposeAll, ownVariable } from './namedVariable'
import type { Seed } from '../train/seeds'

/** A task head trained from scratch on pooled features: dropout, then one dense layer.
 *  Kept to a single dense so the head adds capacity only where the body cannot. */
export type HeadKind = 'classification' | 'regression'

export interface HeadSpec extends HeadStructure {
  name: string // task name; weights are "head.<name>.kernel" / ".bias"
  kind: HeadKind
  inputDim: number // D of the pooled features
  numClasses?: number // classification only, ≥ 2
}

/** A body's own head layout, where its tools expect one (Hugging Face's
 *  *ForSequenceClassification classes): a dense layer before the output with its activation
 *  (BERT's pooler, tanh; DistilBERT's pre_classifier, ReLU), its starting weights when the
 *  checkpoint has them, and whether the output layer has a bias (GPT-2's and Llama's `score`
 *  has none). Absent: dropout, then one dense layer with a bias. */
export interface HeadStructure {
  pre?: { activation: 'tanh' | 'relu'; init?: { kernel: Float32Array; bias: Float32Array } } // kernel [D, D] as [in, out]
  outputBias?: boolean
}

export class Head {
  readonly params: NamedVariable[]
  readonly outputDim: number
  /** Where the starting weights came from when they are not a fresh initialisation (a loaded
   *  checkpoint's own head, session/families/hfSeqCls.ts): the line to beat names it. */
  origin: string | null = null
  /** The short name of the model these starting weights make, before fine-tuning, when it is
   *  a person's own model as loaded ("my_mlp as loaded", session/families/layersRows.ts): the
   *  line to beat calls it so, and for a number it is the line when it beats the training mean. */
  baseName: string | null = null
  private readonly kernel: tf.Variable // [D, C]
  private readonly bias: tf.Variable | null // [C]; none where the structure says so
  private readonly pre: { kernel: tf.Variable; bias: tf.Variable; activation: 'tanh' | 'relu' } | null

  constructor(
    readonly spec: HeadSpec,
    seed = 1,
  ) {
    this.outputDim = outputDimOf(spec)
    const prefix = `head.${spec.name}`
    const d = spec.inputDim
    const pre = spec.pre
    const preKernel = pre ? ownVariable(`${prefix}.pre.kernel`, pre.init ? tf.tensor2d(pre.init.kernel, [d, d]) : glorotUniform([d, d], seed + 1), true) : null
    const preBias = pre ? ownVariable(`${prefix}.pre.bias`, pre.init ? tf.tensor1d(pre.init.bias) : tf.zeros([d]), false) : null
    const kernel = ownVariable(`${prefix}.kernel`, glorotUniform([d, this.outputDim], seed), true)
    const bias = spec.outputBias === false ? null : ownVariable(`${prefix}.bias`, tf.zeros([this.outputDim]), false)
    this.kernel = kernel.variable
    this.bias = bias?.variable ?? null
    this.pre = pre && preKernel && preBias ? { kernel: preKernel.variable, bias: preBias.variable, activation: pre.activation } : null
    this.params = [...(preKernel && preBias ? [preKernel, preBias] : []), kernel, ...(bias ? [bias] : [])]
  }

  /** features: [B, D] → logits [B, C] (classification) or predictions [B, 1] (regression):
   *  the pre layer and its activation when there is one, dropout, the output layer. */
  apply(features: tf.Tensor2D, training: boolean, dropout = 0, seed?: Seed): tf.Tensor2D {
    return tf.tidy(() => {
      let h = features
      if (this.pre) {
        const z = tf.add(tf.matMul(h, this.pre.kernel as tf.Tensor2D), this.pre.bias) as tf.Tensor2D
        h = this.pre.activation === 'tanh' ? tf.tanh(z) : tf.relu(z)
      }
      const x = training && dropout > 0 ? (tf.dropout(h, dropout, undefined, seed) as tf.Tensor2D) : h
      const y = tf.matMul(x, this.kernel as tf.Tensor2D)
      return (this.bias ? tf.add(y, this.bias) : y) as tf.Tensor2D
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
