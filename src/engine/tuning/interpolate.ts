import * as tf from '@tensorflow/tfjs'

/** Weight-space interpolation between a base and a tuned model (WiSE-FT, Wortsman et al.
 *  2022): θ(α) = (1−α)·θ_base + α·θ_tuned. Sliding α trades the tuned task against what the
 *  base model knew, without retraining. */
export type WeightMap = Map<string, tf.Tensor>

/** Anything with named variables: TinyGpt, a Head, LoRA, adapters. */
export interface WeightOwner {
  readonly params: readonly { readonly name: string; readonly variable: tf.Variable }[]
}

/** Copies of the current values by name. The copies share storage until the variable is next
 *  assigned, so a snapshot is cheap; they are kept out of any enclosing tidy. Caller disposes
 *  them (disposeWeights). */
export function snapshotWeights(params: WeightOwner['params']): WeightMap {
  const out: WeightMap = new Map()
  for (const p of params) out.set(p.name, tf.keep(p.variable.clone()))
  return out
}

export function disposeWeights(weights: WeightMap): void {
  for (const t of weights.values()) t.dispose()
  weights.clear()
}

/** θ(α) for every name in `tuned` (which `base` must also hold, same shape); caller disposes.
 *  α = 0 and α = 1 return exact copies rather than arithmetic, so the ends are bit-exact. */
export function interpolateWeights(base: WeightMap, tuned: WeightMap, alpha: number): WeightMap {
  if (!Number.isFinite(alpha)) throw new Error(`Interpolation α must be a finite number, got ${alpha}`)
  const out: WeightMap = new Map()
  for (const [name, t] of tuned) {
    const b = base.get(name)
    if (!b) throw new Error(`Interpolation: the base weights have no "${name}"`)
    if (!tf.util.arraysEqual(b.shape, t.shape)) {
      throw new Error(`Interpolation: "${name}" is [${b.shape.join(', ')}] in the base but [${t.shape.join(', ')}] tuned`)
    }
    out.set(name, tf.keep(lerp(b, t, alpha)))
  }
  return out
}

/** Writes θ(α) into the owner's variables of the same names. Names the tuned map lacks are
 *  left as they are; a name the owner lacks is an error. */
export function applyInterpolation(owner: WeightOwner, base: WeightMap, tuned: WeightMap, alpha: number): void {
  const vars = new Map(owner.params.map((p) => [p.name, p.variable] as const))
  for (const name of tuned.keys()) if (!vars.has(name)) throw new Error(`Interpolation: the model has no weight "${name}"`)
  const mixed = interpolateWeights(base, tuned, alpha)
  for (const [name, value] of mixed) {
    const v = vars.get(name)
    if (v) v.assign(value)
  }
  disposeWeights(mixed)
}

/** Puts saved weights back into the owner's variables of the same names — the pretrained body
 *  before a run, the tuned weights after a before/after preview — bit-exact. Names the map
 *  lacks are left as they are; a name the owner lacks, or another shape, is an error and
 *  nothing is written. The map keeps its tensors (the variables share their storage). */
export function resetWeights(owner: WeightOwner, weights: WeightMap): void {
  const vars = new Map(owner.params.map((p) => [p.name, p.variable] as const))
  for (const [name, w] of weights) {
    const v = vars.get(name)
    if (!v) throw new Error(`Reset: the model has no weight "${name}"`)
    if (!tf.util.arraysEqual(v.shape, w.shape)) throw new Error(`Reset: "${name}" is [${v.shape.join(', ')}] in the model but [${w.shape.join(', ')}] saved`)
  }
  for (const [name, w] of weights) vars.get(name)!.assign(w)
}

function lerp(b: tf.Tensor, t: tf.Tensor, alpha: number): tf.Tensor {
  if (alpha === 0) return b.clone()
  if (alpha === 1) return t.clone()
  return tf.tidy(() => tf.add(tf.mul(b, 1 - alpha), tf.mul(t, alpha)))
}
