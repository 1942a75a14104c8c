// Issue 16: a LoRA run that trained a classification or regression head exports as a SEQ_CLS PEFT
// adapter (the LoRA factors, and the head in modules_to_save under the class's names), and the
// independent reference applies it as PEFT does (scripts/hf-reference/apply_seqcls_adapter.py:
// LoRA merged, the saved head modules in place of the class's fresh ones, then seqcls.py's
// AutoModelForSequenceClassification forward written from the transformers files): its logits are
// the studio's, computed through the training loop's own path (headLogits, LoRA hooks on), to
// 1e-4. The LoRA and head weights are fixed (not trained) so the exports are reproducible: they
// are committed in fixtures/seqcls-lora-<name>/ with the reference output the script wrote from
// them; where /usr/bin/python3 imports torch the script also runs live on this test's export.
// HF_FIXTURES_WRITE=1 rewrites the committed adapters (then rerun the script: see its header).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
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
import { readPeftAdapter } from './peftAdapter'
import { parseSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
const ROOT = path.resolve(__dirname, '../../..')
const SCRIPT = path.join(ROOT, 'scripts/hf-reference/apply_seqcls_adapter.py')
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const HAS_TORCH = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0
// CI installs python3-torch (.ci/run): there a missing torch is a failure, not a skipped check.
if (process.env.CI && !HAS_TORCH) throw new Error(`CI needs the PyTorch reference: ${PYTHON} cannot import torch (.ci/run installs python3-torch)`)

// the reference's input: seqClsTestRows' rows (right padding, pad id 0)
const INPUT = { input_ids: IDS, attention_mask: MASK, pad_token_id: 0 }

/** A word-level tokenizer.json of `n` tokens; id 0 is [UNK], which is also the pad id then. */
function tinyTokenizer(n: number): string {
  const vocab = Object.fromEntries(['[UNK]', ...Array.from({ length: n - 1 }, (_, i) => `w${i}`)].map((t, i) => [t, i]))
  return JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab } })
}

/** The fixture (body only, as its repo has it) held by the session as the page loads files. */
async function held(name: string): Promise<HeldHf> {
  const configText = readFileSync(path.join(DIR, name, 'config.json'), 'utf8')
  const vocab = (JSON.parse(configText) as { vocab_size: number }).vocab_size
  const files = new Map<string, Uint8Array>([
    ['config.json', new TextEncoder().encode(configText)],
    ['model.safetensors', new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))],
    ['tokenizer.json', new TextEncoder().encode(tinyTokenizer(vocab))],
  ])
  const bundle = await loadHfBundle(mapSource(files))
  return holdHf(bundle, new Map(), [...files.keys()], `tiny-${name}`, `hf-files:${name}`, 'in a test')
}

/** A LoRA + head tuning as the run builds it, every LoRA and head weight set to fixed values
 *  (B too, so the update shows), with the validation split the labels and the scale come from. */
function tune(h: HeldHf, need: number | 'regression', classes: string[]): { tuning: Tuning; settings: Settings } {
  const settings: Settings = { ...DEFAULTS, method: 'lora', loraRank: 2, loraAlpha: 4, loraTargets: 'qkv,fc', loraDropout: 0, dropout: 0 }
  const tuning = new Tuning(h.body, settings, need)
  const lora = new Set(tuning.lora!.params)
  ;[...tuning.lora!.params, ...tuning.head!.params].forEach((p, k) => {
    const v = new Float32Array(p.variable.size).map((_, i) => (lora.has(p) ? 0.15 : 0.6) * Math.sin(0.37 * i + 1.1 * k + 0.2))
    p.variable.assign(tf.tensor(v, p.variable.shape))
  })
  h.tuning = tuning
  holdRows(h, need, classes)
  return { tuning, settings }
}



interface Ref { architecture: string; num_labels: number; wrapped: string[]; lora: number; shape: number[]; logits: number[] }

/** The reference on an adapter folder over the fixture's own base folder. */
function reference(name: string, adapterDir: string): Ref {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'seqcls-peft-')), 'out.json')
  const input = path.join(path.dirname(out), 'in.json')
  writeFileSync(input, JSON.stringify(INPUT))
  const run = spawnSync(PYTHON, [SCRIPT, path.join(DIR, name), adapterDir, input, out], { encoding: 'utf8' })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  return JSON.parse(readFileSync(out, 'utf8')) as Ref
}

