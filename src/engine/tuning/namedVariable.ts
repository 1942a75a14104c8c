import * as tf from '@tensorflow/tfjs'

/** A weight a tuning piece owns, under a stable name for checkpoints and exports. The
 *  engine-level variable name is left to tfjs (unique ids): fixed engine names collide as
 *  soon as two heads or adapters exist, and tfjs throws on a duplicate. */
export interface NamedVariable {
  name: string
  variable: tf.Variable
  decay: boolean // whether weight decay applies (kernels and LoRA factors yes, biases no)
}

/** Anything that owns trainable weights: heads, LoRA, adapters. */
export interface ParamOwner {
  readonly params: readonly NamedVariable[]
}

/** Wraps `value` in a trainable variable and disposes `value` (the variable holds its data). */
export function ownVariable(name: string, value: tf.Tensor, decay: boolean): NamedVariable {
  const variable = tf.variable(value, true)
  value.dispose()
  return { name, variable, decay }
}

export function disposeAll(params: NamedVariable[]): void {
  for (const p of params) p.variable.dispose()
  params.length = 0
}

export function sizeOf(params: readonly { variable: tf.Variable }[]): number {
  return params.reduce((n, p) => n + p.variable.size, 0)
}
