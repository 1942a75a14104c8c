// Issue 16 point 6: a *ForSequenceClassification checkpoint (the studio's "Merged model" export
// of a run with a head, or a sequence classifier from the Hub) loads back WHOLE: the held model's
// tuning is its own head, so the playground, evaluation and export give that checkpoint's own
// predictions before any training.
// Expected values come from outside the code under test: the committed reference
// (fixtures/reference.json's `seqcls`, computed by scripts/hf-reference/make_fixtures.py from
// the transformers classes' definitions, for the heads in fixtures/heads/), scripts/hf-reference/
// seqcls.py run live when /usr/bin/python3 has torch, and the studio's own logits before export.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { unzipSync } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import { parseDatasetText } from '../data/dataset'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import type { DataFacts, SessionData } from '../session/family'
import { hfFamily, holdHf, type HeldHf } from '../session/families/hf'
import { dropSeqClsHead, isLoadedHead, measureLoadedHead, nameSeqClsClasses, recentre, seqClsProblem, startFromLoadedHead } from '../session/families/hfSeqCls'
import { Session } from '../session/session'
import { FeatureCache } from '../train/featureCache'
import { evaluate, Tuning } from '../train/fineTune'
import { headLogits, range } from '../train/forward'
import type { Encoded } from '../train/encoded'
import type { PlaygroundAnswer } from '../types/playground'
import { loadHfBundle, mapSource } from './hfLoad'
import { parseSafetensors, writeSafetensors, type TensorToWrite } from './safetensors'
import { matchClasses, readSeqClsHead } from './seqClsLoadBack'

const DIR = path.join(__dirname, 'fixtures')
const ROOT = path.resolve(__dirname, '../../..')
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const HAS_TORCH = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
// CI installs python3-torch (.ci/run): there a missing torch is a failure, not a skipped check.
if (process.env.CI && !HAS_TORCH) throw new Error(`CI needs the PyTorch reference: ${PYTHON} cannot import torch (.ci/run installs python3-torch)`)

type Ref = { seqcls: { labels: number; logits: number[] } }
const REF = JSON.parse(readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, Ref>
// make_fixtures.py's inputs for the seqcls reference (IDS, MASK, TYPES)
const IDS = [
  [5, 17, 3, 42, 8, 1, 29, 11],
  [60, 2, 2, 33, 14, 7, 50, 9],
]
const MASK = [
  [1, 1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 0, 0, 0],
]
const TYPES = [
  [0, 0, 0, 1, 1, 1, 1, 1],
  [0, 0, 0, 0, 1, 1, 0, 0],
]
/** The tiny tokenizer's text for a row's real tokens (id 0 is [UNK], id i is `w{i-1}`). */
const textOf = (row: number) => IDS[row]!.filter((_, i) => MASK[row]![i]).map((id) => `w${id - 1}`).join(' ')

const ARCH: Record<string, string> = { bert: 'BertForSequenceClassification', distilbert: 'DistilBertForSequenceClassification', gpt2: 'GPT2ForSequenceClassification', 'llama-gqa-tied': 'LlamaForSequenceClassification', 'llama-untied': 'LlamaForSequenceClassification' }
const BODY: Record<string, string> = { bert: 'bert.', distilbert: 'distilbert.', gpt2: 'transformer.', 'llama-gqa-tied': 'model.', 'llama-untied': 'model.' }
const NAMES = ['spam', 'eggs', 'ham'] // id2label, deliberately not in alphabetical order

/** A word-level tokenizer.json of `n` tokens: id 0 is [UNK] (also the pad id: no pad or eos token). */
function tinyTokenizer(n: number): string {
  const vocab = Object.fromEntries(['[UNK]', ...Array.from({ length: n - 1 }, (_, i) => `w${i}`)].map((t, i) => [t, i]))
  return JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab } })
}

const enc = (s: string) => new TextEncoder().encode(s)

/**
 * A *ForSequenceClassification checkpoint folder as transformers saves one: the body fixture
 * under the class's attribute, the committed head (fixtures/heads/) under the class's names, and
 * config.json naming the class with id2label (and problem_type / offset when given). `rows`
 * keeps only those output rows of the head (a one-output regression head from row 0).
 */
