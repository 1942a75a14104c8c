import * as tf from '@tensorflow/tfjs'
import type { OptimizerKind } from '../../settings/types'
import { benchSwitch } from '../benchSwitches'
import { fusedBackend, runAdamUpdate, runSgdUpdate } from './fusedUpdate'

/** Optimizer state as saved in a checkpoint.
 *  - `values` and `shapes` are keyed `"<slot>:<position>:<variable name>"`, e.g.
 *    `"m:3:h0.attn.qkv.kernel"`. `state()` yields Float32Arrays (exact, 4 bytes a value,
 *    structured-clone friendly for IndexedDB and postMessage); `restore()` also accepts
 *    plain number arrays, e.g. after a JSON round trip. Both are exact for float32.
 *  - Restoring matches slots by **position** (as tfjs' own Adam does), checks the shape at
 *    the next step and ignores the name, which is kept for diagnostics: layers' variable
 *    names gain `_N` suffixes from run to run, so names alone cannot be trusted. */
export interface OptimizerState {
  name: string // optimizer kind, e.g. 'adamw'
  values: Record<string, Float32Array | number[]>
  shapes: Record<string, number[]>
  step: number // optimizer steps taken (drives Adam's bias correction)
}

export interface StudioOptimizer {
  readonly name: OptimizerKind
  /** One update. grads[i] belongs to vars[i]; pass the same variables in the same order every
   *  step. Variables are updated in place; the grads stay owned by the caller. */
  step(grads: tf.Tensor[], vars: tf.Variable[], lr: number): void
  state(): Promise<OptimizerState>
  restore(state: OptimizerState): void
  dispose(): void
}

/** Which variables get weight decay: what the model and tuning pieces declare for each
 *  weight (Param.decay, NamedVariable.decay; see loopState.decayFlags). Never guessed from
 *  tfjs' variable names, which are bare numbers for the built-in models. */
export type DecayMask = ReadonlyMap<tf.Variable, boolean>

export interface OptimizerOptions {
  weightDecay: number
  momentum: number // SGD only
  beta1?: number // default 0.9
  beta2?: number // default 0.999
  epsilon?: number // default 1e-8 (PyTorch's)
  decayMask: DecayMask // a flag for every variable step() will be given
}

/** Moment buffers ("slots"), one tf.Variable per (slot, position), created lazily as zeros
 *  or from a restored state. */
class Slots {
  private readonly vars = new Map<string, (tf.Variable | undefined)[]>()
  private readonly names: string[] = []

  constructor(private readonly slotNames: readonly string[]) {}

  get(slot: string, i: number, like: tf.Variable): tf.Variable {
    const list = this.list(slot)
    let s = list[i]
    if (!s) {
      s = tf.tidy(() => tf.variable(tf.zerosLike(like), false))
      list[i] = s
    } else if (!sameShape(s.shape, like.shape)) {
      throw new Error(
        `Optimizer state for position ${i} (${this.names[i] ?? '?'}) has shape [${s.shape}], ` +
          `but variable ${like.name} has shape [${like.shape}]: the variable list changed since the state was saved`,
      )
    }
    this.names[i] = like.name
    return s
  }

  async read(): Promise<Pick<OptimizerState, 'values' | 'shapes'>> {
    const values: Record<string, Float32Array> = {}
    const shapes: Record<string, number[]> = {}
    for (const slot of this.slotNames) {
      const list = this.list(slot)
      for (let i = 0; i < list.length; i++) {
        const s = list[i]
        if (!s) continue
        const key = `${slot}:${i}:${this.names[i] ?? ''}`
        // A copy: on the cpu backend data() can alias the tensor's own buffer, which a
        // caller could transfer (postMessage) or mutate.
        values[key] = ((await s.data()) as Float32Array).slice()
        shapes[key] = [...s.shape]
      }
    }
    return { values, shapes }
  }

