// Generation with Hugging Face decoders (src/engine/hf/generate.ts) against the independent
// PyTorch reference (scripts/hf-reference/make_fixtures.py: greedy search recomputing the whole
// prefix, with and without the repetition penalty, and a chat prompt stopping at its eos), the
// key/value cache against the reference logits position by position, and the sampling filters
// on distributions worked out by hand.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyRepetitionPenalty, argMax, generate, generateText, generationSettings, nextTokenLogits, sampleFrom, samplingProbabilities, seededRandom } from './generate'
import { parseGenerationConfig } from './hfLoad'
import { HfModel, KvCache, buildHfModel } from './hfModel'
import { loadHfTokenizer } from './hfTokenizer'
import { parseSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
interface Gen { greedy: number[]; minMargin: number }
interface DecoderRef {
  ids: number[][]
  logits: number[]
  shape: number[]
  prompt: number[]
  greedy: number[]
  greedyRepetitionPenalty: Gen & { penalty: number }
  chat?: Gen & { prompt: number[]; eos: number }
}
const REF = JSON.parse(readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, DecoderRef>
const configText = (name: string) => readFileSync(path.join(DIR, name, 'config.json'), 'utf8')
const load = (name: string): HfModel => buildHfModel(configText(name), parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors'))), `${name}/model.safetensors`).tensors)

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe.each(['gpt2', 'gpt2-prefixed', 'llama-gqa-tied', 'llama-untied'])('generation on fixture %s', (name) => {
  let model: HfModel
  const ref = REF[name]!
  beforeAll(() => {
    model = load(name)
  })
  afterAll(() => model.dispose())

  it('the key/value cache, fed one token at a time, gives the reference logits at every position (1e-4)', async () => {
    const [, t, v] = ref.shape as [number, number, number]
    for (let row = 0; row < 2; row++) {
      const cache = new KvCache(model.config.nLayers)
      for (let pos = 0; pos < t; pos++) {
        const logits = nextTokenLogits(model, [ref.ids[row]![pos]!], cache)
        const got = await logits.data()
        logits.dispose()
        const want = ref.logits.slice((row * t + pos) * v, (row * t + pos + 1) * v)
        let worst = 0
        for (let j = 0; j < v; j++) worst = Math.max(worst, Math.abs(got[j]! - want[j]!))
        expect(worst, `row ${row} position ${pos}`).toBeLessThan(1e-4)
      }
      expect(cache.length).toBe(t)
      cache.dispose()
    }
  })

  it('greedy decoding agrees token for token with the reference, with the cache and recomputing the prefix', async () => {
    expect((await generate(model, ref.prompt, { maxNewTokens: ref.greedy.length })).ids).toEqual(ref.greedy)
    expect((await generate(model, ref.prompt, { maxNewTokens: ref.greedy.length, useCache: false })).ids).toEqual(ref.greedy)
  })

  it('greedy decoding with the repetition penalty agrees token for token with the reference', async () => {
    const r = ref.greedyRepetitionPenalty
    const got = await generate(model, ref.prompt, { maxNewTokens: r.greedy.length, repetitionPenalty: r.penalty })
    expect(got.ids).toEqual(r.greedy)
    expect(got.stoppedBy).toBe('length')
  })

  it('the tensor count stays flat over every generated token and returns to where it was', async () => {
    const before = tf.memory().numTensors
    const counts: number[] = []
    await generate(model, ref.prompt, { maxNewTokens: 10, doSample: true, topK: 20, topP: 0.9, temperature: 0.8, repetitionPenalty: 1.2, seed: 3, onToken: () => void counts.push(tf.memory().numTensors) })
    expect(counts).toHaveLength(10)
    // the cache holds 2 tensors per block once the prompt has run; nothing else survives a step
    expect(new Set(counts)).toEqual(new Set([before + 2 * model.config.nLayers]))
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('stopping', () => {
  let model: HfModel
  const ref = REF.gpt2!
  beforeAll(() => {
    model = load('gpt2')
  })
  afterAll(() => model.dispose())

  it('stops after an eos token (included), at the context length, when onToken says so, and when aborted', async () => {
    // the reference's 3rd greedy token is 52, its first occurrence
    expect(ref.greedy.indexOf(52)).toBe(2)
    expect(await generate(model, ref.prompt, { maxNewTokens: 12, eosTokenIds: [52] })).toMatchObject({ ids: ref.greedy.slice(0, 3), stoppedBy: 'eos' })
    // n_positions is 32: a 5-token prompt leaves room for 27 more, and the 28th is predicted from 32 positions
    const long = await generate(model, ref.prompt, { maxNewTokens: 100 })
    expect([long.ids.length, long.stoppedBy]).toEqual([28, 'context'])
    expect(long.ids.slice(0, 12)).toEqual(ref.greedy)
    expect(await generate(model, ref.prompt, { maxNewTokens: 12, onToken: (_, i) => i < 4 })).toMatchObject({ ids: ref.greedy.slice(0, 5), stoppedBy: 'stopped' })
    const ac = new AbortController()
    expect(await generate(model, ref.prompt, { maxNewTokens: 12, signal: ac.signal, onToken: (_, i) => void (i === 1 && ac.abort()) })).toMatchObject({ ids: ref.greedy.slice(0, 2), stoppedBy: 'stopped' })
  })

  it('refuses a prompt that fills the context, and an empty one, with what to do', async () => {
    await expect(generate(model, new Array<number>(33).fill(1))).rejects.toThrow('The prompt is 33 tokens; this model reads at most 32 (its context). Shorten the prompt.')
    expect((await generate(model, new Array<number>(32).fill(1), { maxNewTokens: 5 })).stoppedBy).toBe('context')
    await expect(generate(model, [])).rejects.toThrow('The prompt is empty')
  })
})

describe('settings from generation_config.json, config.json and the tokenizer', () => {
  it('generation_config.json first; eos from config.json, then the tokenizer, when it has none; the playground’s choices win', () => {
    const gen = parseGenerationConfig('{"eos_token_id":[2,7],"do_sample":true,"temperature":0.6,"top_p":0.9,"max_new_tokens":64,"repetition_penalty":1.1}')
    expect(generationSettings(gen, { configText: '{"eos_token_id":5,"pad_token_id":0}' })).toEqual({ eosTokenIds: [2, 7], padTokenId: 0, doSample: true, temperature: 0.6, topP: 0.9, maxNewTokens: 64, repetitionPenalty: 1.1 })
    expect(generationSettings(parseGenerationConfig(null), { configText: '{"eos_token_id":5}', tokenizer: { eosId: 9 } })).toEqual({ eosTokenIds: [5], padTokenId: 5 })
    expect(generationSettings(parseGenerationConfig(null), { tokenizer: { eosId: 9 } })).toEqual({ eosTokenIds: [9], padTokenId: 9 })
    expect(generationSettings(gen, {}, { doSample: false, maxNewTokens: 3, topK: undefined })).toMatchObject({ doSample: false, maxNewTokens: 3, temperature: 0.6 })
    expect(generationSettings(gen, {}, {}).topK).toBeUndefined()
  })
})

describe('logits processing, on numbers worked out by hand', () => {
  it('repetition penalty divides positive and multiplies negative logits of seen tokens, once each', () => {
    const l = new Float32Array([2, -1, 0.5, 3])
    applyRepetitionPenalty(l, [0, 1, 1, 1], 2)
    expect([...l]).toEqual([1, -2, 0.5, 3])
  })

  it('top-k keeps every token at least as likely as the k-th (ties kept), top-p keeps the token that crosses p', () => {
    const ln = (ps: number[]) => new Float32Array(ps.map(Math.log))
    // top-k 2 of [0.1, 0.4, 0.3, 0.2] keeps 0.4 and 0.3 → 4/7, 3/7
    expectClose(samplingProbabilities(ln([0.1, 0.4, 0.3, 0.2]), { topK: 2 }), [0, 4 / 7, 3 / 7, 0])
    // a tie at the k-th value keeps both
    expectClose(samplingProbabilities(ln([0.1, 0.4, 0.25, 0.25]), { topK: 2 }), [0, 0.4 / 0.9, 0.25 / 0.9, 0.25 / 0.9])
    // top-p 0.75 of [0.5, 0.3, 0.2]: 0.5 < 0.75 so 0.3 stays; 0.8 ≥ 0.75 so 0.2 goes → 5/8, 3/8
    expectClose(samplingProbabilities(ln([0.5, 0.3, 0.2]), { topP: 0.75, topK: 0 }), [0.625, 0.375, 0])
    // top-p 0.5: the first token alone reaches it
    expectClose(samplingProbabilities(ln([0.5, 0.3, 0.2]), { topP: 0.5, topK: 0 }), [1, 0, 0])
    // a tiny top-p keeps the most likely token
    expectClose(samplingProbabilities(ln([0.2, 0.3, 0.5]), { topP: 0.01, topK: 0 }), [0, 0, 1])
    // temperature 2 on logits [0, ln 4]: probabilities ∝ [1, 2]
    expectClose(samplingProbabilities(new Float32Array([0, Math.log(4)]), { temperature: 2 }), [1 / 3, 2 / 3])
  })

  it('samples with the filtered frequencies, the same draws for the same seed; arg-max takes the first of ties', () => {
    const probs = samplingProbabilities(new Float32Array([0.5, 0.3, 0.2].map(Math.log)), { topP: 0.75, topK: 0 })
    const r = seededRandom(42)
    const counts = [0, 0, 0]
    for (let i = 0; i < 20_000; i++) counts[sampleFrom(probs, r)]!++
    expect(counts[2]).toBe(0)
    expect(counts[0]! / 20_000).toBeCloseTo(0.625, 1.7) // within ±0.01
    const a = seededRandom(7)
    const b = seededRandom(7)
    expect(Array.from({ length: 5 }, () => sampleFrom(probs, a))).toEqual(Array.from({ length: 5 }, () => sampleFrom(probs, b)))
    expect(argMax([1, 3, 3, 2])).toBe(1)
  })

  it('sampling with top-k 1 is greedy decoding; a seed gives the same text twice and another seed another text', async () => {
    const model = load('llama-gqa-tied')
    const ref = REF['llama-gqa-tied']!
    expect((await generate(model, ref.prompt, { maxNewTokens: 12, doSample: true, topK: 1, temperature: 1.5, seed: 5 })).ids).toEqual(ref.greedy)
    const s = (seed: number) => generate(model, ref.prompt, { maxNewTokens: 12, doSample: true, temperature: 1.5, topK: 0, seed })
    const [a, b, c] = [await s(1), await s(1), await s(2)]
    expect(a.ids).toEqual(b.ids)
    expect(a.ids).not.toEqual(c.ids)
    expect(a.ids).not.toEqual(ref.greedy)
    model.dispose()
  })
})

function expectClose(got: ArrayLike<number>, want: number[]): void {
  expect(got.length).toBe(want.length)
  for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i]!, 6)
}

// A small WordPiece vocabulary with ChatML's special tokens, so a conversation renders through the
// chat template and tokenises to ids the fixtures know (make_fixtures.py's CHAT_IDS, by hand).
const WORDS = ['[UNK]', '<|im_start|>', '<|im_end|>', 'system', 'user', 'assistant', 'be', 'brief', 'the', 'whale', ...Array.from({ length: 86 }, (_, i) => `w${i + 10}`)]
const CHAT_TOKENIZER = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: ['[UNK]', '<|im_start|>', '<|im_end|>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: null,
  pre_tokenizer: { type: 'Whitespace' },
  post_processor: null,
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(WORDS.map((t, i) => [t, i])) },
}
const CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

describe.each(['gpt2', 'llama-gqa-tied', 'llama-untied'])('a conversation through the chat template on %s', (name) => {
  it('renders, tokenises to the reference prompt, stops at the tokenizer’s eos and agrees token for token', async () => {
    const ref = REF[name]!.chat!
    const tokenizer = loadHfTokenizer(JSON.stringify(CHAT_TOKENIZER), JSON.stringify({ eos_token: '<|im_end|>', chat_template: CHATML }))
    const model = load(name)
    const before = tf.memory().numTensors
    const r = await generateText({ model, tokenizer, generation: parseGenerationConfig(null), configText: configText(name) }, [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'the whale' }], { maxNewTokens: 12 })
    expect(r.promptText).toBe('<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nthe whale<|im_end|>\n<|im_start|>assistant\n')
    expect(r.promptIds).toEqual(ref.prompt)
    expect(r.ids).toEqual(ref.greedy)
    expect(r.stoppedBy).toBe(ref.greedy.at(-1) === ref.eos ? 'eos' : 'length')
    expect(r.text).toBe(ref.greedy.filter((id) => id !== ref.eos).map((id) => WORDS[id]).join(' '))
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  })
})
