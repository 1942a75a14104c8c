import type { DecodeReport } from '../../settings/codec'
import { LM_LINK_LABELS } from '../../settings/lmLink'
import { SCHEMA } from '../../settings/schema'

/** A short, readable account of what an opened link did: setting labels instead of keys,
 *  long values cut, and at most a few items of each kind with a count of the rest. */
const MAX_ITEMS = 6
const MAX_VALUE = 32
const ALL = [...SCHEMA.map((s) => ({ key: String(s.key), short: s.short, label: s.label })), ...LM_LINK_LABELS]
const LABELS: ReadonlyMap<string, string> = new Map(ALL.map((s) => [s.key, s.label]))
const BY_SHORT: ReadonlyMap<string, string> = new Map(ALL.map((s) => [s.short, s.label]))

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}\u2026` : s)

function list(items: string[]): string {
  const shown = items.slice(0, MAX_ITEMS).join(', ')
  return items.length > MAX_ITEMS ? `${shown} and ${items.length - MAX_ITEMS} more` : shown
}

/** Ignored values fall back to their defaults; the page says so once. */
export function linkSummary(report: DecodeReport): { applied: string; ignored: string } {
  const applied = report.applied.map((a) => `${LABELS.get(String(a.key)) ?? String(a.key)} ${cut(String(a.value), MAX_VALUE)}`)
  // The codec's reasons read "Label: why; using the default": keep the why, name the setting once.
  const ignored = report.ignored.map((i) => {
    const why = i.reason.replace(/^[^:]{1,40}: /, '').replace(/; using the default$/, '')
    return `${BY_SHORT.get(i.param) ?? cut(i.param, 24)} (${cut(why, 70)})`
  })
  return { applied: list(applied), ignored: list(ignored) }
}