  load(state: Pick<OptimizerState, 'values' | 'shapes'>): void {
    this.dispose()
    for (const [key, data] of Object.entries(state.values)) {
      const m = /^([^:]+):(\d+):(.*)$/.exec(key)
      if (!m) throw new Error(`Optimizer state key "${key}" is not "<slot>:<position>:<name>"`)
      const [, slot = '', pos = '0', name = ''] = m
      if (!this.slotNames.includes(slot)) throw new Error(`Optimizer state has unknown slot "${slot}"`)
      const shape = state.shapes[key]
      if (!shape) throw new Error(`Optimizer state has no shape for "${key}"`)
      const i = Number(pos)
      this.list(slot)[i] = tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(data), shape, 'float32'), false))
      this.names[i] = name
    }
  }

  dispose(): void {
    for (const list of this.vars.values()) for (const s of list) s?.dispose()
    this.vars.clear()
    this.names.length = 0
  }

  private list(slot: string): (tf.Variable | undefined)[] {
    let list = this.vars.get(slot)
    if (!list) {
      list = []
      this.vars.set(slot, list)
    }
    return list
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

/** Shared bookkeeping: validation, step count, decay mask, state I/O. Subclasses write the
 *  per-variable update, which runs inside one tf.tidy per step. */
abstract class SlotOptimizer implements StudioOptimizer {
  abstract readonly name: OptimizerKind
  protected readonly slots: Slots
  protected t = 0 // steps taken

  constructor(
    slotNames: readonly string[],
    private readonly decayMask: DecayMask,
  ) {
    this.slots = new Slots(slotNames)
  }

  step(grads: tf.Tensor[], vars: tf.Variable[], lr: number): void {
    if (grads.length !== vars.length) throw new Error(`${grads.length} gradients for ${vars.length} variables`)
    this.t += 1
    // One tidy per variable: an update's temporaries (about a dozen tensors of the variable's
    // size for Adam) are freed before the next variable's, so a step needs the largest
    // variable's worth of scratch, not the whole model's (one tidy around all of them peaked at
    // about 15× the trainable weights, bench/node/hfBench.ts).
    vars.forEach((p, i) => {
      const g = grads[i]
      if (!g) return
      if (!sameShape(g.shape, p.shape))
        throw new Error(`Gradient for ${p.name} has shape [${g.shape}], variable has [${p.shape}]`)
      const decay = this.decayMask.get(p)
      if (decay === undefined) throw new Error(`No weight-decay flag for variable ${p.name}: its model or tuning piece must declare one`)
      tf.tidy(() => this.update(i, p, g, lr, decay))
    })
  }

  protected abstract update(i: number, p: tf.Variable, g: tf.Tensor, lr: number, decay: boolean): void

  async state(): Promise<OptimizerState> {
    return { name: this.name, step: this.t, ...(await this.slots.read()) }
  }

  restore(state: OptimizerState): void {
    if (state.name !== this.name) throw new Error(`Cannot restore ${state.name} state into ${this.name}`)
    this.slots.load(state)
    this.t = state.step
  }

  dispose(): void {
    this.slots.dispose()
  }
}

/** Adam with bias correction. 'adamw': decoupled decay p ← p·(1 − lr·wd) before the Adam
 *  update (Loshchilov & Hutter, PyTorch AdamW). 'adam': PyTorch Adam's L2 penalty, g ← g + wd·p,
 *  so the penalty is rescaled by the adaptive denominator (with wd = 0 both are plain Adam). */
class AdamFamily extends SlotOptimizer {
  constructor(
    readonly name: 'adam' | 'adamw',
    private readonly wd: number,
    private readonly b1: number,
    private readonly b2: number,
    private readonly eps: number,
    mask: DecayMask,
  ) {
    super(['m', 'v'], mask)
  }

  protected update(i: number, p: tf.Variable, g: tf.Tensor, lr: number, decay: boolean): void {
    const { b1, b2, eps, wd } = this
    const useDecay = decay && wd > 0
    if (fusedBackend() && !benchSwitch.unfusedOptimizer && g.dtype === 'float32' && p.dtype === 'float32') {
      // One kernel for the whole update (fusedUpdate.ts): the same float32 operations as below.
      const m = this.slots.get('m', i, p)
      const v = this.slots.get('v', i, p)
      const decayKind = !useDecay ? 'none' : this.name === 'adamw' ? 'decoupled' : 'l2'
      const [p2, m2, v2] = runAdamUpdate(p, g, m, v, {
        decay: decayKind,
        b1, c1: 1 - b1, b2, c2: 1 - b2,
        bc1: 1 - Math.pow(b1, this.t),
        bc2: 1 - Math.pow(b2, this.t),
        eps,
        lr,
        wd: decayKind === 'decoupled' ? 1 - lr * wd : wd,
      })
      m.assign(m2)
      v.assign(v2)
      p.assign(p2)
      return
    }
    const grad = useDecay && this.name === 'adam' ? tf.add(g, tf.mul(p, wd)) : g
    const m = this.slots.get('m', i, p)
    const v = this.slots.get('v', i, p)
    // Each stage in its own tidy, so no more than a few temporaries of the variable's size live
    // at once (GPT-2's 154 MB embedding: 15 of them were 2.3 GB on top of the model).
    m.assign(tf.tidy(() => tf.add(tf.mul(m, b1), tf.mul(grad, 1 - b1))))
    v.assign(tf.tidy(() => tf.add(tf.mul(v, b2), tf.mul(tf.square(grad), 1 - b2))))
    const bc1 = 1 - Math.pow(b1, this.t)
    const bc2 = 1 - Math.pow(b2, this.t)
    // lr · m̂ / (√v̂ + ε) with m̂ = m / bc1, v̂ = v / bc2
    const denom = tf.tidy(() => tf.add(tf.sqrt(tf.div(v, bc2)), eps))
    const adam = tf.tidy(() => tf.div(tf.div(m, bc1), denom))
    denom.dispose()
    p.assign(tf.tidy(() => tf.sub(useDecay && this.name === 'adamw' ? tf.mul(p, 1 - lr * wd) : p, tf.mul(adam, lr))))
    adam.dispose()
  }
}

/** SGD with momentum, PyTorch convention (dampening 0, not Nesterov): g ← g + wd·p (L2),
 *  b ← μ·b + g, p ← p − lr·b. With μ = 0 no buffer is kept. */
class Sgd extends SlotOptimizer {
  readonly name = 'sgd'

  constructor(
    private readonly wd: number,
    private readonly momentum: number,
    mask: DecayMask,
  ) {
    super(['momentum'], mask)
  }

  protected update(i: number, p: tf.Variable, g: tf.Tensor, lr: number, decay: boolean): void {
    if (fusedBackend() && !benchSwitch.unfusedOptimizer && g.dtype === 'float32' && p.dtype === 'float32') {
      const b = this.momentum > 0 ? this.slots.get('momentum', i, p) : null
      const [p2, b2] = runSgdUpdate(p, g, b, { decay: decay && this.wd > 0 ? 'l2' : 'none', momentum: this.momentum, lr, wd: this.wd })
      if (b && b2) b.assign(b2)
      p.assign(p2!)
      return
    }
    const grad = decay && this.wd > 0 ? tf.add(g, tf.mul(p, this.wd)) : g
    let dir = grad
    if (this.momentum > 0) {
      const b = this.slots.get('momentum', i, p)
      dir = tf.add(tf.mul(b, this.momentum), grad) // a zero buffer makes step 1 give b = g, as PyTorch
      b.assign(dir)
    }
    p.assign(tf.sub(p, tf.mul(dir, lr)))
  }
}

export function createOptimizer(kind: OptimizerKind, opts: OptimizerOptions): StudioOptimizer {
  const { weightDecay, momentum, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, decayMask } = opts
  switch (kind) {
    case 'adamw':
    case 'adam':
      return new AdamFamily(kind, weightDecay, beta1, beta2, epsilon, decayMask)
    case 'sgd':
      return new Sgd(weightDecay, momentum, decayMask)
    default: {
      const never: never = kind
      throw new Error(`Unknown optimizer ${String(never)}`)
    }
  }
}
