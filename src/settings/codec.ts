/** Settings ⇄ a compact, versioned URL query (`v=2&m=lora&lr=0.002`). Only values that
 *  differ from the defaults are written, under their short names; `v` is always written
 *  because a link without it is read as version 1.
 *
 *  Decoding treats the link as hostile: it never throws, every value goes through the
 *  schema's `coerce`, and anything refused falls back to the default with a reason in the
 *  report. A link made by a NEWER studio is reported and its known keys are applied
 *  anyway: short names are never reused for another meaning (see migrations.ts), so a
 *  known key still means what it says, and keeping the sender's learning rate and method
 *  is more useful than discarding the whole link. Keys the newer version added are
 *  reported as unknown.
 *
 *  Beside step 3's settings the link carries the language-model objectives panel's choices
 *  and the Hugging Face Hub model they were made with (lmLink.ts), read with the same care;
 *  the model is only named, never loaded, by decoding. */
import { coerce, DEFAULTS, describeRaw, SCHEMA, type SettingSpec } from './schema'
import { CURRENT, migrate, type Params } from './migrations'
import type { Settings } from './types'
import { coerceLm, LM_LINK_DEFAULTS, LM_LINK_SPEC, MODEL_LABELS, MODEL_SHORT, repoIdProblem, revisionProblem, type LinkModel, type LmLink } from './lmLink'

/** What a link applied: a setting, an objectives-panel choice, or the model it names. */
export type AppliedKey = keyof Settings | keyof LmLink | 'hubRepo' | 'hubRevision'

export interface DecodeReport {
  /** The link's version as read (1 when `v` is missing or unreadable). */
  version: number
  applied: { key: AppliedKey; value: string | number | boolean }[]
  ignored: { param: string; reason: string }[]
}

export interface Decoded {
  settings: Settings
  /** The objectives panel's choices: defaults where the link says nothing. */
  lm: LmLink
  /** The Hub model the link was made with, when it names a valid one; never loaded here. */
  model: LinkModel | null
  report: DecodeReport
}

/** Longer links are refused whole; a real link is a few hundred characters. */
export const MAX_QUERY_LENGTH = 16_384
/** Parameters beyond this many are not read (there are ~30 settings). */
export const MAX_PARAMS = 100

const BY_SHORT: ReadonlyMap<string, SettingSpec> = new Map(SCHEMA.map((s) => [s.short, s]))
const LM_BY_SHORT = new Map(LM_LINK_SPEC.map((s) => [s.short, s]))

export function encodeSettings(s: Settings): string {
  const parts = [`v=${CURRENT}`]
  for (const spec of SCHEMA) {
    const value = s[spec.key]
    if (value === spec.default) continue
    parts.push(`${spec.short}=${escape(encodeValue(value))}`)
  }
  return parts.join('&')
}

/** The whole link: step 3's settings, then the objectives panel's choices that differ from
 *  their defaults, then the Hub model (its revision only when not main). */
export function encodeLink(s: Settings, lm: LmLink, model: LinkModel | null): string {
  const parts = [encodeSettings(s)]
  for (const spec of LM_LINK_SPEC) {
    const value = lm[spec.key]
    if (value === spec.default) continue
    parts.push(`${spec.short}=${escape(encodeValue(value))}`)
  }
  if (model && repoIdProblem(model.repo) === null) {
    parts.push(`${MODEL_SHORT.repo}=${escape(model.repo)}`)
    if (model.revision !== 'main' && revisionProblem(model.revision) === null) parts.push(`${MODEL_SHORT.revision}=${escape(model.revision)}`)
  }
  return parts.join('&')
}

function encodeValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? '1' : '0'
  // String(n) is the shortest text that reads back as exactly n (1e-7, 0.002, 42).
  return String(value)
}

// Commas and slashes are legal in a query and keep `lt=qkv,fc` and `hm=owner/name` readable.
const escape = (v: string) => encodeURIComponent(v).replace(/%2C/gi, ',').replace(/%2F/gi, '/')