const maxDiff = (a: number[], b: number[]) => {
  expect(a).toHaveLength(b.length)
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

// by hand from the transformers classes and PEFT's save format: the head under
// base_model.model.<the class's module path>, nn.Linear's [out, in]; the fixtures' hidden size is 32
const HEAD_KEYS: Record<string, [string, number[]][]> = {
  bert: [['base_model.model.bert.pooler.dense.bias', [32]], ['base_model.model.bert.pooler.dense.weight', [32, 32]], ['base_model.model.classifier.bias', [3]], ['base_model.model.classifier.weight', [3, 32]]],
  distilbert: [['base_model.model.classifier.bias', [3]], ['base_model.model.classifier.weight', [3, 32]], ['base_model.model.pre_classifier.bias', [32]], ['base_model.model.pre_classifier.weight', [32, 32]]],
  gpt2: [['base_model.model.score.weight', [3, 32]]],
  'llama-gqa-tied': [['base_model.model.score.weight', [3, 32]]],
}
const SAVED: Record<string, string[]> = { bert: ['classifier', 'pooler'], distilbert: ['classifier', 'pre_classifier'], gpt2: ['score'], 'llama-gqa-tied': ['score'] }
// the modules PEFT wraps in ModulesToSaveWrapper (the reference finds them by PEFT's suffix match)
const WRAPPED: Record<string, string[]> = { bert: ['classifier', 'bert.pooler'], distilbert: ['classifier', 'pre_classifier'], gpt2: ['score'], 'llama-gqa-tied': ['score'] }
// LoRA 'qkv,fc': BERT's bare "dense" would also match bert.pooler.dense, which PEFT saves whole
const TARGETS: Record<string, string[]> = { bert: ['intermediate.dense', 'key', 'query', 'value'], distilbert: ['k_lin', 'lin1', 'q_lin', 'v_lin'], gpt2: ['c_attn', 'c_fc'], 'llama-gqa-tied': ['gate_proj', 'k_proj', 'q_proj', 'up_proj', 'v_proj'] }

/** Writes (HF_FIXTURES_WRITE) or checks the committed adapter files; returns their folder. */
function committed(folder: string, files: Record<string, Uint8Array>): string {
  const dir = path.join(DIR, folder)
  const names = ['adapter_config.json', 'adapter_model.safetensors', 'seq_cls_labels.json']
  if (process.env.HF_FIXTURES_WRITE) {
    mkdirSync(dir, { recursive: true })
    for (const n of names) writeFileSync(path.join(dir, n), files[n]!)
  }
  for (const n of names) expect(Buffer.from(files[n]!).equals(readFileSync(path.join(dir, n))), `${folder}/${n} differs from this export (HF_FIXTURES_WRITE=1 rewrites it)`).toBe(true)
  return dir
}

describe.each(['bert', 'distilbert', 'gpt2', 'llama-gqa-tied'])('a LoRA + classification run on %s exports as a SEQ_CLS PEFT adapter', (name) => {
  it('with PEFT’s keys, modules_to_save and labels, and PEFT’s way of applying it (reference) gives the studio’s logits', async () => {
    const h = await held(name)
    const { tuning, settings } = tune(h, 3, ['ham', 'spam', 'eggs'])
    const want = await studioLogits(h, tuning, settings)
    const { fileName, files } = await exportZip(h, 'adapter')
    expect(fileName).toBe(`tiny-${name}-peft-lora.zip`)
    expect(Object.keys(files).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors', 'seq_cls_labels.json'])
    const config = JSON.parse(new TextDecoder().decode(files['adapter_config.json']!)) as Record<string, unknown>
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'SEQ_CLS', r: 2, lora_alpha: 4, modules_to_save: SAVED[name], target_modules: TARGETS[name], fan_in_fan_out: name === 'gpt2', base_model_name_or_path: `tiny-${name}` })
    const tensors = parseSafetensors(files['adapter_model.safetensors']!).tensors
    const head = [...tensors.keys()].filter((k) => !k.includes('.lora_')).sort()
    expect(head.map((k) => [k, tensors.get(k)!.shape])).toEqual(HEAD_KEYS[name])
    const labels = JSON.parse(new TextDecoder().decode(files['seq_cls_labels.json']!)) as Record<string, unknown>
    expect(labels).toEqual({ num_labels: 3, id2label: { 0: 'ham', 1: 'spam', 2: 'eggs' }, label2id: { ham: 0, spam: 1, eggs: 2 }, problem_type: 'single_label_classification' })
    const readme = new TextDecoder().decode(files['README.md']!)
    expect(readme).toContain(`AutoModelForSequenceClassification.from_pretrained("tiny-${name}", num_labels=3, id2label={0: "ham", 1: "spam", 2: "eggs"}, label2id={"ham": 0, "spam": 1, "eggs": 2})`)
    expect(readme).toContain('model = PeftModel.from_pretrained(base, "path/to/this/folder")')
    if (name === 'gpt2' || name === 'llama-gqa-tied') expect(readme).toContain('base.config.pad_token_id = 0')

    // the committed export, and the reference's logits on it (written by the script from those files)
    const dir = committed(`seqcls-lora-${name}`, files)
    const ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Ref
    expect(ref).toMatchObject({ num_labels: 3, wrapped: WRAPPED[name], shape: [2, 3] })
    expect(ref.lora).toBe(tuning.lora!.layers.length)
    expect(maxDiff(want, ref.logits)).toBeLessThan(1e-4)
    // the LoRA matters: the same head without it is far from the reference
    const noLora = tf.tidy(() => tuning.head!.apply(h.body.pool(h.body.forward(tf.tensor2d(IDS, undefined, 'int32'), { attentionMask: tf.tensor2d(MASK) }), tf.tensor2d(MASK)), false))
    expect(maxDiff(Array.from(await noLora.data()), ref.logits)).toBeGreaterThan(1e-3)
    noLora.dispose()

    if (HAS_TORCH) {
      const tmp = mkdtempSync(path.join(tmpdir(), 'seqcls-adapter-'))
      for (const [n, b] of Object.entries(files)) writeFileSync(path.join(tmp, n), b)
      expect(maxDiff(want, reference(name, tmp).logits)).toBeLessThan(1e-4)
    }
    tuning.dispose()
    h.body.dispose()
  })
})

