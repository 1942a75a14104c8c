/** Every model kind the engine trains, each declaring itself (bodies/kind.ts). The last one
 *  takes any body made of whole layers (the tabular MLP). */
import type { Body } from '../models/body'
import type { ModelLimits } from '../types/model'
import type { BodyKind } from './kind'
import { layersKind } from './layers'
import { wholeLayersKind } from './tabular'
import { tinyCnnKind } from './tinyCnn'
import { tinyGptKind } from './tinyGpt'
import { hfKind } from './hf'

export type { BodyKind }

const KINDS: readonly BodyKind<never>[] = [tinyGptKind, hfKind, tinyCnnKind, layersKind, wholeLayersKind] as unknown as BodyKind<never>[]

/** The adapter that declares `model`. */
export function bodyKindOf(model: Body): BodyKind {
  const kind = KINDS.find((k) => (k as unknown as BodyKind).owns(model))
  return (kind ?? wholeLayersKind) as unknown as BodyKind
}

/** The limits `model` declares for the settings. */
export function modelLimits(model: Body): ModelLimits {
  return bodyKindOf(model).limits(model)
}
