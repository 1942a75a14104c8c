// Issue 16: the playground's chat mode for a Hugging Face decoder whose tokenizer_config.json has a
// chat_template. Through the family's generate (what the worker runs for the page): the
// conversation is rendered by the template (the expected string written here by hand), the reply
// is greedy and ends at the tokenizer's eos token, token for token as the PyTorch reference
// (make_fixtures.py's chat prompt on the tiny GPT-2), before and after a run.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import { hfFamily, holdHf, type HeldHf } from '../session/families/hf'
import { Tuning } from '../train/fineTune'
import type { PlaygroundAnswer } from '../types/playground'
import { loadHfBundle, mapSource } from './hfLoad'

const DIR = path.join(__dirname, 'fixtures')
const REF = JSON.parse(readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, { chat: { prompt: number[]; greedy: number[]; eos: number } }>

// ChatML's special tokens in a small WordPiece vocabulary (as generate.test.ts: the ids
// make_fixtures.py's chat reference was computed on)
const WORDS = ['[UNK]', '<|im_start|>', '<|im_end|>', 'system', 'user', 'assistant', 'be', 'brief', 'the', 'whale', ...Array.from({ length: 86 }, (_, i) => `w${i + 10}`)]
const TOKENIZER = {
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

/** The fixture with the chat tokenizer; `eos` is the tokenizer's end-of-turn token (made a
 *  special token, so replies are shown without it). */
async function held(name: string, generationConfig: object | null, eos = '<|im_end|>'): Promise<HeldHf> {
  const enc = (s: string) => new TextEncoder().encode(s)
  const special = ['[UNK]', '<|im_start|>', '<|im_end|>', ...(eos.startsWith('<') ? [] : [eos])]
  const tokenizer = { ...TOKENIZER, added_tokens: special.map((content) => ({ id: WORDS.indexOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })) }
  const files = new Map<string, Uint8Array>([
    ['config.json', enc(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'))],
    ['model.safetensors', new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))],
    ['tokenizer.json', enc(JSON.stringify(tokenizer))],
    ['tokenizer_config.json', enc(JSON.stringify({ eos_token: eos, chat_template: CHATML }))],
    ...(generationConfig ? [['generation_config.json', enc(JSON.stringify(generationConfig))] as [string, Uint8Array]] : []),
  ])
  return holdHf(await loadHfBundle(mapSource(files)), new Map(), [...files.keys()], `tiny-chat-${name}`, 'hf-files:chat', 'in a test')
}

async function chat(h: HeldHf, greedy: boolean): Promise<PlaygroundAnswer[]> {
  const answers: PlaygroundAnswer[] = []
  await hfFamily.generate!(h, { requestId: 'c', prompt: 'the whale', maxTokens: 12, temperature: 0, topK: 0, seed: 1, chat: { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'the whale' }], greedy } }, (a) => answers.push(a), () => false)
  return answers
}

const RENDERED = '<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nthe whale<|im_end|>\n<|im_start|>assistant\n'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('the playground chat on a model with a chat template', () => {
  it('renders the conversation with the template, replies greedily up to the eos token, and says there is no run to compare yet', async () => {
    // PyTorch's greedy reply on the Llama fixture starts 69, 35, 95 (w69 w35 w95): with w95 as the
    // end-of-turn token the reply is "w69 w35", ended there, not after 12 tokens
    expect(REF['llama-gqa-tied']!.chat.greedy.slice(0, 3)).toEqual([69, 35, 95])
    const h = await held('llama-gqa-tied', null, 'w95')
    expect(h.summary.card).toMatchObject({ chatTemplate: true, generationConfig: 'greedy decoding (it does not ask to sample)' })
    const tensors = tf.memory().numTensors
    const answers = await chat(h, true)
    expect(answers).toEqual([
      { type: 'generation', requestId: 'c', which: 'before', text: 'w69 w35', done: true, stopped: false, prompt: RENDERED },
      { type: 'playground', requestId: 'c', message: 'No language-model run yet: train on a plain-text dataset to compare with the fine-tuned model.' },
    ])
    expect(tf.memory().numTensors).toBe(tensors)
    h.body.dispose()
  })

  it('after a LoRA run the tuned model answers too (LoRA with B = 0: the same reply); with greedy off it follows generation_config.json (do_sample false here: the greedy reply)', async () => {
    // generation_config.json asks for greedy (do_sample false): "as the model says" is greedy too
    const h = await held('gpt2', { do_sample: false, eos_token_id: 2, max_new_tokens: 50 })
    const tuning = new Tuning(h.body, { ...DEFAULTS, method: 'lora', loraRank: 2, loraTargets: 'qkv' }, null)
    h.tuning = tuning
    const answers = await chat(h, false)
    const ref = REF.gpt2!.chat
    const reply = ref.greedy.filter((id) => id !== ref.eos).map((id) => WORDS[id]).join(' ')
    expect(answers.map((a) => (a.type === 'generation' ? [a.which, a.text, a.prompt] : a))).toEqual([
      ['before', reply, RENDERED],
      ['after', reply, RENDERED],
    ])
    tuning.dispose()
    h.body.dispose()
  })

  it('a model without a chat template refuses a chat by name', async () => {
    const enc = (s: string) => new TextEncoder().encode(s)
    const files = new Map<string, Uint8Array>([
      ['config.json', enc(readFileSync(path.join(DIR, 'gpt2', 'config.json'), 'utf8'))],
      ['model.safetensors', new Uint8Array(readFileSync(path.join(DIR, 'gpt2', 'model.safetensors')))],
      ['tokenizer.json', enc(JSON.stringify(TOKENIZER))],
    ])
    const h = holdHf(await loadHfBundle(mapSource(files)), new Map(), [...files.keys()], 'plain-gpt2', 'hf-files:plain', 'in a test')
    expect(h.summary.card?.chatTemplate).toBeUndefined()
    expect(await chat(h, true)).toEqual([{ type: 'playground', requestId: 'c', message: "plain-gpt2 has no chat template (tokenizer_config.json's chat_template): continue a text prompt instead." }])
    h.body.dispose()
  })
})

describe('the playground continues a text prompt', () => {
  it('answers the continuation alone, which the page shows after the prompt (once): the reference greedy tokens, spaced as the whole text decodes', async () => {
    // make_fixtures.py's PROMPT [3, 14, 15, 9, 2] is "system w14 w15 whale <|im_end|>" in this
    // vocabulary; PyTorch's greedy continuation on the Llama fixture starts 10 10 10 10 10 23 27 27
    const ref = REF['llama-gqa-tied'] as unknown as { prompt: number[]; greedy: number[] }
    expect(ref.prompt).toEqual([3, 14, 15, 9, 2])
    const h = await held('llama-gqa-tied', null, 'w95')
    const answers: PlaygroundAnswer[] = []
    await hfFamily.generate!(h, { requestId: 't', prompt: 'system w14 w15 whale <|im_end|>', maxTokens: 8, temperature: 0, topK: 0, seed: 1 }, (a) => answers.push(a), () => false)
    const words = ref.greedy.slice(0, 8).map((id) => WORDS[id]).join(' ')
    expect(words).toBe('w10 w10 w10 w10 w10 w23 w27 w27')
    expect(answers[0]).toEqual({ type: 'generation', requestId: 't', which: 'before', text: ` ${words}`, done: true, stopped: false })
    h.body.dispose()
  })
})
