/** Models the session builds for the data itself, beside whatever model is loaded: today the
 *  tabular MLP for a table's numeric columns — unless the loaded model reads rows of numbers
 *  itself (a person's own Keras MLP, layersRows.ts): then the table fine-tunes that one.
 *  Models read from files or URLs are held by the families that load them (text.ts, image.ts,
 *  layers.ts); a new family built for a kind of data is one line here. */
import type { HeldModel, SessionData } from '../family'
import { rowsFamily } from './layersRows'
import { tabularFor, wantsTabular } from './tabular'

interface Builder {
  /** Whether the data trains a model of its own rather than the loaded one. */
  wants(data: SessionData): boolean
  /** That model: `current` when it was built for the same data and seed, else a new one. */
  build(data: SessionData, seed: number, current: HeldModel | null): HeldModel
}

const BUILT_FOR_DATA: readonly Builder[] = [{ wants: wantsTabular, build: tabularFor }]

/** Whether the loaded model reads this data itself (a row-reading layers model, a table). */
function loadedReads(data: SessionData, loaded: HeldModel | null): boolean {
  return loaded?.family === rowsFamily && wantsTabular(data)
}

/** Whether the current data trains a model built for it. */
export function dataHasOwnModel(data: SessionData, loaded: HeldModel | null = null): boolean {
  return !loadedReads(data, loaded) && BUILT_FOR_DATA.some((b) => b.wants(data))
}

/** The model built for the current data (`current` when it still fits), or null when the data
 *  is read by the loaded model instead. */
export function modelForData(data: SessionData, seed: number, current: HeldModel | null, loaded: HeldModel | null = null): HeldModel | null {
  if (loadedReads(data, loaded)) return null
  const builder = BUILT_FOR_DATA.find((b) => b.wants(data))
  return builder ? builder.build(data, seed, current) : null
}
