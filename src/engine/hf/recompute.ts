/**
 * Activation recomputation ("gradient checkpointing") for one transformer block.
 *
 * TensorFlow.js's tape keeps every intermediate a gradient needs until the whole backward
 * pass is done: for a Hugging Face block that is about 116·h + 30·ff + 12·a·s floats per
 * token (engine/hf/memoryPlan.ts), an order of magnitude above the block's input. With
 * recomputation the forward pass keeps only each block's input; when the backward pass
 * reaches the block it runs the block again, on a tape of its own, and takes the gradient
 * of that one block (with respect to its input and the trainable weights it reads), then
 * frees that tape before the next block. Peak memory: the blocks' inputs plus one block's
 * tape, for one more forward pass of compute (PyTorch's `torch.utils.checkpoint`, which
 * Hugging Face's `gradient_checkpointing_enable()` turns on per layer).
 *
 * The second forward pass must compute exactly what the first did: every random draw inside
 * the block (LoRA dropout) derives from the pass's seed (train/seeds.ts), never from a
 * counter, so the recomputed block draws the same masks.
 */
import * as tf from '@tensorflow/tfjs'

/** The engine's tape, which a nested gradient computation must leave as it found it. */
interface TapeState {
  activeTape: unknown
}

/**
 * `run(x, extra)` with the backward pass recomputing `run` instead of keeping its
 * intermediates. `trainable` are the trainable variables `run` reads (their gradients flow to
 * the caller's `tf.variableGrads` through this node); variables not listed get no gradient from
 * this block. `extra` are other tensors `run` reads (an attention mask): kept for the backward
 * pass, since the caller may free its own by then.
 */
export function recomputed(run: (x: tf.Tensor3D, extra: tf.Tensor[]) => tf.Tensor3D, x: tf.Tensor3D, trainable: readonly tf.Variable[], extra: readonly tf.Tensor[] = []): tf.Tensor3D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc
    const input = args[0] as tf.Tensor3D
    save([input, ...extra]) // the only activations this block keeps for the backward pass
    // customGrad runs this forward pass off the tape: none of the block's intermediates is kept
    const value = run(input, [...extra])
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const kept = saved[0] as tf.Tensor3D
      const keptExtra = saved.slice(1)
      // A gradient computation started here (the caller's backward pass is under way, at
      // gradient depth 0) replaces the engine's active tape and sets it to null when done;
      // the caller's backward pass still needs it afterwards to free what its nodes saved.
      const state = tf.engine().state as unknown as TapeState
      const outer = state.activeTape
      try {
        const { value: again, grads } = tf.engine().gradients(() => run(kept, keptExtra), [kept, ...trainable], dy as tf.Tensor3D, true)
        again.dispose()
        return grads.map((g, k) => g ?? tf.zerosLike(k === 0 ? kept : trainable[k - 1]!))
      } finally {
        state.activeTape = outer
      }
    }
    return { value, gradFunc }
  })
  return f(x, ...trainable) as tf.Tensor3D
}
