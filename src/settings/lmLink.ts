/** The language-model part of the settings link: the objectives panel's choices (objective,
 *  DPO's β and SFT term, packing, the self-training rounds, threshold and balance) and the
 *  Hugging Face Hub model the settings were made with. They live beside step 3's settings
 *  (schema.ts), not in them: they are the panel's state, not the engine's Settings, and the
 *  model is a thing to load, never loaded by opening a link.
 *
 *  Same rules as schema.ts: a short name is never reused for another meaning (none of these
 *  is a schema short name; lmLink.test.ts checks), only non-defaults are written, and every
 *  value read from a link is coerced or refused with a reason (codec.ts). The defaults are
 *  the panel's (state/parts.ts initialLm; lmLink.test.ts checks they agree), so a link made
 *  before these keys existed reads as it always did. */
import { describeRaw, formatNumber, isNumberText } from './schema'

export type LinkObjective = 'sft' | 'dpo' | 'pseudo'

export interface LmLink {
  objective: LinkObjective
  beta: number // DPO's β
  sftWeight: number // DPO: weight of the chosen answers' cross-entropy (0 = off)
  pack: boolean // SFT: pack short rows into one sequence
  rounds: number // learning without labels: self-training rounds
  threshold: number // learning without labels: confidence a zero-shot label needs to train
  balance: boolean // learning without labels: as many rows of each class as the smallest has
}

interface Base<K extends keyof LmLink> {
  key: K
  short: string
  label: string
  default: LmLink[K]
}
type LmSpec =
  | (Base<'objective'> & { kind: 'choice'; choices: readonly LinkObjective[] })
  | (Base<'beta' | 'sftWeight' | 'rounds' | 'threshold'> & { kind: 'number' | 'int'; min: number; max: number })
  | (Base<'pack' | 'balance'> & { kind: 'bool' })

/** One entry per key; ranges are the panel's controls' (LmObjectivesPanel.tsx, PseudoLabelling.tsx). */
export const LM_LINK_SPEC: readonly LmSpec[] = [
  { key: 'objective', short: 'lo', label: 'Objective', kind: 'choice', default: 'sft', choices: ['sft', 'dpo', 'pseudo'] },
  { key: 'beta', short: 'db', label: 'DPO beta', kind: 'number', default: 0.1, min: 0.01, max: 2 },
  { key: 'sftWeight', short: 'dw', label: 'SFT term weight', kind: 'number', default: 0, min: 0, max: 2 },
  { key: 'pack', short: 'pk', label: 'Pack short rows', kind: 'bool', default: false },
  { key: 'rounds', short: 'sr', label: 'Self-training rounds', kind: 'int', default: 1, min: 1, max: 5 },
  { key: 'threshold', short: 'st', label: 'Confidence threshold', kind: 'number', default: 0.6, min: 0, max: 1 },
  { key: 'balance', short: 'sb', label: 'Balance the classes', kind: 'bool', default: true },
]

export const LM_LINK_DEFAULTS: Readonly<LmLink> = Object.freeze(
  Object.fromEntries(LM_LINK_SPEC.map((s) => [s.key, s.default])) as unknown as LmLink,
)

/** A Hugging Face Hub model as a link names it. */
export interface LinkModel {
  repo: string // owner/name
  revision: string // branch, tag or commit; 'main' when the link gives none
}

/** URL names of the model's repo id and revision. */
export const MODEL_SHORT = { repo: 'hm', revision: 'hv' } as const
export const MODEL_LABELS = { repo: 'Hugging Face model', revision: 'Model revision' } as const

/** Longest value of these keys read from a link (a repo id is at most 96 + 1 + 96). */
const MAX_TEXT = 200

export type LmCoerced = { ok: true; value: LmLink[keyof LmLink] } | { ok: false; reason: string }

