/** The language-model half of the share link (settings/lmLink.ts): opening a link sets the
 *  objectives panel's choices and names the Hugging Face model it was made with, offered with
 *  one action to load it (never loaded by itself: a Hub model is often hundreds of MB); and
 *  the address bar keeps those choices and the model along with step 3's settings.
 *
 *  The one writer of the address bar: step 3's settings, the panel's choices and the model
 *  together, once per task in which any of them changed (main.tsx imports this module). */
import { create } from 'zustand'
import { decodeSettings, encodeLink } from '../settings/codec'
import { hubModelOfId, LM_LINK_SPEC, MODEL_SHORT, type LinkModel, type LmLink } from '../settings/lmLink'
import type { LmState } from './parts'
import { loadHf } from './hfModels'
import { useStudio, type Studio } from './store'

export interface LinkModelState {
  /** The link's model while it is neither loaded nor declined; the link keeps naming it. */
  offered: LinkModel | null
  /** Why the link's model was refused (a repo id of the wrong form), said beside the offer. */
  refused: string | null
  /** The link's revision was refused, so main is offered instead: why. */
  revisionNote: string | null
}

export const useLinkModel = create<LinkModelState>(() => ({ offered: null, refused: null, revisionNote: null }))

/** The panel's choices that the link carries. */
export const lmLinkOf = (lm: LmState): LmLink => Object.fromEntries(LM_LINK_SPEC.map((s) => [s.key, lm[s.key]])) as unknown as LmLink

/** The model the link names: the loaded Hub model, else the link's model still on offer. */
export const linkedModel = (st: Studio, offered: LinkModel | null): LinkModel | null => hubModelOfId(st.model?.id) ?? offered

/** The link for what the page holds now (without the leading ?). */
export const linkQuery = (st: Studio, offered: LinkModel | null): string => encodeLink(st.settings, lmLinkOf(st.lm), linkedModel(st, offered))

/** Applies an opened link's language-model part: the panel's choices, and the model offered.
 *  Step 3's settings and the link's report are the store's (store.ts initialSettings). */
export function openLink(query: string): void {
  if (typeof query !== 'string' || query.length <= 1) return
  const { lm, model, report } = decodeSettings(query)
  const reason = (param: string) => report.ignored.find((i) => i.param === param)?.reason.replace(/^[^:]{1,40}: /, '').replace(/; [^;]*$/, '') ?? null
  useStudio.setState((st) => ({ lm: { ...st.lm, ...lm } }))
  useLinkModel.setState({
    offered: model,
    refused: model ? null : reason(MODEL_SHORT.repo),
    revisionNote: model ? reason(MODEL_SHORT.revision) : null,
  })
}

/** The one action the offer gives: the model step's own Hub load (hfModels.ts), from huggingface.co. */
export function loadLinkModel(): void {
  const { offered } = useLinkModel.getState()
  if (offered) loadHf({ repo: offered.repo, revision: offered.revision })
}

/** Keep the page's model: the offer goes, and the link stops naming the model. */
export function declineLinkModel(): void {
  useLinkModel.setState({ offered: null, revisionNote: null })
}

export function dismissRefusedModel(): void {
  useLinkModel.setState({ refused: null })
}

function writeLink(): void {
  if (typeof history === 'undefined' || typeof location === 'undefined') return
  const next = `${location.pathname}?${linkQuery(useStudio.getState(), useLinkModel.getState().offered)}${location.hash}`
  if (`${location.pathname}${location.search}${location.hash}` !== next) history.replaceState(history.state, '', next)
}

let scheduled = false
/** Once, after the current task's synchronous work: several changes in one task, one write. */
function scheduleWrite(): void {
  if (scheduled) return
  scheduled = true
  queueMicrotask(() => {
    scheduled = false
    writeLink()
  })
}

const sameModel = (a: LinkModel | null, b: LinkModel | null) => a?.repo === b?.repo && a?.revision === b?.revision
const lmChanged = (a: LmState, b: LmState) => a !== b && LM_LINK_SPEC.some((s) => a[s.key] !== b[s.key])

useStudio.subscribe((st, prev) => {
  // A Hub model loaded (the link's or another one the person chose): the offer has been
  // answered, and the link names the model loaded.
  if (st.model?.id !== prev.model?.id && hubModelOfId(st.model?.id) && useLinkModel.getState().offered) declineLinkModel()
  const offered = useLinkModel.getState().offered
  if (st.settings !== prev.settings || lmChanged(st.lm, prev.lm) || !sameModel(linkedModel(st, offered), linkedModel(prev, offered))) scheduleWrite()
})
useLinkModel.subscribe((st, prev) => {
  if (!sameModel(st.offered, prev.offered)) scheduleWrite()
})

if (typeof location !== 'undefined') openLink(location.search)