function checkpoint(name: string, opts: { rows?: number[]; config?: Record<string, unknown> } = {}): Map<string, Uint8Array> {
  const configText = readFileSync(path.join(DIR, name, 'config.json'), 'utf8')
  const base = JSON.parse(configText) as Record<string, unknown>
  const body = parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))).tensors
  const head = parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, 'heads', `${name}.safetensors`)))).tensors
  const prefix = BODY[name]!
  // the head's BERT pooler replaces the body fixture's own
  // the class has no LM head: an untied Llama's lm_head.weight is not in its checkpoint
  const tensors: TensorToWrite[] = [...body].filter(([k]) => !head.has(k) && k !== 'lm_head.weight').map(([k, t]) => ({ name: k.startsWith(prefix) ? k : `${prefix}${k}`, shape: t.shape, data: t.data }))
  for (const [k, t] of head) {
    const out = /^(score|classifier)\./.test(k)
    if (out && opts.rows) {
      const cols = t.shape.length === 2 ? t.shape[1]! : 1
      const data = Float32Array.from(opts.rows.flatMap((r) => Array.from(t.data.subarray(r * cols, (r + 1) * cols))))
      tensors.push({ name: k, shape: t.shape.length === 2 ? [opts.rows.length, cols] : [opts.rows.length], data })
    } else tensors.push({ name: k, shape: t.shape, data: t.data })
  }
  const labels = opts.rows ? opts.rows.map((r) => NAMES[r]!) : NAMES
  const decoder = name === 'gpt2' || name.startsWith('llama')
  const config = { ...base, architectures: [ARCH[name]], id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])), label2id: Object.fromEntries(labels.map((l, i) => [l, i])), ...(decoder ? { pad_token_id: 0 } : {}), ...opts.config }
  return new Map([
    ['config.json', enc(JSON.stringify(config, null, 2))],
    ['model.safetensors', writeSafetensors(tensors, { format: 'pt' })],
    ['tokenizer.json', enc(tinyTokenizer(base.vocab_size as number))],
  ])
}

async function load(files: Map<string, Uint8Array> | Record<string, Uint8Array>, title = 'checkpoint'): Promise<HeldHf> {
  const m = files instanceof Map ? files : new Map(Object.entries(files))
  const bundle = await loadHfBundle(mapSource(m))
  return holdHf(bundle, new Map([['tokenizer.json', m.get('tokenizer.json')!]]), [...m.keys()], title, `hf-files:${title}`, 'in a test')
}

/** The held model's logits through its held tuning's head, with the reference's token types. */
async function heldLogits(h: HeldHf, types: boolean): Promise<number[]> {
  const out = tf.tidy(() => {
    const mask = tf.tensor2d(MASK)
    const hidden = h.body.model.forward(tf.tensor2d(IDS, undefined, 'int32'), { attentionMask: mask, ...(types ? { tokenTypeIds: tf.tensor2d(TYPES, undefined, 'int32') } : {}) })
    return h.tuning!.head!.apply(h.body.pool(hidden, mask), false)
  })
  const v = Array.from(await out.data())
  out.dispose()
  return v
}

/** The playground's answers for a text: the before/after class probabilities or values. */
async function playground(h: HeldHf, text: string): Promise<Extract<PlaygroundAnswer, { type: 'prediction' }>[]> {
  const answers: PlaygroundAnswer[] = []
  await hfFamily.predict(h, 'r1', { kind: 'text', text }, (a) => answers.push(a))
  const got = answers.filter((a): a is Extract<PlaygroundAnswer, { type: 'prediction' }> => a.type === 'prediction')
  if (got.length !== answers.length) throw new Error(JSON.stringify(answers))
  return got
}

function reference(files: Map<string, Uint8Array> | Record<string, Uint8Array>, types: boolean): number[] {
  const m = files instanceof Map ? files : new Map(Object.entries(files))
  const tmp = mkdtempSync(path.join(tmpdir(), 'seqcls-back-'))
  writeFileSync(path.join(tmp, 'config.json'), m.get('config.json')!)
  writeFileSync(path.join(tmp, 'model.safetensors'), m.get('model.safetensors')!)
  // transformers' decoder classes find the last real token by the pad id, not the mask: padded
  // places hold it (pad_token_id 0); causal attention makes what is there irrelevant to the studio
  const ids = IDS.map((row, r) => row.map((id, i) => (MASK[r]![i] ? id : 0)))
  writeFileSync(path.join(tmp, 'in.json'), JSON.stringify({ input_ids: ids, attention_mask: MASK, ...(types ? { token_type_ids: TYPES } : {}) }))
  const run = spawnSync(PYTHON, [path.join(ROOT, 'scripts/hf-reference/seqcls.py'), tmp, path.join(tmp, 'in.json'), path.join(tmp, 'out.json')], { encoding: 'utf8' })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  return (JSON.parse(readFileSync(path.join(tmp, 'out.json'), 'utf8')) as { logits: number[] }).logits
}

/** The live PyTorch reference starts a Python process: slow on a busy machine. */
const SLOW = 180_000

