import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import type { DatasetSummary, ModelLimits, ModelSummary } from '../worker/protocol'
import { checkedProblems, sameProblems } from './settingsCheck'

// The emoji CNN's limits as the worker sends them (src/worker/modelLimits.test.ts checks that
// the real model gives exactly these).
const CNN_LIMITS: ModelLimits = { nLayers: 7, width: 256, methods: ['head', 'freeze', 'lora', 'full', 'custom'], lora: [{ target: 'pointwise', layer: 'b0.pw', maxRank: 32 }], loraTargetsChosen: false }
const cnn: ModelSummary = { id: 'emoji-cnn', title: 'Emoji CNN', description: '', pretrained: true, layers: [], totalParams: 172096, trainableParams: 0, nLayers: 7, dModel: 256, seqLen: 0, vocabSize: 0, input: { kind: 'image', shape: '[B, 32, 32, 3]', description: '' }, limits: CNN_LIMITS }
const dataset = (task: DatasetSummary['task'], rows: number): DatasetSummary => ({ id: 'd', name: 'd', task, rows, rejected: 0, rejectedReasons: [], warnings: [], classes: [], preview: [], columns: [], bytes: 0, source: 'test' })
const images = dataset('image-classification', 200)
const lora48 = { ...DEFAULTS, method: 'lora' as const, loraRank: 48, loraAlpha: 96 }

describe('settings checked on the page', () => {
  it('LoRA rank 48 on the emoji CNN: refused on LoRA rank with 32, before the worker answers', () => {
    const problems = checkedProblems({ settings: lora48, model: cnn, dataset: images, planProblems: [] })
    expect(problems.map((p) => p.field)).toEqual(['loraRank'])
    expect(problems[0]!.message).toContain('set LoRA rank to 32 or less')
    expect(checkedProblems({ settings: { ...lora48, loraRank: 32, loraAlpha: 64 }, model: cnn, dataset: images, planProblems: [] })).toEqual([])
  })

  it('one message per control, the page’s first; the worker’s own ones are kept', () => {
    const worker = [
      { field: 'loraRank', message: 'worker says: too large' },
      { field: 'dataset', message: 'worker says: these images are too small' },
      { field: 'dataset', message: 'a second one for the same control' },
    ]
    const problems = checkedProblems({ settings: lora48, model: cnn, dataset: images, planProblems: worker })
    expect(problems.map((p) => [p.field, p.message.slice(0, 13)])).toEqual([
      ['loraRank', 'LoRA rank 48 '],
      ['dataset', 'worker says: '],
    ])
  })

  it('leaves to the worker what only it knows: no limits, tabular data, a model that reads something else', () => {
    const worker = [{ field: 'method', message: 'from the plan' }]
    const { limits: _, ...noLimits } = cnn
    expect(checkedProblems({ settings: lora48, model: noLimits, dataset: images, planProblems: worker })).toEqual(worker)
    expect(checkedProblems({ settings: lora48, model: cnn, dataset: dataset('tabular-regression', 500), planProblems: [] })).toEqual([])
    expect(checkedProblems({ settings: lora48, model: cnn, dataset: dataset('text-classification', 500), planProblems: [] })).toEqual([])
    expect(checkedProblems({ settings: lora48, model: cnn, dataset: null, planProblems: [] })).toEqual([])
  })

  it('uses the split the worker uses: 10 images at a 0.2 split leave 8 to train on', () => {
    const problems = checkedProblems({ settings: { ...DEFAULTS, method: 'head', batchSize: 9 }, model: cnn, dataset: dataset('image-classification', 10), planProblems: [] })
    expect(problems).toEqual([{ field: 'batchSize', message: 'Batch size 9 is larger than the 8 training examples; set it to 8 or less, or add data.' }])
    expect(sameProblems(problems, [{ ...problems[0]! }])).toBe(true)
    expect(sameProblems(problems, [])).toBe(false)
  })

  it('checks a loaded model that reads rows against its own limits on a table (its method choice matters: the studio’s own tabular MLP sends no limits)', () => {
    // a person's Keras MLP with two hidden dense layers (engine/session/families/layersRows.ts)
    const limits: ModelLimits = { nLayers: 2, width: 16, methods: ['head', 'freeze', 'full', 'custom'], lora: [], loraTargetsChosen: false }
    const mlp: ModelSummary = { ...cnn, id: 'files:my_mlp', title: 'my_mlp', nLayers: 2, dModel: 16, input: { kind: 'tabular', shape: '[B, 3]', description: '' }, limits }
    const table = dataset('tabular-classification', 120)
    const problems = checkedProblems({ settings: { ...DEFAULTS, method: 'freeze', freezeFirst: 3 }, model: mlp, dataset: table, planProblems: [] })
    expect(problems.map((p) => p.field)).toEqual(['freezeFirst'])
    expect(problems[0]!.message).toContain('The model has only 2 blocks')
    expect(checkedProblems({ settings: { ...DEFAULTS, method: 'freeze', freezeFirst: 1 }, model: mlp, dataset: table, planProblems: [] })).toEqual([])
  })
})
