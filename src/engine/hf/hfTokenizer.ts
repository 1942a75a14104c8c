/**
 * A Hugging Face model's tokenizer from its own files: `tokenizer.json` through
 * @huggingface/tokenizers (BPE, WordPiece, Unigram with their normalizers and pre-tokenizers;
 * nothing written by hand here) and `tokenizer_config.json` for the special tokens, padding
 * side, maximum length and the chat template, rendered by @huggingface/jinja.
 */
import { Template } from '@huggingface/jinja'
import { Tokenizer } from '@huggingface/tokenizers'
import { ModelLoadError } from '../models/modelLoadError'

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {})
  content: string
}

export interface HfTokenizer {
  readonly vocabSize: number
  readonly bosToken: string | null
  readonly eosToken: string | null
  readonly padToken: string | null
  readonly bosId: number | null
  readonly eosId: number | null
  /** The pad id, falling back to eos (GPT-2 and Llama define no pad token). */
  readonly padId: number | null
  readonly paddingSide: 'left' | 'right'
  /** model_max_length when the config gives a real one (tokenizers use 1e30 for "none"). */
  readonly maxLength: number | null
  readonly hasChatTemplate: boolean
  /** tokenizer_config.json's chat_template (the default one of a named list), or null. */
  readonly chatTemplate: string | null
  /** The special tokens' text by their config names (bos_token, eos_token, …), as the chat
   *  template reads them. */
  readonly specialTokens: Readonly<Record<string, string>>
  encode(text: string, opts?: { addSpecialTokens?: boolean; truncate?: number }): number[]
  /** A pair for encoders (BERT: [CLS] a [SEP] b [SEP]) with its token type ids. */
  encodePair(a: string, b: string): { ids: number[]; tokenTypeIds: number[] }
  /** `cleanUpSpaces` overrides the config's clean_up_tokenization_spaces (" ." → "."). */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean; cleanUpSpaces?: boolean }): string
  /** The chat template rendered to text; throws when the model has none. */
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string
  /** Pads (or truncates) rows to one length on the configured side: ids and attention mask. */
  padBatch(rows: number[][], length?: number): { ids: number[][]; mask: number[][] }
}

function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content
  return null
}

function parseJson(text: string, file: string, todo: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    throw new ModelLoadError(`${file}: is not JSON. ${todo}`, file)
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ModelLoadError(`${file}: is not a JSON object. ${todo}`, file)
  return v as Record<string, unknown>
}

/** Builds the tokenizer. `tokenizer.json` is required (a model without one is refused by name);
 *  `tokenizer_config.json` may be absent (no chat template, right padding). */
export function loadHfTokenizer(tokenizerJsonText: string | null | undefined, tokenizerConfigText?: string | null): HfTokenizer {
  if (!tokenizerJsonText) {
    throw new ModelLoadError('tokenizer.json: the model has none. The studio reads tokenizers in the tokenizer.json format: choose a repository that has one (most do; older ones with only vocab.txt or merges.txt can be converted with the tokenizers library).', 'tokenizer.json')
  }
  const json = parseJson(tokenizerJsonText, 'tokenizer.json', 'Choose the tokenizer.json from the model repository.')
  if (!json.model || typeof json.model !== 'object') throw new ModelLoadError('tokenizer.json: has no "model" section. Choose the tokenizer.json from the model repository.', 'tokenizer.json')
  const config = tokenizerConfigText ? parseJson(tokenizerConfigText, 'tokenizer_config.json', 'Choose the tokenizer_config.json from the model repository.') : {}
  let tok: Tokenizer
  try {
    tok = new Tokenizer(json, config)
  } catch (e) {
    throw new ModelLoadError(`tokenizer.json: could not be read (${e instanceof Error ? e.message : String(e)}). Choose the tokenizer.json from the model repository.`, 'tokenizer.json')
  }
  const id = (t: string | null) => (t == null ? null : (tok.token_to_id(t) ?? null))
  const bosToken = tokenText(config.bos_token)
  const eosToken = tokenText(config.eos_token)
  const padToken = tokenText(config.pad_token)
  const bosId = id(bosToken)
  const eosId = id(eosToken)
  const padId = id(padToken) ?? eosId
  const paddingSide = config.padding_side === 'left' ? 'left' : 'right'
  const mml = config.model_max_length
  const maxLength = typeof mml === 'number' && mml > 0 && mml < 1e9 ? mml : null
  // chat_template: a string, or a list of named templates ("default", "tool_use", …)
  let template: string | null = null
  const ct = config.chat_template
  if (typeof ct === 'string') template = ct
  else if (Array.isArray(ct)) {
    const named = ct as { name?: string; template?: string }[]
    template = (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null
  }
  let compiled: Template | null = null
  const vocabSize = tok.get_vocab(true).size

  const specialTokens: Record<string, string> = {}
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) {
    const t = tokenText(config[key])
    if (t != null) specialTokens[key] = t
  }

  return {
    vocabSize,
    bosToken,
    eosToken,
    padToken,
    bosId,
    eosId,
    padId,
    paddingSide,
    maxLength,
    hasChatTemplate: template != null,
    chatTemplate: template,
    specialTokens,
    encode(text, opts = {}) {
      const ids = tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids
      const limit = opts.truncate ?? null
      return limit != null && ids.length > limit ? ids.slice(0, limit) : ids
    },
    encodePair(a, b) {
      const e = tok.encode(a, { text_pair: b, add_special_tokens: true, return_token_type_ids: true })
      return { ids: e.ids, tokenTypeIds: e.token_type_ids }
    },
    decode(ids, opts = {}) {
      return tok.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false, ...(opts.cleanUpSpaces != null ? { clean_up_tokenization_spaces: opts.cleanUpSpaces } : {}) })
    },
    applyChatTemplate(messages, opts = {}) {
      if (template == null) throw new ModelLoadError('tokenizer_config.json: has no chat_template, so this model has no chat format. Use plain text prompts, or a chat (-Instruct) version of the model.', 'tokenizer_config.json')
      try {
        compiled ??= new Template(template)
      } catch (e) {
        throw new ModelLoadError(`tokenizer_config.json: its chat_template could not be read (${e instanceof Error ? e.message : String(e)}).`, 'tokenizer_config.json')
      }
      return compiled.render({ messages, add_generation_prompt: opts.addGenerationPrompt ?? false, ...specialTokens })
    },
    padBatch(rows, length) {
      const len = length ?? Math.max(0, ...rows.map((r) => r.length))
      const pad = padId ?? 0
      const ids: number[][] = []
      const mask: number[][] = []
      for (const r0 of rows) {
        const r = r0.length > len ? r0.slice(0, len) : r0
        const fill = new Array<number>(len - r.length).fill(pad)
        const ones = new Array<number>(r.length).fill(1)
        const zeros = new Array<number>(len - r.length).fill(0)
        ids.push(paddingSide === 'left' ? [...fill, ...r] : [...r, ...fill])
        mask.push(paddingSide === 'left' ? [...zeros, ...ones] : [...ones, ...zeros])
      }
      return { ids, mask }
    },
  }
}
