/**
 * The view of the handler's held built-in LM that learning without labels
 * (pseudoLabelHost.ts) still reads and sets. Instruction and preference tuning no longer use
 * it: the engine session reads their files and trains them with its one train path
 * (engine/session/session.ts, lmObjectives.ts). This file goes when pseudo-labelling joins
 * the session too.
 */
import type { Encoded, Tuning } from '../engine/train/fineTune'
import type { RunControl } from '../engine/train/runControl'
import type { WeightMap } from '../engine/tuning/interpolate'
import type { LoadedTinyGpt } from '../engine/models/modelFile'

/** What pseudoLabelHost.ts reads and sets of the handler's session. */
export interface LmSession {
  loaded: LoadedTinyGpt | null
  base: WeightMap | null
  tuning: Tuning | null
  lastVal: Encoded | null
  run: { id: string; control: RunControl } | null
}
