import type { SettingSpec } from '../../settings/schema'
import type { Settings } from '../../settings/types'

/** Whether a setting does anything with these settings (LoRA rank only for LoRA, …). */
export const inEffect = (spec: SettingSpec, s: Settings) => !spec.showWhen || spec.showWhen(s)

/** Settings not at their schema default (and in effect), in schema order. */
export function changedFromDefault(specs: readonly SettingSpec[], s: Settings): SettingSpec[] {
  return specs.filter((spec) => inEffect(spec, s) && s[spec.key] !== spec.default)
}