/** Reads `location.search` or `location.hash` (with or without the leading ? or #). */
export function decodeSettings(query: string): Decoded {
  const settings: Settings = { ...DEFAULTS }
  const lm: LmLink = { ...LM_LINK_DEFAULTS }
  const report: DecodeReport = { version: 1, applied: [], ignored: [] }
  const ignore = (param: string, reason: string) =>
    report.ignored.push({ param: paramName(param), reason })

  if (typeof query !== 'string') return { settings, lm, model: null, report }
  if (query.length > MAX_QUERY_LENGTH) {
    ignore('(link)', `the link is ${query.length} characters long; all settings left at defaults`)
    return { settings, lm, model: null, report }
  }

  const raw = readParams(query.replace(/^[?#]/, ''), ignore)
  const version = readVersion(raw.get('v'), ignore)
  raw.delete('v')
  report.version = version
  if (version > CURRENT) {
    ignore(
      'v',
      `made by a newer version of the studio (link v${version}, this studio v${CURRENT}); the settings this version knows were applied, the rest ignored`,
    )
  }

  const params = migrate(raw, version, ignore)
  const model = readModel(params, ignore)
  for (const [name, value] of params) {
    const spec = BY_SHORT.get(name)
    if (!spec) {
      const lmSpec = LM_BY_SHORT.get(name)
      if (!lmSpec) {
        ignore(name, 'unknown setting')
        continue
      }
      const c = coerceLm(lmSpec, value)
      if (!c.ok) {
        ignore(name, `${lmSpec.label}: ${c.reason}; using the default`)
        continue
      }
      assign(lm, lmSpec.key, c.value as LmLink[typeof lmSpec.key])
      report.applied.push({ key: lmSpec.key, value: c.value })
      continue
    }
    const c = coerce(spec.key, value)
    if (!c.ok) {
      ignore(name, `${spec.label}: ${c.reason}; using the default`)
      continue
    }
    assign(settings, spec.key, c.value)
    report.applied.push({ key: spec.key, value: c.value })
  }
  if (model) {
    report.applied.push({ key: 'hubRepo', value: model.repo })
    if (model.revision !== 'main') report.applied.push({ key: 'hubRevision', value: model.revision })
  }
  return { settings, lm, model, report }
}

function assign<T, K extends keyof T>(s: T, key: K, value: T[K]): void {
  s[key] = value
}

/** Takes the model's repo id and revision out of `p`. A repo id of the wrong form is refused
 *  whole (with its revision); a bad revision alone is refused and main is named instead. */
function readModel(p: Params, ignore: (param: string, reason: string) => void): LinkModel | null {
  const repo = p.get(MODEL_SHORT.repo)
  const revision = p.get(MODEL_SHORT.revision)
  p.delete(MODEL_SHORT.repo)
  p.delete(MODEL_SHORT.revision)
  if (repo === undefined) {
    if (revision !== undefined) ignore(MODEL_SHORT.revision, `${MODEL_LABELS.revision}: a revision without a model (${MODEL_SHORT.repo}) names nothing; ignored`)
    return null
  }
  const bad = repoIdProblem(repo)
  if (bad !== null) {
    ignore(MODEL_SHORT.repo, `${MODEL_LABELS.repo}: ${bad}; no model offered`)
    return null
  }
  if (revision === undefined) return { repo, revision: 'main' }
  const badRev = revisionProblem(revision)
  if (badRev !== null) {
    ignore(MODEL_SHORT.revision, `${MODEL_LABELS.revision}: ${badRev}; main offered instead`)
    return { repo, revision: 'main' }
  }
  return { repo, revision }
}

/** One value per name; a repeated name is ambiguous, so it is dropped (→ default). */
function readParams(query: string, ignore: (param: string, reason: string) => void): Params {
  const seen = new Map<string, string[]>()
  let count = 0
  for (const [name, value] of new URLSearchParams(query)) {
    if (++count > MAX_PARAMS) {
      ignore('(link)', `more than ${MAX_PARAMS} parameters; the rest were not read`)
      break
    }
    const list = seen.get(name)
    if (list) list.push(value)
    else seen.set(name, [value])
  }
  const out: Params = new Map()
  for (const [name, values] of seen) {
    if (values.length === 1 && values[0] !== undefined) out.set(name, values[0])
    else ignore(name, `given ${values.length} times, which is ambiguous; using the default`)
  }
  return out
}

function readVersion(raw: string | undefined, ignore: (p: string, r: string) => void): number {
  if (raw === undefined) return 1
  if (/^[1-9]\d{0,5}$/.test(raw)) return Number(raw)
  ignore('v', `version ${describeRaw(raw)} is not a version number; read as version 1`)
  return 1
}

/** Parameter names in reports are untrusted text too: keep them short. */
function paramName(name: string): string {
  return name.length > 24 ? `${name.slice(0, 24)}\u2026` : name
}
