// The `pooling` setting (issue 16.2: BERT-family encoders classify from [CLS] or the mean over
// tokens) through the worker's Hugging Face host and the session, on the tiny DistilBERT fixture
// (src/engine/hf/fixtures). With the mean chosen, a head-only run leaves the encoder as loaded,
// so its class logits must be masked-mean(hidden) @ kernel + bias with the masked mean from the
// PyTorch reference (fixtures/reference.json, scripts/hf-reference/make_fixtures.py), the kernel
// and bias read from the trained head, and the product computed here by hand; [CLS] would give
// other numbers. 'auto' means what the checkpoint's sentence-transformers files say.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { unzipSync, zipSync } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseDatasetText } from '../engine/data/dataset'
import { planSplit } from '../engine/data/datasetPreview'
import { loadHfBundle, mapSource } from '../engine/hf/hfLoad'
import { parseSafetensors } from '../engine/hf/safetensors'
import { sentencePooling } from '../engine/hf/sentencePooling'
import { tinyGpt2Files } from '../engine/hf/testGpt2'
import { hfFamily, type HeldHf } from '../engine/session/families/hf'
import type { SessionData } from '../engine/session/family'
import { Session } from '../engine/session/session'
import type { PlaygroundAnswer } from '../engine/types/playground'
import { FeatureCache } from '../engine/train/featureCache'
import { headLogits } from '../engine/train/forward'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { HfModelHost } from './hfModelHost'

const FIX = path.join(__dirname, '../engine/hf/fixtures')
const REF = (JSON.parse(readFileSync(path.join(FIX, 'reference.json'), 'utf8')) as Record<string, { ids: number[][]; mask: number[][]; cls: number[]; mean: number[] }>).distilbert!
const D = 32

/** A word-level tokenizer.json: [UNK] is id 0, "w<i>" is id i + 1; it adds no special tokens,
 *  so a text of words is exactly their ids. */
function tokenizerJson(n: number): string {
  const vocab = Object.fromEntries(['[UNK]', ...Array.from({ length: n - 1 }, (_, i) => `w${i}`)].map((t, i) => [t, i]))
  return JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab } })
}
const textOf = (ids: number[]) => ids.map((i) => `w${i - 1}`).join(' ')

function distilbertFiles(extra: [string, string][] = []): File[] {
  return [
    new File([readFileSync(path.join(FIX, 'distilbert', 'config.json'))], 'config.json'),
    new File([readFileSync(path.join(FIX, 'distilbert', 'model.safetensors'))], 'model.safetensors'),
    new File([tokenizerJson(64)], 'tokenizer.json'),
    ...extra.map(([name, body]) => new File([body], name)),
  ]
}

/** 40 texts of 3-6 words; the label is whether w10 (id 11) is in the text. */
async function sessionData(): Promise<SessionData> {
  let s = 5
  const rnd = (k: number) => (s = (s * 1103515245 + 12345) % 2147483648) % k
  const rows = ['text,label']
  for (let i = 0; i < 40; i++) {
    const ids = Array.from({ length: 3 + rnd(4) }, () => 12 + rnd(50))
    if (i % 2) ids.splice(rnd(ids.length), 0, 11)
    rows.push(`${textOf(ids)},${i % 2 ? 'yes' : 'no'}`)
  }
  const parsed = await parseDatasetText('words.csv', rows.join('\n') + '\n')
  if (!parsed.ok) throw new Error(parsed.error.message)
  const dataset = parsed.dataset
  const split = (st: { valSplit: number; seed: number }) => {
    const p = planSplit(dataset, null, { validationFraction: st.valSplit, seed: st.seed })
    if (!p.ok) throw new Error(p.error.message)
    return p
  }
  return { dataset, facts: { id: 'words', name: 'words.csv', task: 'text-classification', rows: 40, source: 'test', classes: [{ name: 'no', count: 20 }, { name: 'yes', count: 20 }] }, images: null, decoder: null, split }
}

async function loaded(files: File[]): Promise<{ session: Session; held: HeldHf }> {
  const session = new Session(await sessionData())
  const h = new HfModelHost(() => {}, {
    fetchFn: async () => new Response(null, { status: 404 }),
    cache: null,
    hold: (held) => session.hold(held),
    loaded: () => (session.loaded?.family === hfFamily ? (session.loaded as HeldHf) : null),
    adopt: (held, tuning) => session.adopt(held, tuning),
    ensureBackend: async () => {},
  })
  await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files } })
  return { session, held: session.loaded as HeldHf }
}

