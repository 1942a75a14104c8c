import type * as tf from '@tensorflow/tfjs'
import type { Body } from '../models/body'
import type { Param } from '../models/tinyGpt'
import { trainableBlocks, tuningParamsTrain, type FreezeSettings } from '../../settings/trainableBlocks'
import type { ParamOwner } from './namedVariable'

// Which units train at an epoch is a pure function of the settings, shared with the page's
// freeze toggles; the tensor side (which variables, what may be cached) stays here.
export { hasSchedule, trainableBlocks, tuningParamsTrain, type FreezeSettings } from '../../settings/trainableBlocks'

/** The body weights to train, ordered top block first (final norm, block n-1, …, embeddings
 *  last) so that under gradual unfreezing the list only grows at its end: Adam keys its
 *  moments by position, and appended variables keep the earlier positions valid. */
export function trainableBodyParams(model: Body, settings: FreezeSettings, epoch: number): Param[] {
  const blocks = trainableBlocks(model.config.nLayers, settings, epoch)
  return model.params.filter((p) => blocks.has(p.block)).sort((a, b) => b.block - a.block) // stable: model order within a block
}

export interface TuningParts {
  head?: ParamOwner // always trains
  tuning?: readonly ParamOwner[] // LoRA, adapters: train unless in the head-first stage
}

/** The explicit variable list for `tf.variableGrads` / an optimizer: head, then LoRA or
 *  adapters, then the body (see trainableBodyParams for why this order). */
export function trainableVariables(model: Body, settings: FreezeSettings, epoch: number, parts: TuningParts = {}): tf.Variable[] {
  const vars = (parts.head?.params ?? []).map((p) => p.variable)
  if (tuningParamsTrain(settings, epoch)) for (const t of parts.tuning ?? []) vars.push(...t.params.map((p) => p.variable))
  vars.push(...trainableBodyParams(model, settings, epoch).map((p) => p.variable))
  return vars
}

/** How many leading blocks (0..nLayers) are wholly frozen and carry no LoRA/adapter, so the
 *  loop can cache `model.prefix(tokens, n)` once per example (computed without dropout) and
 *  run only `forwardFrom(x, n)`. 0 when the embeddings train: nothing is cacheable.
 *  `tuning` lists the blocks hooks touch (`lora.blocks`, `adapters.blocks`); without it a
 *  lora/adapter method is assumed to touch every block. */
export function frozenPrefixBlocks(
  model: Body,
  settings: FreezeSettings,
  epoch: number,
  tuning?: readonly { readonly blocks: readonly number[] }[],
): number {
  const n = model.config.nLayers
  const trainable = trainableBlocks(n, settings, epoch)
  if (trainable.has(-1)) return 0
  const hooked = new Set<number>()
  if (tuning) for (const t of tuning) for (const b of t.blocks) hooked.add(b)
  else if (settings.method === 'lora' || settings.method === 'adapter') return 0
  for (let i = 0; i < n; i++) if (trainable.has(i) || hooked.has(i)) return i
  return n
}
