/**
 * Rows to token-id arrays, ready to become tensors one batch at a time in the training
 * loop. Plain typed arrays only: no tfjs here, so this runs and tests anywhere.
 */
import type { Dataset } from './types'

/** The part of a tokenizer this needs (the BPE tokenizer has this shape). */
export interface TokenizerLike {
  encode(text: string): number[]
  padId: number
  bosId: number
  /** false: a classified text starts with its own first token, not `bosId` (GPT-2, whose
   *  tokenizer adds nothing, so its sequence-classification head reads the text as
   *  `AutoTokenizer` gives it). Default true. */
  classificationLead?: boolean
}

export interface ClassificationArrays {
  n: number
  seqLen: number
  /** [n * seqLen] token ids: BOS (unless `classificationLead` is false), the text's tokens, then padding. */
  ids: Int32Array
  /** [n * seqLen] 1 on real tokens (BOS included), 0 on padding. */
  mask: Float32Array
  /** [n] class index of each row in the first label column (or `labelColumn`). */
  labels: Int32Array
  /** [n] class index per label column, for multitask heads. */
  labelsByColumn: Record<string, Int32Array>
  /** Rows whose text was longer than seqLen and got cut. */
  truncated: number
}

export interface ClassificationOptions {
  seqLen: number
  /** Which rows (indices into dataset.rows); all when left out. */
  indices?: readonly number[]
  /** The label column for `labels`; the first label column by default. */
  labelColumn?: string
}

export function encodeClassification(
  dataset: Dataset,
  tokenizer: TokenizerLike,
  options: ClassificationOptions,
): ClassificationArrays {
  const { seqLen } = options
  if (!(Number.isInteger(seqLen) && seqLen >= 2)) throw new RangeError(`seqLen must be an integer ≥ 2, got ${seqLen}`)
  const textCol = dataset.roles.text === undefined ? -1 : dataset.columns.indexOf(dataset.roles.text)
  if (textCol < 0) throw new Error(`Dataset ${dataset.name} has no text column to encode`)
  const indices = options.indices ?? dataset.rows.map((_, i) => i)
  const n = indices.length
  const ids = new Int32Array(n * seqLen).fill(tokenizer.padId)
  const mask = new Float32Array(n * seqLen)
  let truncated = 0

  const labelsByColumn: Record<string, Int32Array> = {}
  const lookups = dataset.roles.labels.map((name) => {
    const classIndex = new Map((dataset.classes[name] ?? []).map((c, i) => [c.label, i]))
    const out = new Int32Array(n)
    labelsByColumn[name] = out
    return { name, col: dataset.columns.indexOf(name), classIndex, out }
  })

  for (let k = 0; k < n; k++) {
    const r = indices[k] as number
    const row = dataset.rows[r]
    if (!row) throw new RangeError(`Row index ${r} is outside the dataset (${dataset.rows.length} rows)`)
    const tokens = tokenizer.encode(row[textCol] ?? '')
    const base = k * seqLen
    // the lead token, unless the tokenizer adds none (an empty text still gets it: a row
    // needs one real token to be read)
    const lead = tokenizer.classificationLead === false && tokens.length > 0 ? 0 : 1
    if (lead) {
      ids[base] = tokenizer.bosId
      mask[base] = 1
    }
    const take = Math.min(tokens.length, seqLen - lead)
    if (tokens.length > take) truncated++
    for (let t = 0; t < take; t++) {
      ids[base + lead + t] = tokens[t] as number
      mask[base + lead + t] = 1
    }
    for (const l of lookups) {
      const label = (row[l.col] ?? '').trim()
      const c = l.classIndex.get(label)
      if (c === undefined) throw new Error(`Row ${dataset.rowNumbers[r] ?? r + 1}: label "${label}" is not a known class of "${l.name}"`)
      l.out[k] = c
    }
  }
  const primary = options.labelColumn ?? dataset.roles.labels[0]
  const labels = (primary !== undefined ? labelsByColumn[primary] : undefined) ?? new Int32Array(n)
  return { n, seqLen, ids, mask, labels, labelsByColumn, truncated }
}

export interface LanguageModelBlocks {
  /** Number of blocks. */
  n: number
  /** seqLen + 1: inputs are [0, seqLen), targets [1, seqLen]. */
  blockLen: number
  /** [n * blockLen] token ids. */
  blocks: Int32Array
  /** Tokens in the stream (BOS per text included). */
  tokens: number
  /** Tokens at the end that did not fill a block. */
  droppedTokens: number
}

/**
 * Concatenates the texts (each after a BOS) into one token stream and cuts it into blocks
 * of seqLen + 1 that overlap by one token, so every token is a target exactly once.
 */
export function encodeLanguageModel(
  texts: readonly string[],
  tokenizer: TokenizerLike,
  seqLen: number,
): LanguageModelBlocks {
  if (!(Number.isInteger(seqLen) && seqLen >= 1)) throw new RangeError(`seqLen must be a positive integer, got ${seqLen}`)
  const stream: number[] = []
  for (const text of texts) {
    stream.push(tokenizer.bosId)
    for (const t of tokenizer.encode(text)) stream.push(t)
  }
  const blockLen = seqLen + 1
  const n = stream.length >= blockLen ? Math.floor((stream.length - 1) / seqLen) : 0
  const blocks = new Int32Array(n * blockLen)
  for (let b = 0; b < n; b++) {
    for (let t = 0; t < blockLen; t++) blocks[b * blockLen + t] = stream[b * seqLen + t] as number
  }
  const covered = n === 0 ? 0 : n * seqLen + 1
  return { n, blockLen, blocks, tokens: stream.length, droppedTokens: stream.length - covered }
}

/** The text cells of the given rows (all rows by default), for encodeLanguageModel. */
export function datasetTexts(dataset: Dataset, indices?: readonly number[]): string[] {
  const col = dataset.roles.text === undefined ? -1 : dataset.columns.indexOf(dataset.roles.text)
  if (col < 0) throw new Error(`Dataset ${dataset.name} has no text column`)
  const idx = indices ?? dataset.rows.map((_, i) => i)
  return idx.map((i) => dataset.rows[i]?.[col] ?? '')
}