/** Trains through the session; returns the settings the run recorded. */
async function train(session: Session, over: Partial<Settings>): Promise<Settings> {
  let recorded: Settings | null = null
  const out = await session.train('r', { ...DEFAULTS, method: 'head', epochs: 2, batchSize: 8, seqLen: 16, valSplit: 0.25, learningRate: 0.01, warmupSteps: 0, ...over }, {
    events: {},
    started: () => {},
    record: async (s, _c, cb) => {
      recorded = s
      return { callbacks: () => cb, finish: async () => {}, fail: async () => {} }
    },
  })
  if (!('result' in out)) throw new Error(`refused: ${JSON.stringify(out.refused)}`)
  return recorded!
}

/** rows [2, D] @ kernel [D, C] + bias [C], in float64, by hand. */
function affine(rows: number[], kernel: Float32Array, bias: Float32Array, c: number): number[] {
  const out: number[] = []
  for (let r = 0; r < rows.length / D; r++) for (let j = 0; j < c; j++) {
    let z = bias[j]!
    for (let k = 0; k < D; k++) z += rows[r * D + k]! * kernel[k * c + j]!
    out.push(z)
  }
  return out
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('the pooling setting on a DistilBERT encoder', () => {
  it('mean: the class logits are the reference masked mean @ kernel + bias (padding included), in the loop, the playground and the export', async () => {
    const { session, held } = await loaded(distilbertFiles())
    const recorded = await train(session, { pooling: 'mean' })
    expect(recorded.pooling).toBe('mean')
    const tuning = held.tuning!
    expect(tuning.pooling).toBe('mean')
    // the studio's own dense head: no pre_classifier (which a [CLS] head of DistilBERT's class has)
    expect(tuning.head!.params.map((p) => p.name)).toEqual(['head.task.kernel', 'head.task.bias'])
    const kernel = (await tuning.head!.params[0]!.variable.data()) as Float32Array
    const bias = (await tuning.head!.params[1]!.variable.data()) as Float32Array
    const want = affine(REF.mean, kernel, bias, 2)
    // what [CLS] pooling would give with the same head: far from it, so the check can fail
    expect(maxDiff(affine(REF.cls, kernel, bias, 2), want)).toBeGreaterThan(0.05)

    // the loop's own path (forward.ts: the tuning's pooling), two rows, the second padded
    const logits = tf.tidy(() => headLogits(held.body, tuning, { input: tf.tensor2d(REF.ids, undefined, 'int32'), mask: tf.tensor2d(REF.mask) }, new FeatureCache(0, false, { train: 0, val: 0 }), tuning.settings, false))
    expect(maxDiff(Array.from(await logits.data()), want)).toBeLessThan(1e-4)
    logits.dispose()

    // the playground: each text typed alone; log(p_yes / p_no) is the logits' difference
    for (let r = 0; r < 2; r++) {
      const ids = REF.ids[r]!.filter((_, j) => REF.mask[r]![j])
      const got: PlaygroundAnswer[] = []
      await session.predict(`p${r}`, { kind: 'text', text: textOf(ids) }, (a) => void got.push(a))
      const after = got.find((a): a is Extract<PlaygroundAnswer, { type: 'prediction' }> => a.type === 'prediction' && a.which === 'after')!
      expect(after.classes.map((c) => c.name)).toEqual(['no', 'yes'])
      expect(Math.abs(Math.log(after.classes[1]!.prob / after.classes[0]!.prob) - (want[2 * r + 1]! - want[2 * r]!))).toBeLessThan(1e-4)
    }

    // the export: the encoder and the studio's head, not a *ForSequenceClassification checkpoint
    const out = await session.export('merged', 1, { base: null, tuned: null }, () => {})
    expect(out.fileName).toBe('chosen-files-merged.zip')
    const files = unzipSync(out.bytes)
    expect(Object.keys(files).sort()).toEqual(['README.md', 'config.json', 'model.safetensors', 'studio_head.safetensors', 'tokenizer.json'])
    expect(JSON.parse(new TextDecoder().decode(files['config.json']!))).toMatchObject({ architectures: ['DistilBertModel'] })
    const head = parseSafetensors(files['studio_head.safetensors']!).tensors
    expect(Array.from(head.get('head.task.kernel')!.data)).toEqual(Array.from(kernel))
    session.drop()
  })

  it('auto on a plain encoder is [CLS] with DistilBERT’s own head; on a sentence encoder (its sentence-transformers files) the mean; a decoder records none', async () => {
    const plain = await loaded(distilbertFiles())
    expect(plain.held.summary.description).toMatch(/reading the \[CLS\] token \(no sentence-transformers files say otherwise/)
    const a = await train(plain.session, {})
    expect(a.pooling).toBe('cls')
    expect(plain.held.tuning!.head!.params.map((p) => p.name)).toEqual(['head.task.pre.kernel', 'head.task.pre.bias', 'head.task.kernel', 'head.task.bias'])
    const out = await plain.session.export('merged', 1, { base: null, tuned: null }, () => {})
    expect(out.fileName).toBe('chosen-files-seq-cls.zip')
    plain.session.drop()

    const modules = JSON.stringify([{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' }, { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' }])
    const st = await loaded(distilbertFiles([['modules.json', modules]]))
    expect(st.held.summary.description).toMatch(/reading the mean of its token states, as a sentence encoder \(modules\.json lists a Pooling module/)
    expect((await train(st.session, {})).pooling).toBe('mean')
    // a choice made by hand wins over the checkpoint's
    expect((await train(st.session, { pooling: 'cls' })).pooling).toBe('cls')
    st.session.drop()

    // a decoder reads its last token whatever is chosen: its run records no pooling
    const gpt2 = await loaded(tinyGpt2Files())
    expect((await train(gpt2.session, { pooling: 'mean', epochs: 1 })).pooling).toBe('auto')
    expect(gpt2.held.tuning!.head!.params.map((p) => p.name)).toEqual(['head.task.kernel']) // GPT2ForSequenceClassification's score: no bias
    gpt2.session.drop()
  })

  it('a sentence-transformers folder zipped whole: the model’s config.json stays the model’s, and 1_Pooling/config.json is read (here [CLS], as BGE models pool)', async () => {
    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o))
    const dir = 'bge-like/'
    // the Pooling module's config.json after the model's: flattening every name let it replace the model's
    const zip = zipSync({
      [`${dir}config.json`]: new Uint8Array(readFileSync(path.join(FIX, 'distilbert', 'config.json'))),
      [`${dir}model.safetensors`]: new Uint8Array(readFileSync(path.join(FIX, 'distilbert', 'model.safetensors'))),
      [`${dir}tokenizer.json`]: new TextEncoder().encode(tokenizerJson(64)),
      [`${dir}modules.json`]: enc([{ idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' }, { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' }]),
      [`${dir}1_Pooling/config.json`]: enc({ word_embedding_dimension: 32, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }),
    })
    const { session, held } = await loaded([new File([zip], 'bge-like.zip')])
    expect(held.body.model.hf.modelType).toBe('distilbert')
    expect(held.summary.description).toMatch(/reading the \[CLS\] token, as a sentence encoder \(1_Pooling\/config\.json sets pooling_mode_cls_token\)/)
    expect((await train(session, { epochs: 1 })).pooling).toBe('cls')
    session.drop()
  })

  it('reads the Pooling module’s own config: mean, [CLS] (as BGE models pool), or the default mean without it', async () => {
    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o))
    const modules = enc([{ idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' }])
    const of = async (files: Record<string, Uint8Array>) => sentencePooling(mapSource(new Map(Object.entries(files))))
    expect(await of({ 'modules.json': modules, '1_Pooling/config.json': enc({ word_embedding_dimension: 384, pooling_mode_cls_token: false, pooling_mode_mean_tokens: true }) })).toEqual({ pooling: 'mean', why: '1_Pooling/config.json sets pooling_mode_mean_tokens' })
    expect(await of({ 'modules.json': modules, '1_Pooling/config.json': enc({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }) })).toEqual({ pooling: 'cls', why: '1_Pooling/config.json sets pooling_mode_cls_token' })
    expect((await of({ 'modules.json': modules }))?.pooling).toBe('mean')
    expect((await of({ 'sentence_bert_config.json': enc({ max_seq_length: 256 }) }))?.pooling).toBe('mean')
    expect(await of({ 'config.json': enc({ model_type: 'bert' }) })).toBeNull()
    // the bundle carries it, for the encoder families only
    const cfg = readFileSync(path.join(FIX, 'distilbert', 'config.json'))
    const bundle = await loadHfBundle(mapSource(new Map([['config.json', new Uint8Array(cfg)], ['model.safetensors', new Uint8Array(readFileSync(path.join(FIX, 'distilbert', 'model.safetensors')))], ['tokenizer.json', new TextEncoder().encode(tokenizerJson(64))], ['modules.json', modules], ['1_Pooling/config.json', enc({ pooling_mode_cls_token: true })]])))
    expect(bundle.sentencePooling).toEqual({ pooling: 'cls', why: '1_Pooling/config.json sets pooling_mode_cls_token' })
    bundle.model.dispose()
  })
})
