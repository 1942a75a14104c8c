// A tiny BERT from files on disk for the browser tests (hf-models.spec.ts, hf-pooling.spec.ts):
// a WordPiece tokenizer.json in bert-base-uncased's layout over a small vocabulary, random
// weights in BertModel's layout (with the pooler BertModel checkpoints carry), its config.json,
// and reviews whose label one word carries.
import { safetensors } from './hfHub'

export const WORDS = ['the', 'a', 'film', 'book', 'was', 'is', 'really', 'quite', 'very', 'plot', 'acting', 'story', 'and', 'but', 'ending', 'music', 'great', 'awful', 'i', 'it', 'this', 'felt', 'so']
export const BERT_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS, '.', ',', '##s']

/** A WordPiece tokenizer.json in the layout of bert-base-uncased's (lower-casing BertNormalizer,
 *  BertPreTokenizer, [CLS] $A [SEP] template), over a small vocabulary. */
export function bertTokenizerJson(): object {
  const vocab = Object.fromEntries(BERT_VOCAB.map((w, i) => [w, i]))
  const special = (content: string) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  }
}

export function tinyBert(hidden: number): Buffer {
  let s = 777
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => rnd() * scale)
  const ones = (n: number) => new Float32Array(n).fill(1)
  const zeros = (n: number) => new Float32Array(n)
  const h = hidden
  const ff = 2 * h
  const t: [string, number[], Float32Array][] = [
    ['embeddings.word_embeddings.weight', [BERT_VOCAB.length, h], fill(BERT_VOCAB.length * h, 0.5)],
    ['embeddings.position_embeddings.weight', [64, h], fill(64 * h, 0.1)],
    ['embeddings.token_type_embeddings.weight', [2, h], fill(2 * h, 0.1)],
    ['embeddings.LayerNorm.weight', [h], ones(h)],
    ['embeddings.LayerNorm.bias', [h], zeros(h)],
  ]
  for (let i = 0; i < 2; i++) {
    const p = `encoder.layer.${i}.`
    for (const m of ['query', 'key', 'value']) t.push([`${p}attention.self.${m}.weight`, [h, h], fill(h * h, 0.3)], [`${p}attention.self.${m}.bias`, [h], zeros(h)])
    t.push([`${p}attention.output.dense.weight`, [h, h], fill(h * h, 0.3)], [`${p}attention.output.dense.bias`, [h], zeros(h)])
    t.push([`${p}attention.output.LayerNorm.weight`, [h], ones(h)], [`${p}attention.output.LayerNorm.bias`, [h], zeros(h)])
    t.push([`${p}intermediate.dense.weight`, [ff, h], fill(ff * h, 0.3)], [`${p}intermediate.dense.bias`, [ff], zeros(ff)])
    t.push([`${p}output.dense.weight`, [h, ff], fill(h * ff, 0.3)], [`${p}output.dense.bias`, [h], zeros(h)])
    t.push([`${p}output.LayerNorm.weight`, [h], ones(h)], [`${p}output.LayerNorm.bias`, [h], zeros(h)])
  }
  // BertModel checkpoints carry the pooler BertForSequenceClassification's head starts from
  t.push(['pooler.dense.weight', [h, h], fill(h * h, 0.3)], ['pooler.dense.bias', [h], zeros(h)])
  return safetensors(t)
}

/** Reviews whose label is carried by one word ("great" or "awful") among neutral ones. */
export function reviews(n: number): string {
  let s = 99
  const rnd = (k: number) => ((s = (s * 1103515245 + 12345) % 2147483648) % k)
  const neutral = WORDS.filter((w) => w !== 'great' && w !== 'awful')
  const rows = ['text,label']
  for (let i = 0; i < n; i++) {
    const good = i % 2 === 0
    const words = Array.from({ length: 4 + rnd(4) }, () => neutral[rnd(neutral.length)]!)
    words.splice(rnd(words.length + 1), 0, good ? 'great' : 'awful')
    rows.push(`"${words.join(' ')}.",${good ? 'positive' : 'negative'}`)
  }
  return rows.join('\n') + '\n'
}

/** BertModel's config.json for `tinyBert(16)` (2 blocks, 2 heads, 64 positions). */
export const BERT_CONFIG = { model_type: 'bert', architectures: ['BertModel'], vocab_size: BERT_VOCAB.length, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, hidden_act: 'gelu', max_position_embeddings: 64, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0 }

/** A file as Playwright's setInputFiles takes it. */
export const inputFile = (name: string, body: string | Buffer) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.isBuffer(body) ? body : Buffer.from(body) })

/** tokenizer.json and tokenizer_config.json of the tiny BERT. */
export const bertTokenizerFiles = () => [inputFile('tokenizer.json', JSON.stringify(bertTokenizerJson())), inputFile('tokenizer_config.json', JSON.stringify({ do_lower_case: true, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]', model_max_length: 64 }))]
