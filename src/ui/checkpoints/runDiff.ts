import { describeSetting, SCHEMA } from '../../settings/schema'
import type { Settings } from '../../settings/types'

/** A setting's value as the settings panel writes it ("Cosine decay", "10 steps", "on"). */
export const valueText = <K extends keyof Settings>(key: K, value: Settings[K]) => describeSetting(key, value).replace(/^[^:]*: /, '')

/** The settings on which the chosen runs do not all agree, in schema order. */
export function differingSettings(runs: { settings: Partial<Settings> }[]): (keyof Settings)[] {
  if (runs.length < 2) return []
  return SCHEMA.map((s) => s.key).filter((k) => new Set(runs.map((r) => JSON.stringify(r.settings[k] ?? null))).size > 1)
}
