/** The embedding as the studio computed it before 2026-12-06, for a side-by-side measure
 *  (bench/threads.mjs, `?embed=onehot`): a one-hot [N, V] product with the token table,
 *  whose gradient builds the transposed one-hot and an unused one-hot gradient every step. */
import * as tf from '@tensorflow/tfjs'
import { matMulFast } from '../../src/engine/models/matMulFast'
import { TinyGpt, type ForwardOptions } from '../../src/engine/models/tinyGpt'

export function useOneHotEmbedding(): void {
  TinyGpt.prototype.embed = function (this: TinyGpt, input: tf.Tensor, opts: ForwardOptions = {}): tf.Tensor3D {
    const tokens = input as tf.Tensor2D
    const [b, t] = tokens.shape
    const { dModel, vocabSize } = this.config
    const oneHot = tf.oneHot(tokens.reshape([b * t]), vocabSize) as tf.Tensor2D
    const tok = matMulFast(oneHot, this.get('wte.embeddings') as tf.Tensor2D).reshape([b, t, dModel])
    const pos = this.get('wpe.embeddings').slice([0, 0], [t, dModel])
    const x = tf.add(tok, pos) as tf.Tensor3D
    // TinyGpt's private dropout: the bench runs with dropout 0, where it is the identity.
    return (this as unknown as { drop: (x: tf.Tensor3D, o: ForwardOptions) => tf.Tensor3D }).drop(x, opts)
  }
}