/** Reads one untrusted link value for `spec`; never throws, never clamps (as schema.ts coerce). */
export function coerceLm(spec: LmSpec, raw: string): LmCoerced {
  if (raw.length > MAX_TEXT) return { ok: false, reason: `value is too long (${raw.length} characters)` }
  switch (spec.kind) {
    case 'choice': {
      const hit = spec.choices.find((c) => c === raw)
      return hit ? { ok: true, value: hit } : { ok: false, reason: `expected one of ${spec.choices.join(', ')}, got ${describeRaw(raw)}` }
    }
    case 'bool':
      if (raw === '1' || raw === 'true') return { ok: true, value: true }
      if (raw === '0' || raw === 'false') return { ok: true, value: false }
      return { ok: false, reason: `expected 1 or 0, got ${describeRaw(raw)}` }
    case 'number':
    case 'int': {
      if (!isNumberText(raw)) return { ok: false, reason: `expected a number, got ${describeRaw(raw)}` }
      const n = Number(raw.trim())
      if (!Number.isFinite(n)) return { ok: false, reason: `expected a finite number, got ${describeRaw(raw)}` }
      if (spec.kind === 'int' && !Number.isInteger(n)) return { ok: false, reason: `expected a whole number, got ${formatNumber(n)}` }
      if (n < spec.min || n > spec.max) return { ok: false, reason: `${formatNumber(n)} is outside ${formatNumber(spec.min)}\u2013${formatNumber(spec.max)}` }
      return { ok: true, value: Object.is(n, -0) ? 0 : n }
    }
  }
}

// One part of a repo id, as the Hub allows it: letters, digits, '-', '_' and '.', starting
// and ending with a letter, digit or '_', at most 96 characters, no '--' or '..'.
const REPO_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/

/** Why `raw` is not a Hub repo id of the form owner/name, or null when it is one. */
export function repoIdProblem(raw: string): string | null {
  const what = describeRaw(raw)
  if (raw.length > MAX_TEXT) return `the repo id is too long (${raw.length} characters)`
  const parts = raw.split('/')
  if (parts.length !== 2) return `${what} is not of the form owner/name`
  if (parts.some((p) => !REPO_PART.test(p) || p.includes('--') || p.includes('..'))) return `${what} has characters a repo id cannot have`
  if (/\.git$/i.test(raw)) return `${what} ends in .git, which a repo id cannot`
  return null
}

// A branch, tag or commit: letters, digits, '-', '_', '.' and '/' (refs/pr/1), no '..' or
// '//', not starting with '-', '.' or '/' and not ending with '/' or '.'.
const REVISION = /^[A-Za-z0-9_](?:[A-Za-z0-9_./-]{0,98}[A-Za-z0-9_])?$/

/** Why `raw` is not a revision (branch, tag or commit), or null when it is one. */
export function revisionProblem(raw: string): string | null {
  if (REVISION.test(raw) && !raw.includes('..') && !raw.includes('//')) return null
  return `${describeRaw(raw)} is not a branch, tag or commit name`
}

/** The Hub model a page model id names (worker/hfModelHost.ts: `hf:owner/name` or
 *  `hf:owner/name@revision`), or null for any other model (built-in, from files, a URL) and
 *  for an id a link could not carry. */
export function hubModelOfId(id: string | null | undefined): LinkModel | null {
  if (!id || !id.startsWith('hf:')) return null
  const rest = id.slice(3)
  const at = rest.indexOf('@')
  const repo = at < 0 ? rest : rest.slice(0, at)
  const revision = at < 0 ? 'main' : rest.slice(at + 1)
  if (repoIdProblem(repo) !== null || revisionProblem(revision) !== null) return null
  return { repo, revision }
}

/** "owner/name" or "owner/name (revision v1.0)". */
export const describeModel = (m: LinkModel): string => (m.revision === 'main' ? m.repo : `${m.repo} (revision ${m.revision})`)

/** Every link key this module adds, with its URL name and label (for the link's report). */
export const LM_LINK_LABELS: readonly { key: string; short: string; label: string }[] = [
  ...LM_LINK_SPEC.map((s) => ({ key: s.key, short: s.short, label: s.label })),
  { key: 'hubRepo', short: MODEL_SHORT.repo, label: MODEL_LABELS.repo },
  { key: 'hubRevision', short: MODEL_SHORT.revision, label: MODEL_LABELS.revision },
]
