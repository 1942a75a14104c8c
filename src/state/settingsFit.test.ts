import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import type { DatasetSummary, ModelLimits, ModelSummary } from '../worker/protocol'
import { checkedProblems } from './settingsCheck'
import { fitContext, fitSentence, fitSettings, followModel, suggestedFix, useSettingsFit } from './settingsFit'
import { useStudio } from './store'

// A person's Keras MLP with two hidden dense layers, as the worker describes it (layersRows.ts).
const MLP_LIMITS: ModelLimits = { nLayers: 2, width: 16, methods: ['head', 'freeze', 'full', 'custom'], lora: [], loraTargetsChosen: false }
const base = { description: '', pretrained: true, layers: [], totalParams: 400, trainableParams: 0, seqLen: 0, vocabSize: 0 }
const mlp: ModelSummary = { ...base, id: 'files:my_mlp', title: 'my_mlp', nLayers: 2, dModel: 16, input: { kind: 'tabular', shape: '[B, 3]', description: '' }, limits: MLP_LIMITS }
// An image model that allows only the head and full fine-tuning, 1 block, layers 8 wide.
const tiny: ModelSummary = { ...base, id: 'files:tiny', title: 'tiny_cnn', nLayers: 1, dModel: 8, input: { kind: 'image', shape: '[B, 8, 8, 3]', description: '' }, limits: { nLayers: 1, width: 8, methods: ['head', 'full'], why: { freeze: 'This model has no blocks to freeze' }, lora: [], loraTargetsChosen: false } }
const cnn: ModelSummary = { ...base, id: 'emoji-cnn', title: 'Emoji CNN', nLayers: 7, dModel: 256, input: { kind: 'image', shape: '[B, 32, 32, 3]', description: '' }, limits: { nLayers: 7, width: 256, methods: ['head', 'freeze', 'lora', 'full', 'custom'], lora: [{ target: 'pointwise', layer: 'b0.pw', maxRank: 4 }], loraTargetsChosen: false } }
const dataset = (task: DatasetSummary['task'], rows: number): DatasetSummary => ({ id: 'd', name: 'd', task, rows, rejected: 0, rejectedReasons: [], warnings: [], classes: [], preview: [], columns: [], bytes: 0, source: 'test' })
const table = dataset('tabular-classification', 120)
const images = dataset('image-classification', 100)
const none = new Set<never>()

