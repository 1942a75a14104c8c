import type * as tf from '@tensorflow/tfjs'
import type { ForwardOptions, Param } from './tinyGpt'
import type { HeadStructure } from '../tuning/heads'
import type { PoolingChoice } from '../../settings/types'

/**
 * What the fine-tuning loop needs from a pretrained network: named weights grouped in
 * blocks (-1 = stem/embeddings, 0..nLayers-1 = blocks, nLayers = final norm), a forward
 * pass that can stop after and restart from any block (so frozen leading blocks are
 * computed once and cached), and pooling to one feature vector per example for a head.
 * TinyGpt (text) implements it; an image CNN in the same style can too.
 */
export interface Body {
  readonly kind: 'text' | 'image' | 'tabular'
  readonly config: { nLayers: number; dModel: number }
  readonly params: Param[]
  /** Width of the pooled features a head sees. */
  readonly featureDim: number
  get(name: string): tf.Variable
  /** Input → stem output (block -1). */
  embed(input: tf.Tensor, opts?: ForwardOptions): tf.Tensor
  /** Input → activations after the first n blocks, no final norm. */
  prefix(input: tf.Tensor, n: number, opts?: ForwardOptions): tf.Tensor
  /** Activations after n blocks → final hidden states (final norm applied). */
  forwardFrom(x: tf.Tensor, n: number, opts?: ForwardOptions): tf.Tensor
  /** Final hidden states → [B, featureDim]; `mask` marks real tokens for text; `how` is the
   *  run's pooling setting, which only bodies with a choice (Hugging Face encoders) read. */
  pool(hidden: tf.Tensor, mask: tf.Tensor2D | null, how?: PoolingChoice): tf.Tensor2D
  /** Most rows one inference pass (feature caching, evaluation) should hold, where
   *  activations are large (64 when absent). */
  readonly rowsPerPass?: number
  /** Final hidden states [B, T, D] → next-token logits [B, T, V]: bodies with their own
   *  output layer (a causal LM) only; language modelling needs it. */
  lmLogits?(hidden: tf.Tensor3D): tf.Tensor3D
  /** The layout a task head on this body should have so the body's own tools load it (a
   *  Hugging Face checkpoint's *ForSequenceClassification head); absent: the studio's dense head. */
  headStructure?(how?: PoolingChoice): HeadStructure
  parameterCount(): number
  dispose(): void
}
