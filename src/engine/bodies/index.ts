/** Every model kind the engine trains, each declaring itself (bodies/kind.ts). The last one
 *  takes any body made of whole layers (the tabular MLP). A kind is one line in `KINDS`, or
 *  `registerBodyKind(kind)` at run time. */
import type { Body } from '../models/body'
import type { ModelLimits } from '../types/model'
import type { BodyKind } from './kind'
import { layersKind } from './layers'
import { wholeLayersKind } from './tabular'
import { tinyCnnKind } from './tinyCnn'
import { tinyGptKind } from './tinyGpt'
import { hfKind } from './hf'

export type { BodyKind }

const KINDS: BodyKind<never>[] = [tinyGptKind, hfKind, tinyCnnKind, layersKind, wholeLayersKind] as unknown as BodyKind<never>[]

/** Adds a model kind at run time (a plug-in, or a test): it is asked before the built-in
 *  catch-all for whole-layer bodies, so its LoRA places and limits apply. Returns the way to
 *  take it out again. Mirrors `registerTask` (tasks/index.ts). */
export function registerBodyKind<M extends Body>(kind: BodyKind<M>): () => void {
  const entry = kind as unknown as BodyKind<never>
  KINDS.splice(KINDS.length - 1, 0, entry) // before wholeLayersKind, which owns every body
  return () => {
    const at = KINDS.indexOf(entry)
    if (at >= 0) KINDS.splice(at, 1)
  }
}

/** The adapter that declares `model`. */
export function bodyKindOf(model: Body): BodyKind {
  const kind = KINDS.find((k) => (k as unknown as BodyKind).owns(model))
  return (kind ?? wholeLayersKind) as unknown as BodyKind
}

/** The limits `model` declares for the settings. */
export function modelLimits(model: Body): ModelLimits {
  return bodyKindOf(model).limits(model)
}
