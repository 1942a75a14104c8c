import type { Body } from '../models/body'
import { type FreezeSettings, type TuningParts, trainableVariables } from './freeze'
import { sizeOf } from './namedVariable'

export interface ParamCounts {
  total: number // body + head + LoRA/adapters
  trainable: number // what the optimizer updates at this epoch
  frozen: number // total − trainable
}

/** Counts from the same variable list the loop trains, so the numbers shown cannot drift
 *  from what actually trains. */
export function paramCounts(model: Body, settings: FreezeSettings, epoch: number, parts: TuningParts = {}): ParamCounts {
  const extras = (parts.head ? [parts.head] : []).concat(parts.tuning ?? [])
  const total = model.parameterCount() + extras.reduce((n, o) => n + sizeOf(o.params), 0)
  const trainable = trainableVariables(model, settings, epoch, parts).reduce((n, v) => n + v.size, 0)
  return { total, trainable, frozen: total - trainable }
}
