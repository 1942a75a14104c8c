// Sequence-classification heads as Hugging Face's *ForSequenceClassification classes apply them,
// against the reference (scripts/hf-reference/make_fixtures.py: seqcls_logits) on fixed head
// weights; and a head trained here written with the names and config AutoModelForSequenceClassification reads.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildHfModel, type HfModel } from './hfModel'
import { parseSafetensors, writeSafetensors } from './safetensors'
import { SeqClsHead, headShapes } from './seqClsHead'

const DIR = path.join(__dirname, 'fixtures')
interface Ref { ids: number[][]; seqcls: { labels: number; logits: number[] } }
const REF = JSON.parse(readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, Ref>
const MASK = [
  [1, 1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 0, 0, 0],
]
const TYPES = [
  [0, 0, 0, 1, 1, 1, 1, 1],
  [0, 0, 0, 0, 1, 1, 0, 0],
]

function load(name: string): HfModel {
  return buildHfModel(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'), parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))).tensors)
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe.each(['gpt2', 'gpt2-prefixed', 'llama-gqa-tied', 'llama-untied', 'bert', 'distilbert'])('sequence classification head on %s', (name) => {
  it('gives the reference logits (last real token for decoders, pooler/pre-classifier on [CLS] for encoders), padding included', async () => {
    const model = load(name)
    const head = SeqClsHead.fromTensors(model.hf, parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, 'heads', `${name}.safetensors`)))).tensors)
    expect(head.labels).toBe(3)
    const logits = tf.tidy(() =>
      head.logits(model, tf.tensor2d(REF[name]!.ids, undefined, 'int32'), tf.tensor2d(MASK, undefined, 'int32'), model.hf.modelType === 'bert' ? tf.tensor2d(TYPES, undefined, 'int32') : undefined),
    )
    expect(logits.shape).toEqual([2, 3])
    const got = await logits.data()
    const want = REF[name]!.seqcls.logits
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4)
    logits.dispose()
    head.dispose()
    model.dispose()
  })
})

describe('head export', () => {
  it('writes the names, shapes and config AutoModelForSequenceClassification expects, and reads them back', async () => {
    const model = load('bert')
    const head = SeqClsHead.init(model.hf, 2, 7)
    const tensors = await head.tensors()
    expect(tensors.map((t) => [t.name, t.shape])).toEqual([
      ['bert.pooler.dense.weight', [32, 32]],
      ['bert.pooler.dense.bias', [32]],
      ['classifier.weight', [2, 32]],
      ['classifier.bias', [2]],
    ])
    const back = SeqClsHead.fromTensors(model.hf, parseSafetensors(writeSafetensors(tensors)).tensors)
    expect(back.labels).toBe(2)
    expect(await back.weights.get('classifier.weight')!.data()).toEqual(await head.weights.get('classifier.weight')!.data())
    const cfg = JSON.parse(head.configJson(readFileSync(path.join(DIR, 'bert', 'config.json'), 'utf8'), { labelNames: ['ham', 'spam'] }))
    expect(cfg).toMatchObject({ model_type: 'bert', architectures: ['BertForSequenceClassification'], id2label: { 0: 'ham', 1: 'spam' }, label2id: { ham: 0, spam: 1 }, problem_type: 'single_label_classification' })
    const gpt2 = load('gpt2')
    const reg = SeqClsHead.init(gpt2.hf, 1)
    expect(JSON.parse(reg.configJson(readFileSync(path.join(DIR, 'gpt2', 'config.json'), 'utf8'), { regression: true, padTokenId: 50256 }))).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], problem_type: 'regression', pad_token_id: 50256, id2label: { 0: 'LABEL_0' } })
    expect([...headShapes(gpt2.hf, 1)]).toEqual([['score.weight', [1, 32]]])
    ;[head, back, reg, model, gpt2].forEach((x) => x.dispose())
  })

  it('refuses a checkpoint without a head, or with a head of the wrong width, by tensor name', () => {
    const model = load('distilbert')
    expect(() => SeqClsHead.fromTensors(model.hf, new Map())).toThrow('model.safetensors: has no classification head (score.weight or classifier.weight).')
    const bad = new Map([
      ['classifier.weight', { shape: [2, 32], data: new Float32Array(64), storedAs: 'F32' as const }],
      ['classifier.bias', { shape: [2], data: new Float32Array(2), storedAs: 'F32' as const }],
      ['pre_classifier.weight', { shape: [16, 32], data: new Float32Array(512), storedAs: 'F32' as const }],
      ['pre_classifier.bias', { shape: [32], data: new Float32Array(32), storedAs: 'F32' as const }],
    ])
    expect(() => SeqClsHead.fromTensors(model.hf, bad)).toThrow('model.safetensors: tensor "pre_classifier.weight" has shape [16, 32] but the head needs [32, 32].')
    model.dispose()
  })
})
