// Issue 16: a classification or regression head trained on a Hugging Face body IS that
// architecture's *ForSequenceClassification head (HfBody.headStructure: BERT's pooler + tanh,
// DistilBERT's pre_classifier + ReLU, GPT-2's / Llama's bias-free score on the last real token),
// so the family's "Merged model" export is that class's checkpoint, not an approximation. Checked
// against the independent PyTorch reference (scripts/hf-reference/seqcls.py, written from the
// transformers modelling files): it loads the exported folder as from_pretrained would and its
// logits equal the studio's, computed through the training loop's own path (headLogits), with
// LoRA on and random head weights, padding included, to 1e-4.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { holdHf, type HeldHf } from '../session/families/hf'
import { Tuning } from '../train/fineTune'
import { loadHfBundle, mapSource } from './hfLoad'
import { exportZip, holdRows, IDS, MASK, studioLogits } from './seqClsTestRows'
import { parseSafetensors, writeSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
const ROOT = path.resolve(__dirname, '../../..')
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const HAS_TORCH = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
// CI installs python3-torch (.ci/run): there a missing torch is a failure, not a skipped check.
if (process.env.CI && !HAS_TORCH) throw new Error(`CI needs the PyTorch reference: ${PYTHON} cannot import torch (.ci/run installs python3-torch)`)

/** A word-level tokenizer.json of `n` tokens: id 0 is [UNK], which the tokenizer-like object
 *  then also uses as the pad id (no pad or eos token defined). */
function tinyTokenizer(n: number): string {
  const vocab = Object.fromEntries(['[UNK]', ...Array.from({ length: n - 1 }, (_, i) => `w${i}`)].map((t, i) => [t, i]))
  return JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab } })
}

/** The fixture as files; BERT's gets the pooler a BertModel checkpoint has (the heads fixture's). */
async function held(name: string): Promise<{ held: HeldHf; poolerHf: Float32Array | null }> {
  const configText = readFileSync(path.join(DIR, name, 'config.json'), 'utf8')
  const vocab = (JSON.parse(configText) as { vocab_size: number }).vocab_size
  let weights = new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))
  let poolerHf: Float32Array | null = null
  if (name === 'bert') {
    const body = parseSafetensors(weights).tensors
    const head = parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, 'heads', 'bert.safetensors')))).tensors
    poolerHf = head.get('bert.pooler.dense.weight')!.data
    weights = writeSafetensors([
      ...[...body].map(([n, t]) => ({ name: n, shape: t.shape, data: t.data })),
      { name: 'pooler.dense.weight', shape: [32, 32], data: poolerHf },
      { name: 'pooler.dense.bias', shape: [32], data: head.get('bert.pooler.dense.bias')!.data },
    ])
  }
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode(configText)],
    ['model.safetensors', weights],
    ['tokenizer.json', new TextEncoder().encode(tinyTokenizer(vocab))],
  ])
  const bundle = await loadHfBundle(mapSource(files))
  return { held: holdHf(bundle, new Map(), [...files.keys()], `tiny-${name}`, `hf-files:${name}`, 'in a test'), poolerHf }
}


/** A LoRA tuning with a head as the run builds it; LoRA B and the head's biases set to seeded
 *  values so the merged body and every head weight show in the logits. */
function tune(h: HeldHf, need: number | 'regression', classes: string[]): { tuning: Tuning; settings: Settings } {
  const settings: Settings = { ...DEFAULTS, method: 'lora', loraRank: 2, loraAlpha: 4, loraTargets: 'qkv,fc', dropout: 0 }
  const tuning = new Tuning(h.body, settings, need)
  let seed = 3
  for (const p of [...tuning.lora!.params.filter((q) => q.name.endsWith('lora_B')), ...tuning.head!.params.filter((q) => q.name.endsWith('bias'))]) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.3, 'float32', seed++))
  h.tuning = tuning
  holdRows(h, need, classes)
  return { tuning, settings }
}



function reference(files: Record<string, Uint8Array>): { architecture: string; num_labels: number; problem_type: string; logits: number[]; keys: string[] } {
  const tmp = mkdtempSync(path.join(tmpdir(), 'seqcls-'))
  writeFileSync(path.join(tmp, 'config.json'), files['config.json']!)
  writeFileSync(path.join(tmp, 'model.safetensors'), files['model.safetensors']!)
  writeFileSync(path.join(tmp, 'in.json'), JSON.stringify({ input_ids: IDS, attention_mask: MASK }))
  const run = spawnSync(PYTHON, [path.join(ROOT, 'scripts/hf-reference/seqcls.py'), tmp, path.join(tmp, 'in.json'), path.join(tmp, 'out.json')], { encoding: 'utf8' })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  return JSON.parse(readFileSync(path.join(tmp, 'out.json'), 'utf8'))
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)

beforeAll(async () => {
  await tf.setBackend('cpu')
})

// key sets by hand from the transformers classes: the body under the class's attribute and
// the head under its names, nn.Linear's [out, in]
const HEAD_KEYS: Record<string, [string, number[]][]> = {
  bert: [['bert.pooler.dense.bias', [32]], ['bert.pooler.dense.weight', [32, 32]], ['classifier.bias', [3]], ['classifier.weight', [3, 32]]],
  distilbert: [['classifier.bias', [3]], ['classifier.weight', [3, 32]], ['pre_classifier.bias', [32]], ['pre_classifier.weight', [32, 32]]],
  gpt2: [['score.weight', [3, 32]]],
  'llama-gqa-tied': [['score.weight', [3, 32]]],
}
const ARCH: Record<string, string> = { bert: 'BertForSequenceClassification', distilbert: 'DistilBertForSequenceClassification', gpt2: 'GPT2ForSequenceClassification', 'llama-gqa-tied': 'LlamaForSequenceClassification' }
const BODY: Record<string, string> = { bert: 'bert.', distilbert: 'distilbert.', gpt2: 'transformer.', 'llama-gqa-tied': 'model.' }