const maxDiff = (a: readonly number[], b: readonly number[]) => {
  expect(a).toHaveLength(b.length)
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)
}
const softmax = (z: readonly number[]) => {
  const m = Math.max(...z)
  const e = z.map((x) => Math.exp(x - m))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((x) => x / s)
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe.each(['bert', 'distilbert', 'gpt2', 'llama-gqa-tied', 'llama-untied'])('a %s sequence classifier loads back with its head', (name) => {
  it('held as the tuning, classes from id2label in index order, logits those of the committed reference (and of seqcls.py)', async () => {
    const files = checkpoint(name)
    const tensorsBefore = tf.memory().numTensors
    const h = await load(files)
    expect(h.seqCls).toMatchObject({ architecture: ARCH[name], labels: NAMES, regression: false, outputs: 3 })
    expect(isLoadedHead(h.tuning)).toBe(true)
    expect(h.tuning!.settings.method).toBe('head')
    expect(h.validationSplit).toMatchObject({ kind: 'classification', n: 0, classes: NAMES })
    // the page says the model carries a trained head
    expect(h.summary.card?.seqClsHead).toBe(`Sequence classifier (${ARCH[name]}): 3 classes (spam, eggs, ham) — the head is loaded and can be evaluated before training: the playground answers with it, a dataset with these class names measures it, and a run starts from it.`)
    // an untied Llama's classifier has no lm_head in its checkpoint: it loads, and says it does not write text
    expect(h.lmHead).toBe(name === 'llama-untied' ? false : undefined)
    if (name === 'llama-untied') {
      const said: PlaygroundAnswer[] = []
      await hfFamily.generate!(h, { requestId: 'g', prompt: 'w1 w2', maxTokens: 2, temperature: 0, topK: 0, seed: 1 }, (a) => said.push(a), () => false)
      expect(said).toEqual([{ type: 'playground', requestId: 'g', message: "checkpoint is a sequence classifier (LlamaForSequenceClassification) saved without the LM head its config.json names (lm_head.weight): it classifies text but does not write it. Load its base model (the LlamaForCausalLM checkpoint) to generate text or train on plain text." }])
    }
    const types = name === 'bert'
    const got = await heldLogits(h, types)
    expect(maxDiff(got, REF[name]!.seqcls.logits)).toBeLessThan(1e-4)
    if (HAS_TORCH) expect(maxDiff(got, reference(files, types))).toBeLessThan(1e-4)
    // the playground classifies a typed text with the checkpoint's own head (token types 0 for
    // BERT, as for any typed text: compare where the reference had none, i.e. not for BERT)
    if (!types) {
      const [before, after] = await playground(h, textOf(1))
      const want = softmax(REF[name]!.seqcls.logits.slice(3, 6))
      expect(after!.which).toBe('after')
      expect(after!.classes.map((c) => c.name)).toEqual(NAMES)
      expect(maxDiff(after!.classes.map((c) => c.prob), want)).toBeLessThan(1e-5)
      expect(after!.note).toBe('no run yet: the loaded head')
      // "before" is where a run starts: the checkpoint's own head, not a random one
      expect(maxDiff(before!.classes.map((c) => c.prob), want)).toBeLessThan(1e-5)
    }
    h.tuning!.dispose()
    h.tuning = null
    h.body.dispose()
    if (h.base) for (const t of h.base.values()) t.dispose()
    expect(tf.memory().numTensors).toBe(tensorsBefore)
  }, SLOW)

  it('the studio’s own export of a trained head and LoRA loads back with the same logits (1e-5)', async () => {
    // the fixture's body (an untied Llama with its lm_head), LoRA on and a trained head (seeded
    // values), as seqClsExport.test.ts makes them
    const configText = readFileSync(path.join(DIR, name, 'config.json'), 'utf8')
    const h = await load(new Map([['config.json', enc(configText)], ['model.safetensors', new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))], ['tokenizer.json', enc(tinyTokenizer((JSON.parse(configText) as { vocab_size: number }).vocab_size))]]), `tiny-${name}`)
    expect(h.seqCls).toBeNull()
    const settings: Settings = { ...DEFAULTS, method: 'lora', loraRank: 2, loraAlpha: 4, loraTargets: 'qkv,fc', dropout: 0 }
    const tuning = new Tuning(h.body, settings, 3)
    let seed = 3
    for (const p of [...tuning.lora!.params.filter((q) => q.name.endsWith('lora_B')), ...tuning.head!.params]) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.3, 'float32', seed++))
    h.tuning = tuning
    const classes = ['ham', 'spam', 'eggs']
    h.validationSplit = { kind: 'classification', n: 2, seqLen: 8, tokens: Int32Array.from(IDS.flat()), mask: Float32Array.from(MASK.flat()), labels: new Int32Array(2), classes }
    const studio = async (held: HeldHf, t: Tuning) => {
      const out = tf.tidy(() => headLogits(held.body, t, { input: tf.tensor2d(IDS, undefined, 'int32'), mask: tf.tensor2d(MASK) }, new FeatureCache(0, false, { train: 0, val: 0 }), settings, false))
      const v = Array.from(await out.data())
      out.dispose()
      return v
    }
    const before = await studio(h, tuning)
    const [beforeAnswer] = [(await playground(h, textOf(0)))[1]!]
    const r = await hfFamily.export(h, { choice: 'merged', alpha: 1, blend: () => { throw new Error('no blend') }, data: null, metrics: { base: null, tuned: null }, measureAt: async () => null, onProgress: () => {} })
    const files = unzipSync(r.bytes)
    const back = await load(files, `tiny-${name}-seq-cls`)
    expect(back.seqCls).toMatchObject({ architecture: ARCH[name], labels: classes })
    expect(maxDiff(await studio(back, back.tuning!), before)).toBeLessThan(1e-5)
    // the playground gives the same probabilities for a typed text, with the same class names
    const after = (await playground(back, textOf(0)))[1]!
    expect(after.classes.map((c) => c.name)).toEqual(classes)
    expect(maxDiff(after.classes.map((c) => c.prob), beforeAnswer.classes.map((c) => c.prob))).toBeLessThan(1e-5)
    // and it exports again as the same checkpoint (weights equal, config's labels the same)
    const again = unzipSync((await hfFamily.export(back, { choice: 'merged', alpha: 1, blend: () => { throw new Error('no blend') }, data: null, metrics: { base: null, tuned: null }, measureAt: async () => null, onProgress: () => {} })).bytes)
    const a = parseSafetensors(files['model.safetensors']!).tensors
    const b = parseSafetensors(again['model.safetensors']!).tensors
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort())
    for (const [k, t] of a) expect(maxDiff(Array.from(b.get(k)!.data), Array.from(t.data)), k).toBeLessThan(1e-6)
    expect(JSON.parse(new TextDecoder().decode(again['config.json']!))).toMatchObject({ architectures: [ARCH[name]], id2label: { 0: 'ham', 1: 'spam', 2: 'eggs' } })
    if (HAS_TORCH) expect(maxDiff(reference(files, false), before)).toBeLessThan(1e-4)
    for (const held of [h, back]) {
      held.tuning?.dispose()
      held.body.dispose()
    }
  }, SLOW)
})