describe('a LoRA + regression run exports its head in the target’s units', () => {
  it('GPT-2: score has no bias, so the mean is seq_cls_labels.json’s studio_regression_offset and the README says to add it', async () => {
    const h = await held('gpt2')
    const { tuning, settings } = tune(h, 'regression', [])
    const z = await studioLogits(h, tuning, settings)
    const { files } = await exportZip(h, 'adapter')
    const labels = JSON.parse(new TextDecoder().decode(files['seq_cls_labels.json']!)) as Record<string, unknown>
    expect(labels).toEqual({ num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 }, problem_type: 'regression', studio_regression_offset: 3 })
    const readme = new TextDecoder().decode(files['README.md']!)
    expect(readme).toContain('AutoModelForSequenceClassification.from_pretrained("tiny-gpt2", num_labels=1, problem_type="regression")')
    expect(readme).toMatch(/add 3 \(studio_regression_offset in seq_cls_labels\.json\) to the model's output/)
    const dir = committed('seqcls-lora-gpt2-regression', files)
    const ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Ref
    // the studio trains on (y − 3) / 2: the exported score gives 2·z, the README adds the 3
    expect(maxDiff(z.map((v) => 2 * v), ref.logits)).toBeLessThan(1e-4)
    if (HAS_TORCH) {
      const tmp = mkdtempSync(path.join(tmpdir(), 'seqcls-adapter-'))
      for (const [n, b] of Object.entries(files)) writeFileSync(path.join(tmp, n), b)
      expect(maxDiff(z.map((v) => 2 * v), reference('gpt2', tmp).logits)).toBeLessThan(1e-4)
    }
    tuning.dispose()
    h.body.dispose()
  })
})

describe('what a SEQ_CLS adapter cannot hold is refused with what to choose', () => {
  it('a head on mean-pooled features (no Hugging Face class)', async () => {
    const h = await held('bert')
    h.body.pooling = 'mean'
    const { tuning } = tune(h, 3, ['a', 'b', 'c'])
    await expect(exportZip(h, 'adapter')).rejects.toThrow(/no Hugging Face class does, so PEFT cannot load it: choose "Merged model"/)
    tuning.dispose()
    h.body.dispose()
  })

  it('the adapter reads back: its head tensors under their class names, apart from the LoRA factors', () => {
    const dir = path.join(DIR, 'seqcls-lora-bert')
    const adapter = readPeftAdapter('bert', readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'), new Uint8Array(readFileSync(path.join(dir, 'adapter_model.safetensors'))))
    expect([...adapter.head.keys()].sort()).toEqual(['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'classifier.bias', 'classifier.weight'])
    expect(adapter.factors).toHaveLength(2 * 4)
  })

  it('modules_to_save matched as PEFT matches it (a plain suffix): PEFT’s own ["classifier", "score"] takes DistilBERT’s pre_classifier too, and not BERT’s pooler', () => {
    const read = (name: string) => {
      const dir = path.join(DIR, `seqcls-lora-${name}`)
      const config = { ...(JSON.parse(readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>), modules_to_save: ['classifier', 'score'] }
      return [...readPeftAdapter(name as 'bert', JSON.stringify(config), new Uint8Array(readFileSync(path.join(dir, 'adapter_model.safetensors')))).head.keys()].sort()
    }
    expect(read('distilbert')).toEqual(['classifier.bias', 'classifier.weight', 'pre_classifier.bias', 'pre_classifier.weight'])
    expect(read('bert')).toEqual(['classifier.bias', 'classifier.weight'])
  })
})
