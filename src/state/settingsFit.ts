/** Step 3's defaults fitted to the loaded model. A setting the person has not chosen (still its
 *  default: not set by a link, a preset, a restored run or a control on the page) that the model
 *  refuses is set to the nearest value it takes, and the page says so in one sentence ("Frozen
 *  blocks set to 1: my_mlp has 2 blocks"). A chosen one is never changed here: its refusal stays,
 *  and `suggestedFix` gives the value its "Use …" button sets.
 *
 *  fitSettings is the rule (pure); followModel keeps the store's settings fitted as models and
 *  datasets load (main.tsx starts it). */
import { create } from 'zustand'
import { frozenBlockIds, frozenBlocksText } from '../settings/frozenBlocks'
import { DEFAULTS, SPEC } from '../settings/schema'
import type { Settings } from '../settings/types'
import { contextFromLimits, loraRankLimit, validateSettings, type ValidationContext } from '../settings/validate'
import type { DatasetSummary, ModelSummary } from '../worker/protocol'
import { readsData } from './settingsCheck'
import { useStudio, type Studio } from './store'

/** The settings a model's limits decide, in the order they are fitted (the method first). */
export const FITTED = ['method', 'freezeFirst', 'frozenBlocks', 'loraRank', 'adapterSize', 'seqLen'] as const
export type FittedKey = (typeof FITTED)[number]

export interface FitChange {
  key: FittedKey
  value: Settings[FittedKey]
  why: string // "my_mlp has 2 blocks"
}

/** The methods tried, nearest to the default ("Freeze early blocks") first. */
const METHOD_ORDER: readonly Settings['method'][] = ['freeze', 'full', 'lora', 'adapter', 'custom', 'head']

/** The context the page checks settings in, or null while it checks none (no limits, no dataset,
 *  a model that does not read this dataset): the same gate as settingsCheck.ts. */
export function fitContext(model: ModelSummary | null, dataset: DatasetSummary | null, s: Settings): ValidationContext | null {
  return model?.limits && dataset && readsData(model, dataset) ? contextFromLimits(model.limits, dataset, s) : null
}

/** The value this model takes nearest to `s[key]`, with why, or null when it takes `s[key]`
 *  (or nothing here would do). Only the model's limits are considered. */
export function fitValue(key: FittedKey, s: Settings, ctx: ValidationContext, title: string): { value: Settings[FittedKey]; why: string } | null {
  const refused = (t: Settings) => validateSettings(t, ctx).some((p) => p.field === key)
  if (!refused(s)) return null
  const { nLayers, hasHead, dModel, limits } = ctx
  const blocks = `${title} has ${nLayers} block${nLayers === 1 ? '' : 's'}${hasHead ? '' : ' and no separate head'}`
  let value: Settings[FittedKey] | null = null
  let why = ''
  switch (key) {
    case 'method': {
      const allowed = METHOD_ORDER.filter((m) => (limits ? limits.methods.includes(m) : true) && (m !== 'head' || hasHead))
      value = allowed.find((m) => !refused({ ...s, method: m })) ?? null
      why = limits?.why?.[s.method]?.replace(/^This model/, title) ?? `${title} cannot train with ${label('method', s.method)}`
      break
    }
    case 'freezeFirst':
      value = Math.max(0, hasHead ? nLayers : nLayers - 1)
      why = blocks
      break
    case 'frozenBlocks': {
      const ids = frozenBlockIds(s.frozenBlocks, nLayers)
      value = frozenBlocksText(ids, nLayers)
      why = `${title} has blocks 0\u2013${nLayers - 1} only`
      break
    }
    case 'loraRank': {
      const cap = limits ? loraRankLimit(limits, s.loraTargets) : null
      value = Math.max(1, Math.min(cap?.maxRank ?? dModel, dModel))
      why = cap && cap.maxRank <= dModel ? `layer ${cap.layer} of ${title} is ${cap.maxRank} wide on its narrower side` : `${title}'s layers are ${dModel} wide`
      break
    }
    case 'adapterSize':
      value = Math.max(2, Math.floor(dModel / 4))
      why = `${title}'s layers are ${dModel} wide, and an adapter is a narrower bottleneck`
      break
    case 'seqLen':
      value = ctx.maxSeqLen ?? null
      why = `${title}'s position table covers ${ctx.maxSeqLen} tokens`
      break
  }
  if (value === null || value === s[key] || refused({ ...s, [key]: value })) return null
  return { value, why }
}

