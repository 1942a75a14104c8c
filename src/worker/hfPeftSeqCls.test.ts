// Issue 16 point 6, load-back: a SEQ_CLS PEFT adapter chosen as files (the committed exports in
// src/engine/hf/fixtures/seqcls-lora-<name>/, whose logits the independent PyTorch reference
// computed by applying them as PEFT does: apply_seqcls_adapter.py) becomes the loaded model's
// tuning with its LoRA AND its head as the held tuning head: the studio's logits through the
// training loop's own path equal the reference's to 1e-4, the classes are the adapter's
// id2label, and exporting it again writes the same adapter_model.safetensors.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { unzipSync } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import { hfFamily, type HeldHf } from '../engine/session/families/hf'
import type { SessionData } from '../engine/session/family'
import { Session } from '../engine/session/session'
import { FeatureCache } from '../engine/train/featureCache'
import { headLogits } from '../engine/train/forward'
import type { PlaygroundAnswer } from '../engine/types/playground'
import { HfModelHost } from './hfModelHost'
import type { FromWorker } from './protocol'

const FIX = path.join(__dirname, '../engine/hf/fixtures')
const INPUT = JSON.parse(readFileSync(path.join(FIX, 'seqcls-lora-input.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][] }

function tinyTokenizer(n: number): string {
  const vocab = Object.fromEntries(['[UNK]', ...Array.from({ length: n - 1 }, (_, i) => `w${i}`)].map((t, i) => [t, i]))
  return JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab } })
}

function host() {
  const events: FromWorker[] = []
  const data: SessionData = { dataset: null, facts: null, images: null, decoder: null, split: () => { throw new Error('no data') } }
  const session = new Session(data)
  const h = new HfModelHost((e) => events.push(e), {
    fetchFn: async () => new Response(null, { status: 404 }),
    cache: null,
    hold: (held) => session.hold(held),
    loaded: () => (session.loaded?.family === hfFamily ? (session.loaded as HeldHf) : null),
    adopt: (held, tuning) => session.adopt(held, tuning),
    ensureBackend: async () => {},
  })
  return { h, events, session }
}

const file = (dir: string, name: string) => new File([readFileSync(path.join(dir, name))], name)

