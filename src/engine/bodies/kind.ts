/**
 * A Body adapter: what one kind of model declares to the engine beyond the `Body` forward
 * interface (engine/models/body.ts). The Body itself already says which units and blocks it
 * has (`params`, each with its `block`), what may be cached (`prefix` / `forwardFrom` stop and
 * restart at any block), its pooled features (`pool`, `featureDim`) and which weights take
 * weight decay (`Param.decay`). The adapter adds where LoRA and adapters go and the limits
 * the settings are checked against, so the loop (`Tuning`, engine/train/fineTune.ts) and
 * `modelLimits` never ask which class a model is.
 *
 * A new model kind is one adapter file here plus one line in `bodies/index.ts` (or
 * `registerBodyKind(kind)` at run time; session/newBody.test.ts does that).
 */
import type { Settings } from '../../settings/types'
import type { Method } from '../../settings/types'
import type { ModelLimits } from '../types/model'
import type { Body } from '../models/body'
import type { LoraOptions } from '../tuning/lora'

export interface BodyKind<M extends Body = Body> {
  /** For messages and the architecture document. */
  readonly name: string
  /** Whether `model` is of this kind. */
  owns(model: Body): model is M
  /** Where LoRA goes for these settings (layer kinds or explicit layers); null: this body
   *  has no place for low-rank updates. */
  loraPlacement(model: M, settings: Settings): Pick<LoraOptions, 'targets' | 'layers'> | null
  /** Whether adapter blocks can sit between this body's blocks (a transformer's). */
  readonly adapters: boolean
  /** What the settings may ask of this model (the page and the worker check them). */
  limits(model: M): ModelLimits
}

export const EVERY_METHOD: readonly Method[] = ['head', 'freeze', 'lora', 'adapter', 'full', 'custom']

/** The layer among `layers` whose kernel [in, out] has the smallest side: it caps the rank. */
export function narrowest(model: Body, target: string, layers: readonly string[]): ModelLimits['lora'][number] {
  let best = { target, layer: '', maxRank: Number.POSITIVE_INFINITY }
  for (const layer of layers) {
    const [nIn = 0, nOut = 0] = model.get(`${layer}.kernel`).shape
    const side = Math.min(nIn, nOut)
    if (side < best.maxRank) best = { target, layer, maxRank: side }
  }
  return best
}