describe('the defaults fitted to the loaded model', () => {
  it('an MLP with 2 blocks: Frozen blocks 3 (the default) becomes 2, and the page says so', () => {
    const { settings, changes } = fitSettings(DEFAULTS, none, fitContext(mlp, table, DEFAULTS), 'my_mlp')
    expect(settings).toEqual({ ...DEFAULTS, freezeFirst: 2 })
    expect(fitSentence(changes)).toBe('Frozen blocks set to 2: my_mlp has 2 blocks.')
    expect(checkedProblems({ settings, model: mlp, dataset: table, planProblems: [] })).toEqual([])
  })

  it('a model without the default method gets the nearest one it allows, and its reason', () => {
    const { settings, changes } = fitSettings(DEFAULTS, none, fitContext(tiny, images, DEFAULTS), 'tiny_cnn')
    expect(settings).toEqual({ ...DEFAULTS, method: 'full' })
    expect(fitSentence(changes)).toBe('Method set to "Full fine-tune": tiny_cnn has no blocks to freeze.')
  })

  it('never changes a setting the person or a link chose: Frozen blocks 3 stays refused, with its fix offered', () => {
    const chosen = { ...DEFAULTS, freezeFirst: 3 }
    const { settings, changes } = fitSettings(chosen, new Set(['freezeFirst'] as const), fitContext(mlp, table, chosen), 'my_mlp')
    expect(settings).toEqual(chosen)
    expect(changes).toEqual([])
    expect(suggestedFix({ settings: chosen, model: mlp, dataset: table }, 'freezeFirst')).toEqual({ key: 'freezeFirst', value: 2, text: 'Use Frozen blocks 2' })
    // a chosen method keeps its own unchosen settings fitted: LoRA on a layer 4 wide gets rank 4
    const lora = { ...DEFAULTS, method: 'lora' as const }
    const fitted = fitSettings(lora, new Set(['method'] as const), fitContext(cnn, images, lora), 'Emoji CNN')
    expect(fitted.settings).toEqual({ ...lora, loraRank: 4 })
    expect(fitSentence(fitted.changes)).toBe('LoRA rank set to 4: layer b0.pw of Emoji CNN is 4 wide on its narrower side.')
  })

  it('a model that takes the defaults puts fitted settings back to them; nothing is fitted while the page cannot check', () => {
    const fitted = { ...DEFAULTS, freezeFirst: 2 }
    expect(fitSettings(fitted, none, fitContext(cnn, images, fitted), 'Emoji CNN')).toEqual({ settings: DEFAULTS, changes: [] })
    // the MLP on a text dataset (the worker explains that) and no dataset yet: defaults, unchanged
    expect(fitSettings(DEFAULTS, none, fitContext(mlp, dataset('text-classification', 50), DEFAULTS), 'my_mlp').changes).toEqual([])
    expect(fitContext(mlp, null, DEFAULTS)).toBeNull()
  })

  it('the custom method’s default frozen units lose the blocks the model does not have', () => {
    const custom = { ...DEFAULTS, method: 'custom' as const }
    const { settings, changes } = fitSettings(custom, new Set(['method'] as const), fitContext(mlp, table, custom), 'my_mlp')
    expect(settings.frozenBlocks).toBe('emb,0-1')
    expect(fitSentence(changes)).toBe('Frozen units set to emb,0-1: my_mlp has blocks 0–1 only.')
  })
})

describe('the store kept fitted as models load', () => {
  let stop: (() => void) | null = null
  afterEach(() => {
    stop?.()
    useStudio.setState({ settings: { ...DEFAULTS }, model: null, dataset: null, linkReport: null })
  })

  it('a setting the opened link set is the person’s: refused on the MLP, not changed', () => {
    useStudio.setState({ settings: { ...DEFAULTS, method: 'freeze', freezeFirst: 3 }, model: null, dataset: null, linkReport: { version: 2, applied: [{ key: 'freezeFirst', value: 3 }], ignored: [] } })
    stop = followModel()
    useStudio.setState({ dataset: table, model: mlp })
    expect(useStudio.getState().settings).toEqual({ ...DEFAULTS, freezeFirst: 3 })
    expect(useSettingsFit.getState().sentence).toBeNull()
  })

  it('fits the defaults when the MLP and its table load, follows another model, and leaves what the person set', () => {
    useStudio.setState({ settings: { ...DEFAULTS }, model: null, dataset: null })
    stop = followModel()
    useStudio.setState({ dataset: table })
    useStudio.setState({ model: mlp })
    expect(useStudio.getState().settings.freezeFirst).toBe(2)
    expect(useSettingsFit.getState().sentence).toBe('Frozen blocks set to 2: my_mlp has 2 blocks.')
    // a model with more blocks takes the default again
    useStudio.setState({ model: { ...cnn, input: { kind: 'tabular', shape: '[B, 3]', description: '' } } })
    expect(useStudio.getState().settings.freezeFirst).toBe(3)
    expect(useSettingsFit.getState().sentence).toBeNull()
    // back on the MLP, the person sets 3 themselves: refused, not changed, also when it loads again
    useStudio.setState({ model: mlp })
    expect(useStudio.getState().settings.freezeFirst).toBe(2)
    useStudio.getState().setSetting('freezeFirst', 3)
    expect(useStudio.getState().settings.freezeFirst).toBe(3)
    useStudio.setState({ model: { ...mlp } })
    expect(useStudio.getState().settings.freezeFirst).toBe(3)
    expect(useSettingsFit.getState().sentence).toBeNull()
    expect(checkedProblems({ ...useStudio.getState(), planProblems: [] })[0]?.message).toContain('The model has only 2 blocks')
  })
})