/** The settings with every key not `chosen` put back to its default and, where the model refuses
 *  that, to the nearest value it takes; the changes from the defaults, with why. Chosen keys are
 *  left as they are, refused or not. */
export function fitSettings(s: Settings, chosen: ReadonlySet<keyof Settings>, ctx: ValidationContext | null, title: string): { settings: Settings; changes: FitChange[] } {
  let out: Settings = { ...s }
  for (const key of FITTED) if (!chosen.has(key)) out = { ...out, [key]: DEFAULTS[key] }
  const changes: FitChange[] = []
  if (!ctx) return { settings: out, changes }
  for (const key of FITTED) {
    if (chosen.has(key)) continue
    const fit = fitValue(key, out, ctx, title)
    if (!fit) continue
    out = { ...out, [key]: fit.value }
    changes.push({ key, ...fit })
  }
  return { settings: out, changes }
}

/** The one sentence the page shows for the changes ("Frozen blocks set to 1: my_mlp has 2 blocks."). */
export function fitSentence(changes: readonly FitChange[]): string | null {
  if (!changes.length) return null
  return `${changes.map((c) => `${SPEC[c.key].label} set to ${valueText(c.key, c.value)}: ${c.why}`).join('; ')}.`
}

/** The value a chosen setting's refusal suggests (its "Use …" button), or null. */
export function suggestedFix(st: Pick<Studio, 'settings' | 'model' | 'dataset'>, key: string): { key: FittedKey; value: Settings[FittedKey]; text: string } | null {
  if (!(FITTED as readonly string[]).includes(key)) return null
  const ctx = fitContext(st.model, st.dataset, st.settings)
  if (!ctx || !st.model) return null
  const fit = fitValue(key as FittedKey, st.settings, ctx, st.model.title)
  return fit ? { key: key as FittedKey, value: fit.value, text: `Use ${label(key as FittedKey, fit.value)}` } : null
}

/** "Frozen blocks 1", or a method by its name ("Full fine-tune"). */
function label<K extends FittedKey>(key: K, value: Settings[K]): string {
  return key === 'method' ? valueText(key, value) : `${SPEC[key].label} ${valueText(key, value)}`
}

function valueText<K extends FittedKey>(key: K, value: Settings[K]): string {
  const spec = SPEC[key]
  if ('choices' in spec && spec.choices) return `"${spec.choices.find((c) => c.value === value)?.label ?? String(value)}"`
  return value === '' ? '(none)' : String(value)
}

// ── the store's settings kept fitted ─────────────────────────────────────────────────────────

export interface FitState {
  /** Settings the person or a link set; the others follow the defaults and the model. */
  chosen: ReadonlySet<keyof Settings>
  /** What was fitted, said on the page (null: every setting not chosen is at its default). */
  sentence: string | null
}

export const useSettingsFit = create<FitState>(() => ({ chosen: new Set(), sentence: null }))

let applying = false

/** Marks what the link set as chosen and keeps the settings fitted from now on. */
export function followModel(): () => void {
  const link = useStudio.getState().linkReport
  const fromLink = new Set<keyof Settings>()
  for (const a of link?.applied ?? []) if (a.key in DEFAULTS) fromLink.add(a.key as keyof Settings)
  useSettingsFit.setState({ chosen: fromLink, sentence: null })
  const refit = (st: Studio) => {
    const { chosen } = useSettingsFit.getState()
    const { settings, changes } = fitSettings(st.settings, chosen, fitContext(st.model, st.dataset, st.settings), st.model?.title ?? 'The model')
    const sentence = fitSentence(changes)
    if (sentence !== useSettingsFit.getState().sentence) useSettingsFit.setState({ sentence })
    if (FITTED.some((k) => settings[k] !== st.settings[k])) {
      applying = true
      try {
        useStudio.setState({ settings })
      } finally {
        applying = false
      }
    }
  }
  const unsubscribe = useStudio.subscribe((st, prev) => {
    if (applying) return
    if (st.settings !== prev.settings) {
      // every setting changed by anyone but this module is the person's (a control, a preset, a
      // restored run's settings, the block toggles)
      const changed = (Object.keys(st.settings) as (keyof Settings)[]).filter((k) => st.settings[k] !== prev.settings[k])
      const { chosen } = useSettingsFit.getState()
      if (changed.some((k) => !chosen.has(k))) useSettingsFit.setState({ chosen: new Set([...chosen, ...changed]) })
    }
    if (st.settings !== prev.settings || st.model !== prev.model || st.dataset !== prev.dataset) refit(useStudio.getState())
  })
  refit(useStudio.getState())
  return unsubscribe
}
