import * as tf from '@tensorflow/tfjs'
import type { Metrics } from '../types/metrics'
import type { Body } from '../models/body'
import type { LoopResumeState, StoredOptimizerGroup, StoredTensor } from '../storage/types'
import type { ParamOwner } from '../tuning/namedVariable'
import { createOptimizer, type StudioOptimizer } from './optimizers'
import type { Settings } from '../../settings/types'

/** What the loop hands out at the end of each full epoch: enough to continue the run. */
export interface LoopCheckpoint {
  loop: LoopResumeState
  weights: StoredTensor[] // the body weights that may change, and every tuning weight
  optimizer: StoredOptimizerGroup[]
  train: Metrics
  val: Metrics
  isBest: boolean
  monitored: number
  mode: 'min' | 'max'
}

/** What the loop needs to continue from a checkpoint (same settings, same data). */
export interface ResumeInput {
  loop: LoopResumeState
  weights: StoredTensor[]
  optimizer: StoredOptimizerGroup[]
  bestWeights?: StoredTensor[] // the run's best checkpoint, for "restore best" at the end
}

/** Stable names for every weight a run can change or add: "body/<param>" for the network,
 *  "tuning/<param>" for heads, LoRA and adapters. tfjs' own variable names are not stable. */
export function stableNames(model: Body, parts: { head?: ParamOwner; tuning: ParamOwner[] }): Map<tf.Variable, string> {
  const out = new Map<tf.Variable, string>()
  for (const p of model.params) out.set(p.variable, `body/${p.name}`)
  for (const owner of [parts.head, ...parts.tuning]) for (const p of owner?.params ?? []) out.set(p.variable, `tuning/${p.name}`)
  return out
}

/** Weight decay for every weight a run can train, as the model and the tuning pieces declare
 *  it (Param.decay, NamedVariable.decay): the optimizers' decay mask. */
export function decayFlags(model: Body, parts: { head?: ParamOwner; tuning: ParamOwner[] }): Map<tf.Variable, boolean> {
  const out = new Map<tf.Variable, boolean>()
  for (const p of model.params) out.set(p.variable, p.decay)
  for (const owner of [parts.head, ...parts.tuning]) for (const p of owner?.params ?? []) out.set(p.variable, p.decay)
  return out
}

/** Copies variable values out as float32 buffers (await, never dataSync). */
export async function readTensors(vars: Iterable<tf.Variable>, names: Map<tf.Variable, string>): Promise<StoredTensor[]> {
  const out: StoredTensor[] = []
  for (const v of vars) {
    const data = (await v.data()) as Float32Array
    out.push({ name: nameOf(v, names), shape: [...v.shape], data: data.slice().buffer })
  }
  return out
}

/** Assigns stored values to the variables with those names; a missing name or a shape that
 *  differs is an error naming the weight (the checkpoint belongs to another model). */
export function assignTensors(stored: readonly StoredTensor[], names: Map<tf.Variable, string>): void {
  const byName = new Map([...names].map(([v, n]) => [n, v] as const))
  for (const t of stored) {
    const v = byName.get(t.name)
    if (!v) throw new Error(`The checkpoint has weight ${t.name}, which this model and method do not have.`)
    if (v.shape.length !== t.shape.length || v.shape.some((d, i) => d !== t.shape[i]))
      throw new Error(`Weight ${t.name} is [${t.shape}] in the checkpoint but [${v.shape}] in this model.`)
    tf.tidy(() => v.assign(tf.tensor(new Float32Array(t.data), t.shape, 'float32')))
  }
}

/** Rebuilds the optimizer parameter groups in their original order with their moments. */
export function restoreOptimizers(groups: readonly StoredOptimizerGroup[], names: Map<tf.Variable, string>, s: Settings, decay: ReadonlyMap<tf.Variable, boolean>): { vars: tf.Variable[]; opt: StudioOptimizer }[] {
  const byName = new Map([...names].map(([v, n]) => [n, v] as const))
  return groups.map((g) => {
    const vars = g.names.map((n) => {
      const v = byName.get(n)
      if (!v) throw new Error(`The checkpoint's optimizer steps ${n}, which this model does not have.`)
      return v
    })
    const opt = createOptimizer(s.optimizer, { weightDecay: s.weightDecay, momentum: s.momentum, decayMask: decay })
    opt.restore(g.state)
    return { vars, opt }
  })
}

export async function readOptimizers(groups: readonly { vars: tf.Variable[]; opt: StudioOptimizer }[], names: Map<tf.Variable, string>): Promise<StoredOptimizerGroup[]> {
  const out: StoredOptimizerGroup[] = []
  for (const g of groups) out.push({ names: g.vars.map((v) => nameOf(v, names)), state: await g.opt.state() })
  return out
}

/** Stored tensors as kept copies keyed by variable (the loop's "best" snapshot form). */
export function tensorsByVariable(stored: readonly StoredTensor[], names: Map<tf.Variable, string>): Map<tf.Variable, tf.Tensor> {
  const byName = new Map([...names].map(([v, n]) => [n, v] as const))
  const out = new Map<tf.Variable, tf.Tensor>()
  for (const t of stored) {
    const v = byName.get(t.name)
    if (v) out.set(v, tf.keep(tf.tensor(new Float32Array(t.data), t.shape, 'float32')))
  }
  return out
}

function nameOf(v: tf.Variable, names: Map<tf.Variable, string>): string {
  const n = names.get(v)
  if (!n) throw new Error(`Variable ${v.name} has no stable name`)
  return n
}