describe('classes are matched by name, never silently', () => {
  it('the same names in another order reorder the head’s outputs to the dataset’s; other names are refused naming both lists', async () => {
    const h = await load(checkpoint('distilbert'))
    const loaded = h.seqCls!
    expect(matchClasses(loaded, ['ham', 'spam', 'eggs'])).toEqual({ order: [2, 0, 1] })
    const m = matchClasses(loaded, ['positive', 'negative'])
    expect(m).toEqual({ mismatch: 'This checkpoint’s head (DistilBertForSequenceClassification) classifies spam, eggs, ham; the dataset’s classes are positive, negative.'.replace(/’/g, "'") })
    // a run on ['ham', 'spam', 'eggs'] starts from the loaded head, columns reordered
    const tuning = new Tuning(h.body, { ...DEFAULTS, method: 'head', dropout: 0 }, 3)
    const val: Encoded = { kind: 'classification', n: 2, seqLen: 8, tokens: Int32Array.from(IDS.flat()), mask: Float32Array.from(MASK.flat()), labels: new Int32Array(2), classes: ['ham', 'spam', 'eggs'] }
    startFromLoadedHead(h, tuning, { train: val, val })
    h.tuning!.dispose()
    h.tuning = tuning
    const ref = REF.distilbert!.seqcls.logits
    const want = [0, 1].flatMap((r) => [2, 0, 1].map((k) => ref[r * 3 + k]!))
    expect(maxDiff(await heldLogits(h, false), want)).toBeLessThan(1e-4)
    // the plan refuses another dataset's classes on the dataset control, naming both lists and the way out
    const data = { dataset: { classes: { label: [{ label: 'positive' }, { label: 'negative' }] }, roles: { labels: ['label'] } }, facts: { task: 'text-classification' } } as unknown as SessionData
    const problem = seqClsProblem(h, data)!
    expect(problem.field).toBe('dataset')
    expect(problem.message).toMatch(/^This checkpoint's head \(DistilBertForSequenceClassification\) classifies spam, eggs, ham; the dataset's classes are positive, negative\. To train a new head for this dataset instead, press "Use a new head"/)
    expect(hfFamily.extraProblems(h, DEFAULTS, data)).toContainEqual(problem)
    // the same names (any order) are no problem; mean pooling would not be the class's head
    const same = { dataset: { classes: { label: ['ham', 'eggs', 'spam'].map((label) => ({ label })) }, roles: { labels: ['label'] } }, facts: { task: 'text-classification' } } as unknown as SessionData
    expect(seqClsProblem(h, same, DEFAULTS)).toBeNull()
    expect(seqClsProblem(h, same, { ...DEFAULTS, pooling: 'mean' })).toEqual({ field: 'pooling', message: `This checkpoint's head (DistilBertForSequenceClassification) reads the [CLS] token, and the pooling setting asks for the mean of the token states. Choose "[CLS]" (or "As the checkpoint says") to start from its head, or press "Use a new head" (step 2) to train a mean-pooled head.` })
    // "Use a new head": the head is set aside, the next run trains a fresh one, nothing refused
    h.tuning.dispose()
    h.tuning = null
    const again = await load(checkpoint('distilbert'))
    dropSeqClsHead(again)
    expect(again.seqCls).toBeNull()
    expect(again.tuning).toBeNull()
    expect(again.summary.card?.seqClsHead).toBeUndefined()
    expect(again.summary.description).toMatch(/Its DistilBertForSequenceClassification head was set aside: a run trains a new one for the dataset's classes\.$/)
    expect(seqClsProblem(again, data)).toBeNull()
    for (const held of [h, again]) held.body.dispose()
  })

  it('placeholder names (LABEL_i, a config.json without id2label of its own): refused until the person names them, then matched by those names; nothing guessed', async () => {
    const placeholders = ['LABEL_0', 'LABEL_1', 'LABEL_2']
    const config = { id2label: Object.fromEntries(placeholders.map((l, i) => [String(i), l])), label2id: Object.fromEntries(placeholders.map((l, i) => [l, i])) }
    const h = await load(checkpoint('gpt2', { config }))
    expect(h.seqCls!.labels).toEqual(placeholders)
    expect(h.summary.card).toMatchObject({ seqClsPlaceholders: placeholders, seqClsNames: null })
    expect(h.summary.card!.seqClsHead).toContain("These are placeholder names (the checkpoint's config.json has no id2label of its own): if you know which of your dataset's classes each one is, name them below to keep the trained head.")
    const classes = (names: string[]) => ({ dataset: { classes: { label: names.map((label) => ({ label })) }, roles: { labels: ['label'] } }, facts: { task: 'text-classification' } }) as unknown as SessionData
    const animals = classes(['owl', 'cat', 'dog'])
    expect(seqClsProblem(h, animals)!.message).toBe(
      'This checkpoint\'s head (GPT2ForSequenceClassification) classifies LABEL_0, LABEL_1, LABEL_2; the dataset\'s classes are owl, cat, dog. LABEL_0, LABEL_1, LABEL_2 are placeholder names (the checkpoint\'s config.json has no id2label of its own): to keep its trained head, say which of the dataset\'s classes each one is under the model\'s description (step 2), then press "Keep the trained head with these names". To train a new head for this dataset instead, press "Use a new head" under the model\'s description (step 2); or choose a dataset labelled LABEL_0, LABEL_1, LABEL_2.',
    )
    // two classes cannot name three outputs: the refusal does not offer it
    expect(seqClsProblem(h, classes(['neg', 'pos']))!.message).toBe(
      'This checkpoint\'s head (GPT2ForSequenceClassification) classifies LABEL_0, LABEL_1, LABEL_2; the dataset\'s classes are neg, pos. To train a new head for this dataset instead, press "Use a new head" under the model\'s description (step 2); or choose a dataset labelled LABEL_0, LABEL_1, LABEL_2.',
    )
    // names the person cannot mean are refused in words, and nothing changes
    expect(() => nameSeqClsClasses(h, ['owl', 'cat'])).toThrow('The head has 3 classes (LABEL_0, LABEL_1, LABEL_2) and 2 names were given: name each once.')
    expect(() => nameSeqClsClasses(h, ['owl', ' ', 'dog'])).toThrow("LABEL_1 has no name: choose which of the dataset's classes it is.")
    expect(() => nameSeqClsClasses(h, ['owl', 'cat', 'owl'])).toThrow("LABEL_0 and LABEL_2 are both named owl: each class of the dataset names one of the head's outputs.")
    expect(h.seqCls!.labels).toEqual(placeholders)
    // output 0 is owl, 1 cat, 2 dog (as a model card would say; not the sorted order)
    nameSeqClsClasses(h, ['owl', 'cat', 'dog'])
    expect(h.seqCls!.labels).toEqual(['owl', 'cat', 'dog'])
    expect(h.summary.card).toMatchObject({ seqClsPlaceholders: placeholders, seqClsNames: ['owl', 'cat', 'dog'] })
    expect(h.summary.card!.seqClsHead).toMatch(/^Sequence classifier \(GPT2ForSequenceClassification\): 3 classes \(owl = LABEL_0, cat = LABEL_1, dog = LABEL_2; named by you: its config\.json calls them only LABEL_0, LABEL_1, LABEL_2\) — /)
    expect(seqClsProblem(h, animals)).toBeNull()
    expect(seqClsProblem(h, classes(['cat', 'dog', 'owl']))).toBeNull()
    // another dataset of three classes: the names can be given again
    expect(seqClsProblem(h, classes(['bee', 'cat', 'dog']))!.message).toContain('; the dataset\'s classes are bee, cat, dog. LABEL_0, LABEL_1, LABEL_2 are placeholder names (named owl, cat, dog by you) (the checkpoint\'s config.json has no id2label of its own): to keep its trained head, say which')
    // a run on data whose classes are [cat, dog, owl] starts from the head, its outputs taken as named
    const tuning = new Tuning(h.body, { ...DEFAULTS, method: 'head', dropout: 0 }, 3)
    const val: Encoded = { kind: 'classification', n: 2, seqLen: 8, tokens: Int32Array.from(IDS.flat()), mask: Float32Array.from(MASK.flat()), labels: new Int32Array(2), classes: ['cat', 'dog', 'owl'] }
    startFromLoadedHead(h, tuning, { train: val, val })
    h.tuning!.dispose()
    h.tuning = tuning
    const ref = REF.gpt2!.seqcls.logits
    // dataset class cat is output 1, dog output 2, owl output 0
    const want = [0, 1].flatMap((r) => [1, 2, 0].map((k) => ref[r * 3 + k]!))
    expect(maxDiff(await heldLogits(h, false), want)).toBeLessThan(1e-4)
    // named again (the person corrects the names): from the placeholders, not from the first names
    nameSeqClsClasses(h, ['cat', 'dog', 'owl'])
    expect(matchClasses(h.seqCls!, ['owl', 'cat', 'dog'])).toEqual({ order: [2, 0, 1] })
    // a head whose config.json names its classes cannot be renamed
    const named = await load(checkpoint('gpt2'))
    expect(() => nameSeqClsClasses(named, ['owl', 'cat', 'dog'])).toThrow('This checkpoint\'s head (GPT2ForSequenceClassification) names its classes already (spam, eggs, ham, from its config.json\'s id2label): a dataset with those names keeps it, or press "Use a new head".')
    expect(named.summary.card).toMatchObject({ seqClsPlaceholders: null, seqClsNames: null })
    for (const held of [h, named]) {
      held.tuning?.dispose()
      held.body.dispose()
    }
  })

  it('a labelled dataset with the same class names measures the loaded head through the session (accuracy and loss from the reference logits)', async () => {
    // two texts: row 0 labelled with the reference's argmax, row 1 with a class it does not pick
    const ref = REF.gpt2!.seqcls.logits
    const argmax = (r: number) => [0, 1, 2].reduce((b, k) => (ref[r * 3 + k]! > ref[r * 3 + b]! ? k : b), 0)
    const labels = [NAMES[argmax(0)]!, NAMES[(argmax(1) + 1) % 3]!]
    // the training rows name all three classes (the dataset's classes are id2label's, in its own order)
    const rows = [[textOf(0), 'ham'], [textOf(1), 'spam'], [textOf(0), 'eggs'], [textOf(0), labels[0]], [textOf(1), labels[1]]]
    const csv = 'text,label\n' + rows.map((r) => r.join(',')).join('\n')
    const parsed = await parseDatasetText('mail.csv', csv, { roles: { text: 'text', labels: ['label'], features: [] } })
    if (!parsed.ok) throw new Error(parsed.error.message)
    const ds = parsed.dataset
    const data: SessionData & { facts: DataFacts } = {
      dataset: ds,
      facts: { id: 'mail', name: 'mail.csv', task: 'text-classification', rows: 5, source: 'test', classes: ds.classes.label!.map((c) => ({ name: c.label, count: c.count })) },
      images: null,
      decoder: null,
      split: () => ({ train: ds, trainIdx: range(0, 3), validation: ds, validationIdx: range(3, 5) }),
    }
    const session = new Session(data)
    const h = await load(checkpoint('gpt2'))
    session.hold(h)
    const r = await measureLoadedHead(h, { data, encode: (x, s) => session.encodeFor(x, s), evaluate: (x, t, v) => session.evaluateWith(x, t, v), adopt: (x, t, v) => session.adopt(x, t, v) }, DEFAULTS)
    const ce = (row: number, label: string) => -Math.log(softmax(ref.slice(row * 3, row * 3 + 3))[NAMES.indexOf(label)]!)
    expect(r.metrics!.accuracy).toBeCloseTo(0.5, 6)
    expect(r.metrics!.loss).toBeCloseTo((ce(0, labels[0]!) + ce(1, labels[1]!)) / 2, 4)
    expect(r.note).toMatch(/^GPT2ForSequenceClassification's own head, before any training, on the validation split of mail\.csv \(2 texts, classes matched by name\)/)
    // evaluation, the playground and export now read the dataset's split, in the dataset's class order
    expect(h.validationSplit!.n).toBe(2)
    expect((await session.evaluate()).accuracy).toBeCloseTo(0.5, 6)
    // a run starts from the loaded head: with a learning rate too small to move it, the model
    // after one epoch measures what the checkpoint measured
    const settings: Settings = { ...DEFAULTS, backend: 'cpu', method: 'head', epochs: 1, batchSize: 2, learningRate: 1e-5, seqLen: 16, dropout: 0, warmupSteps: 0, earlyStopPatience: 0, plateauPatience: 0 }
    const baselines: { name: string; note: string }[] = []
    const out = await session.train('run1', settings, { events: { onBaseline: (_m, note, name) => void baselines.push({ name, note }) }, started: () => undefined, record: async (_s, _c, cb) => ({ callbacks: () => cb, finish: async () => undefined, fail: async () => undefined }) })
    expect('result' in out).toBe(true)
    const after = await session.evaluate()
    expect(after.loss).toBeCloseTo(r.metrics!.loss, 3)
    // the line to beat names the checkpoint's head for what it is, not "untrained"
    expect(baselines).toHaveLength(1)
    expect(baselines[0]!.note).toContain('checkpoint head 50.0%')
    expect(baselines[0]!.note).not.toContain('untrained')
    session.drop()
  })
})

describe('a regression checkpoint predicts in its own units, and trains and evaluates on standardised targets', () => {
  it('DistilBERT (classifier has a bias): the held head gives the reference’s output; with the data’s scale (mean 3, std 2) it is converted to standardised units exactly', async () => {
    const h = await load(checkpoint('distilbert', { rows: [0], config: { problem_type: 'regression' } }))
    expect(h.seqCls).toMatchObject({ regression: true, labels: [], outputs: 1, offset: 0 })
    expect(h.validationSplit).toMatchObject({ kind: 'regression', scale: { mean: 0, std: 1 } })
    expect(h.summary.card?.seqClsHead).toMatch(/^Sequence regressor \(DistilBertForSequenceClassification\): predicts one number in the checkpoint's units — the head is loaded/)
    const ref = REF.distilbert!.seqcls.logits
    const y = [ref[0]!, ref[3]!] // row 0 of the head: the first output of each text
    expect(maxDiff(await heldLogits(h, false), y)).toBeLessThan(1e-4)
    const [, after] = await playground(h, textOf(1))
    expect(after!.value!.value).toBeCloseTo(y[1]!, 4)
    // the data: targets 1 and 4, scale mean 3 std 2 (standardised -1, 0.5)
    const targets = [1, 4]
    const set: Encoded = { kind: 'regression', n: 2, seqLen: 8, tokens: Int32Array.from(IDS.flat()), mask: Float32Array.from(MASK.flat()), values: Float32Array.from(targets, (t) => (t - 3) / 2), scale: { name: 'score', mean: 3, std: 2 } }
    const tuning = new Tuning(h.body, { ...DEFAULTS, method: 'head', dropout: 0 }, 'regression')
    const sets = startFromLoadedHead(h, tuning, { train: set, val: set })
    expect(sets.val).toBe(set) // a classifier bias holds the mean: the targets stay as the data's
    h.tuning!.dispose()
    h.tuning = tuning
    const z = await heldLogits(h, false)
    expect(maxDiff(z, y.map((v) => (v - 3) / 2))).toBeLessThan(1e-4)
    // evaluation (standardised inside) reports errors in the target's units, from the reference
    const m = await evaluate(h.body, tuning, set, new FeatureCache(0, false, { train: 0, val: 2 }), 'val')
    expect(m.rmse).toBeCloseTo(Math.sqrt(((y[0]! - 1) ** 2 + (y[1]! - 4) ** 2) / 2), 3)
    tuning.dispose()
    h.tuning = null
    h.body.dispose()
  })

  it('GPT-2 (score has no bias): studio_regression_offset is added; training targets are centred at the offset so the head is unchanged but for 1/std', async () => {
    const files = checkpoint('gpt2', { rows: [0], config: { problem_type: 'regression', studio_regression_offset: 2.5 } })
    const h = await load(files)
    expect(h.seqCls).toMatchObject({ regression: true, offset: 2.5, outputs: 1 })
    expect(h.summary.card?.seqClsHead).toMatch(/predicts one number in the checkpoint's units \(its offset 2\.5 added\)/)
    const ref = REF.gpt2!.seqcls.logits
    const y = [ref[0]! + 2.5, ref[3]! + 2.5]
    const [before, after] = await playground(h, textOf(0))
    expect(after!.value!.value).toBeCloseTo(y[0]!, 4)
    expect(before!.value!.value).toBeCloseTo(y[0]!, 4)
    if (HAS_TORCH) expect(maxDiff(reference(files, false).map((v) => v + 2.5), y)).toBeLessThan(1e-4)
    const targets = [1, 4]
    const set: Encoded = { kind: 'regression', n: 2, seqLen: 8, tokens: Int32Array.from(IDS.flat()), mask: Float32Array.from(MASK.flat()), values: Float32Array.from(targets, (t) => (t - 3) / 2), scale: { name: 'score', mean: 3, std: 2 } }
    const tuning = new Tuning(h.body, { ...DEFAULTS, method: 'head', dropout: 0 }, 'regression')
    const sets = startFromLoadedHead(h, tuning, { train: set, val: set })
    // re-centred: z = (y − 2.5) / 2, so targets 1 and 4 are −0.75 and 0.75
    expect(sets.train.kind === 'regression' && sets.train.scale).toEqual({ name: 'score', mean: 2.5, std: 2 })
    expect(Array.from(sets.val.kind === 'regression' ? sets.val.values : [])).toEqual([-0.75, 0.75])
    expect(recentre(set, 3)).toMatchObject({ scale: { mean: 3 } })
    h.tuning!.dispose()
    h.tuning = tuning
    expect(maxDiff(await heldLogits(h, false), y.map((v) => (v - 2.5) / 2))).toBeLessThan(1e-4)
    const m = await evaluate(h.body, tuning, sets.val, new FeatureCache(0, false, { train: 0, val: 2 }), 'val')
    expect(m.rmse).toBeCloseTo(Math.sqrt(((y[0]! - 1) ** 2 + (y[1]! - 4) ** 2) / 2), 3)
    tuning.dispose()
    h.tuning = null
    h.body.dispose()
  })
})

describe('bad checkpoints are refused by name', () => {
  it('a config naming the class without its head, a multi-label head, a misshapen score', async () => {
    const files = checkpoint('gpt2')
    const cfg = (await loadHfBundle(mapSource(files))).config
    const body = parseSafetensors(files.get('model.safetensors')!).tensors
    const noHead = new Map([...body].filter(([k]) => k !== 'score.weight'))
    const text = new TextDecoder().decode(files.get('config.json')!)
    expect(() => readSeqClsHead(cfg, text, noHead)).toThrow('model.safetensors: config.json names GPT2ForSequenceClassification but the weights have no "score.weight", the head that class reads. Choose the model.safetensors saved with this config.json.')
    expect(readSeqClsHead(cfg, text.replace('GPT2ForSequenceClassification', 'GPT2LMHeadModel'), noHead)).toBeNull()
    const multi = JSON.stringify({ ...JSON.parse(text), problem_type: 'multi_label_classification' })
    expect(() => readSeqClsHead(cfg, multi, body)).toThrow(/multi-label .* the studio's classification heads pick one class per text/)
    const bad = new Map(body).set('score.weight', { ...body.get('score.weight')!, shape: [3, 16], data: new Float32Array(48) })
    expect(() => readSeqClsHead(cfg, text, bad)).toThrow('model.safetensors: "score.weight" has shape [3, 16] but GPT2ForSequenceClassification on this model (hidden size 32) needs [3, 32].')
    // a PEFT adapter's names (base_model.model.) are read too
    const peft = new Map([...body].map(([k, t]) => [`base_model.model.${k}`, t] as const))
    expect(readSeqClsHead(cfg, text, peft)).toMatchObject({ labels: NAMES, outputs: 3 })
  })
})
