import { beforeEach, describe, expect, it } from 'vitest'
import type { ModelSummary } from '../worker/protocol'
import { initialLm } from './parts'
import { LM_LINK_SPEC } from '../settings/lmLink'
import { declineLinkModel, linkQuery, openLink, useLinkModel } from './shareLink'
import { useStudio } from './store'

const model = (id: string) => ({ id, title: id }) as unknown as ModelSummary // the fields the page reads
const query = () => linkQuery(useStudio.getState(), useLinkModel.getState().offered)

describe('the share link’s language-model part in the page (state/shareLink.ts)', () => {
  it('reads a link without the panel’s keys as the panel’s starting values (lmLink.ts defaults)', () => {
    const lm = initialLm()
    for (const s of LM_LINK_SPEC) expect(lm[s.key], s.key).toBe(s.default)
  })

  beforeEach(() => {
    useStudio.setState({ lm: initialLm(), model: model('tiny-lm') })
    useLinkModel.setState({ offered: null, refused: null, revisionNote: null })
  })

  it('opening a link sets the panel’s objective and numbers, and offers its model without loading it', () => {
    openLink('?v=2&lo=dpo&db=0.05&dw=0.25&hm=HuggingFaceTB/SmolLM2-135M')
    const lm = useStudio.getState().lm
    expect({ objective: lm.objective, beta: lm.beta, sftWeight: lm.sftWeight, pack: lm.pack }).toEqual({ objective: 'dpo', beta: 0.05, sftWeight: 0.25, pack: false })
    expect(useLinkModel.getState()).toEqual({ offered: { repo: 'HuggingFaceTB/SmolLM2-135M', revision: 'main' }, refused: null, revisionNote: null })
    expect(useStudio.getState().model?.id).toBe('tiny-lm') // nothing was loaded
    expect(useStudio.getState().hf.loads).toEqual([])
    // The link still names the model on offer.
    expect(query()).toBe('v=2&lo=dpo&db=0.05&dw=0.25&hm=HuggingFaceTB/SmolLM2-135M')
  })

  it('refuses a bad repo id in words and offers nothing', () => {
    openLink('?v=2&hm=..%2F..%2Fx&lo=pseudo&sr=2')
    expect(useLinkModel.getState()).toEqual({ offered: null, refused: '"../../x" is not of the form owner/name', revisionNote: null })
    expect(useStudio.getState().lm.objective).toBe('pseudo')
    expect(useStudio.getState().lm.rounds).toBe(2)
    expect(query()).toBe('v=2&lo=pseudo&sr=2')
  })

  it('says when a bad revision was replaced by main', () => {
    openLink('?v=2&hm=a/b&hv=a..b')
    expect(useLinkModel.getState()).toEqual({ offered: { repo: 'a/b', revision: 'main' }, refused: null, revisionNote: '"a..b" is not a branch, tag or commit name' })
  })

  it('a link with no language-model part leaves the panel as it starts', () => {
    openLink('?v=2&lr=0.002')
    expect(useStudio.getState().lm).toEqual(initialLm())
    expect(useLinkModel.getState().offered).toBeNull()
  })

  it('the link follows the panel’s changes and the loaded Hub model', () => {
    openLink('?v=2&hm=owner/offered')
    useStudio.setState((st) => ({ lm: { ...st.lm, objective: 'sft', pack: true } }))
    expect(query()).toBe('v=2&pk=1&hm=owner/offered')
    // The person loads another Hub model: the offer is answered and the link names what is loaded.
    useStudio.setState({ model: model('hf:openai-community/gpt2@v1.0') })
    expect(useLinkModel.getState().offered).toBeNull()
    expect(query()).toBe('v=2&pk=1&hm=openai-community/gpt2&hv=v1.0')
    // A model from files cannot be named by a link.
    useStudio.setState({ model: model('hf-files:config.json,model.safetensors,tokenizer.json') })
    expect(query()).toBe('v=2&pk=1')
  })

  it('declining the offer keeps the page’s model and the link stops naming the other', () => {
    openLink('?v=2&hm=owner/offered&hv=v2')
    expect(query()).toBe('v=2&hm=owner/offered&hv=v2')
    declineLinkModel()
    expect(query()).toBe('v=2')
  })
})