/** The fixture's base loaded from files, then the committed adapter (+ its labels file) on it. */
async function loadBack(name: string, adapterFolder: string) {
  const { h, events, session } = host()
  const base = path.join(FIX, name)
  const vocab = (JSON.parse(readFileSync(path.join(base, 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size
  await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: [file(base, 'config.json'), file(base, 'model.safetensors'), new File([tinyTokenizer(vocab)], 'tokenizer.json')] } })
  const dir = path.join(FIX, adapterFolder)
  events.length = 0
  await h.handle({ type: 'hfLoad', loadId: 2, source: { kind: 'files', files: ['adapter_config.json', 'adapter_model.safetensors', 'seq_cls_labels.json'].map((n) => file(dir, n)) } })
  expect(events.find((e) => e.type === 'error')).toBeUndefined()
  expect(events.filter((e) => e.type === 'hfLoaded')).toEqual([{ type: 'hfLoaded', loadId: 2, loaded: 'adapter' }])
  const held = session.loaded as HeldHf
  const ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8')) as { logits: number[]; lora: number }
  return { h, held, events, session, ref, dir }
}

async function logitsOf(held: HeldHf): Promise<number[]> {
  const tuning = held.tuning!
  const out = tf.tidy(() => headLogits(held.body, tuning, { input: tf.tensor2d(INPUT.input_ids, undefined, 'int32'), mask: tf.tensor2d(INPUT.attention_mask) }, new FeatureCache(0, false, { train: 0, val: 0 }), tuning.settings, false))
  const v = Array.from(await out.data())
  out.dispose()
  return v
}

const maxDiff = (a: number[], b: number[]) => {
  expect(a).toHaveLength(b.length)
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe.each(['bert', 'distilbert', 'gpt2', 'llama-gqa-tied'])('a SEQ_CLS PEFT adapter loads back onto %s with its head', (name) => {
  it('the LoRA and the head as the held tuning: the reference’s logits, the adapter’s classes, and the same adapter written again', async () => {
    const { held, events, session, ref, dir } = await loadBack(name, `seqcls-lora-${name}`)
    expect(events.find((e) => e.type === 'imported')).toMatchObject({ choice: 'adapter', title: `chosen files + PEFT adapter (r = 2, ${ref.lora} layers, a head for ham, spam, eggs)` })
    const tuning = held.tuning!
    expect(tuning.lora!.layers).toHaveLength(ref.lora)
    expect(tuning.head!.outputDim).toBe(3)
    expect(held.validationSplit).toMatchObject({ kind: 'classification', classes: ['ham', 'spam', 'eggs'] })
    expect(maxDiff(await logitsOf(held), ref.logits)).toBeLessThan(1e-4)
    // the playground's "after" is the adapter (LoRA and head), named as such, and differs from
    // "before" (the base weights with the adapter's head)
    const answers: PlaygroundAnswer[] = []
    await hfFamily.predict(held, 'r1', { kind: 'text', text: 'w1 w2 w3' }, (a) => answers.push(a))
    const [before, after] = answers.filter((a): a is Extract<PlaygroundAnswer, { type: 'prediction' }> => a.type === 'prediction')
    expect(after!.note).toBe('no run yet: the loaded PEFT adapter (its LoRA weights and head)')
    expect(before!.classes.map((c) => c.name)).toEqual(after!.classes.map((c) => c.name))
    expect(Math.max(...before!.classes.map((c, i) => Math.abs(c.prob - after!.classes[i]!.prob)))).toBeGreaterThan(1e-6)
    // out again: the same tensors (LoRA factors and head) byte for byte
    const r = await hfFamily.export(held, { choice: 'adapter', alpha: 1, blend: () => { throw new Error('no blend') }, data: null, metrics: { base: null, tuned: null }, measureAt: async () => null, onProgress: () => {} })
    const files = unzipSync(r.bytes)
    expect(Buffer.from(files['adapter_model.safetensors']!).equals(readFileSync(path.join(dir, 'adapter_model.safetensors')))).toBe(true)
    expect(Buffer.from(files['seq_cls_labels.json']!).equals(readFileSync(path.join(dir, 'seq_cls_labels.json')))).toBe(true)
    session.drop()
  })
})

describe('a regression adapter loads back in the target’s units', () => {
  it('GPT-2: the head predicts the reference’s output, and the scale is its offset (3)', async () => {
    const { held, events, session, ref } = await loadBack('gpt2', 'seqcls-lora-gpt2-regression')
    expect(events.find((e) => e.type === 'imported')).toMatchObject({ title: 'chosen files + PEFT adapter (r = 2, 4 layers, a regression head)' })
    expect(held.validationSplit).toMatchObject({ kind: 'regression', scale: { mean: 3, std: 1 } })
    // the studio's output z is in units of (y − 3) / 1; the reference's score output is y without the offset
    expect(maxDiff(await logitsOf(held), ref.logits)).toBeLessThan(1e-4)
    session.drop()
  })
})

describe('a LoRA-only adapter after a head adapter', () => {
  it('takes the loaded head away with the tuning it was in (no stale classes)', async () => {
    const { h, held, events, session } = await loadBack('gpt2', 'seqcls-lora-gpt2')
    expect(held.seqCls).not.toBeNull()
    const dir = path.join(FIX, 'lora-gpt2')
    events.length = 0
    await h.handle({ type: 'hfLoad', loadId: 3, source: { kind: 'files', files: [file(dir, 'adapter_config.json'), file(dir, 'adapter_model.safetensors')] } })
    expect(events.find((e) => e.type === 'error')).toBeUndefined()
    expect(held.seqCls).toBeNull()
    expect(held.tuning!.head).toBeNull()
    expect(held.tuning!.lora!.layers).toHaveLength(8)
    session.drop()
  })
})