describe.each(['bert', 'distilbert', 'gpt2', 'llama-gqa-tied'])('a classification head on %s exports as its *ForSequenceClassification checkpoint', (name) => {
  it('with the class’s keys, shapes and config, and the reference gives the studio’s logits', async () => {
    const { held: h, poolerHf } = await held(name)
    const { tuning, settings } = tune(h, 3, ['ham', 'spam', 'eggs'])
    const want = await studioLogits(h, tuning, settings)
    const { fileName, files } = await exportZip(h, 'merged')
    expect(fileName).toBe(`tiny-${name}-seq-cls.zip`)
    const tensors = parseSafetensors(files['model.safetensors']!).tensors
    const headKeys = [...tensors.keys()].filter((k) => !k.startsWith(BODY[name]!) || k.startsWith('bert.pooler')).sort()
    expect(headKeys.map((k) => [k, tensors.get(k)!.shape])).toEqual(HEAD_KEYS[name])
    expect([...tensors.keys()].some((k) => k.startsWith('lm_head'))).toBe(false)
    const config = JSON.parse(new TextDecoder().decode(files['config.json']!)) as Record<string, unknown>
    expect(config).toMatchObject({ architectures: [ARCH[name]], id2label: { 0: 'ham', 1: 'spam', 2: 'eggs' }, label2id: { ham: 0, spam: 1, eggs: 2 }, problem_type: 'single_label_classification' })
    // decoders: the pad id the class needs to find each row's last real token (the tokenizer's: 0 here)
    if (name === 'gpt2' || name === 'llama-gqa-tied') expect(config.pad_token_id).toBe(0)
    // BERT's head started from the checkpoint's pooler; untrained here, so it is exported as it came
    if (poolerHf) expect(Array.from(tensors.get('bert.pooler.dense.weight')!.data)).toEqual(Array.from(poolerHf))
    if (HAS_TORCH) {
      const ref = reference(files)
      expect(ref.architecture).toBe(ARCH[name])
      expect(ref.num_labels).toBe(3)
      expect(want).toHaveLength(6)
      expect(maxDiff(ref.logits, want)).toBeLessThan(1e-4)
    }
    tuning.dispose()
    h.body.dispose()
  })
})

describe('a regression head exports in the target’s units', () => {
  it('DistilBERT: output × std + mean folded into the classifier (the reference gives 2 × the studio’s standardised output + 3)', async () => {
    const { held: h } = await held('distilbert')
    const { tuning, settings } = tune(h, 'regression', [])
    const z = await studioLogits(h, tuning, settings)
    const { files } = await exportZip(h, 'merged')
    const config = JSON.parse(new TextDecoder().decode(files['config.json']!)) as Record<string, unknown>
    expect(config).toMatchObject({ architectures: ['DistilBertForSequenceClassification'], problem_type: 'regression', id2label: { 0: 'LABEL_0' } })
    if (HAS_TORCH) expect(maxDiff(reference(files).logits, z.map((v) => 2 * v + 3))).toBeLessThan(1e-4)
    // without the data's scale (no validation split in the session) it is refused, not written in standardised units
    h.validationSplit = null
    await expect(exportZip(h, 'merged')).rejects.toThrow(/the scale of its target is not known here \(no training data in this session\)/)
    tuning.dispose()
    h.body.dispose()
  })

  it('GPT-2: score has no bias, so the mean is config’s studio_regression_offset and the README says to add it', async () => {
    const { held: h } = await held('gpt2')
    const { tuning, settings } = tune(h, 'regression', [])
    const z = await studioLogits(h, tuning, settings)
    const { files } = await exportZip(h, 'merged')
    const config = JSON.parse(new TextDecoder().decode(files['config.json']!)) as Record<string, unknown>
    expect(config).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], problem_type: 'regression', studio_regression_offset: 3 })
    expect(new TextDecoder().decode(files['README.md']!)).toMatch(/add studio_regression_offset from config\.json \(3\)/)
    if (HAS_TORCH) expect(maxDiff(reference(files).logits, z.map((v) => 2 * v))).toBeLessThan(1e-4)
    tuning.dispose()
    h.body.dispose()
  })
})

describe('mean pooling (sentence encoders) has no Hugging Face class', () => {
  it('the head is the studio’s dense one and the export says it is the studio’s format', async () => {
    const { held: h } = await held('bert')
    // a sentence encoder: its sentence-transformers files ask for the mean, which the pooling
    // setting's default ('auto') then means; the run sets it on the body (hfFamily.beforeRun)
    h.body.suggestedPooling = { pooling: 'mean', why: 'modules.json' }
    h.body.pooling = h.body.poolingFor('auto')
    const { tuning } = tune(h, 3, ['a', 'b', 'c'])
    expect(tuning.head!.params.map((p) => p.name)).toEqual(['head.task.kernel', 'head.task.bias'])
    const { fileName, files } = await exportZip(h, 'merged')
    expect(fileName).toBe('tiny-bert-merged.zip')
    expect(JSON.parse(new TextDecoder().decode(files['config.json']!))).toMatchObject({ architectures: ['BertModel'] })
    expect([...parseSafetensors(files['studio_head.safetensors']!).tensors.keys()]).toEqual(['head.task.kernel', 'head.task.bias'])
    expect(new TextDecoder().decode(files['README.md']!)).toMatch(/AutoModelForSequenceClassification does not load it/)
    tuning.dispose()
    h.body.dispose()
  })
})
