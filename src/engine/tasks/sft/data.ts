import { Template } from '@huggingface/jinja'
import { parseCsvText } from '../../data/csv'
import type { LmTokenizer } from '../lm'

/**
 * Supervised fine-tuning (instruction tuning) data: rows of prompt → completion, or chat
 * conversations, turned into token ids with a loss mask that counts only the answer
 * (completion or assistant) tokens. Formats read:
 *   - JSON Lines with `prompt` and `completion` (strings);
 *   - JSON Lines with `messages`: [{ role: system | user | assistant, content }], the
 *     format of the widely used hosted fine-tuning APIs;
 *   - CSV with two chosen columns (prompt column, completion column).
 * Problems are collected per row (line number, field, what to do) so a preview can show
 * them; parse* refuses a file whose every row is bad.
 */

export const CHAT_ROLES = ['system', 'user', 'assistant'] as const
export type ChatRole = (typeof CHAT_ROLES)[number]
export interface ChatMessage {
  role: ChatRole
  content: string
}

export type SftRow =
  | { kind: 'completion'; row: number; prompt: string; completion: string }
  | { kind: 'chat'; row: number; messages: ChatMessage[] }

/** A refused row: `row` is the 1-based line (JSONL) or spreadsheet row (CSV, header = 1). */
export interface RowProblem {
  row: number
  message: string
}

export interface ParsedSft {
  rows: SftRow[]
  problems: RowProblem[]
}

/**
 * The built-in LM's chat template (Jinja, rendered by @huggingface/jinja like any Hugging
 * Face model's `chat_template`). A conversation renders as
 *
 *   <bos>{system}\n\nUser: {user}\nAssistant: {assistant}<eos>User: …\nAssistant: {…}<eos>
 *
 * i.e. a system message (if any) as a plain first paragraph, each user turn after "User: ",
 * each assistant turn after "Assistant: " and closed by the end-of-sequence token. With
 * add_generation_prompt it ends with "Assistant:" so the model writes the answer next.
 */
export const TINY_LM_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message.role == 'system' %}{{ message.content }}\n\n" +
  "{% elif message.role == 'user' %}User: {{ message.content }}\n" +
  "{% elif message.role == 'assistant' %}Assistant: {{ message.content }}{{ eos_token }}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}Assistant:{% endif %}"

/** Strings the template writes for the special tokens; encodeWithSpecials maps them to ids. */
export const TINY_LM_SPECIALS = { bos: '<|bos|>', eos: '<|eos|>' } as const

function problem(row: number, message: string): RowProblem {
  return { row, message }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Checks one `messages` array; returns the messages or a problem naming the row. */
export function checkMessages(value: unknown, row: number, where = 'messages'): ChatMessage[] | RowProblem {
  if (!Array.isArray(value) || value.length === 0) return problem(row, `Row ${row}: "${where}" must be a non-empty list of {role, content} objects.`)
  const out: ChatMessage[] = []
  for (const [i, m] of value.entries()) {
    if (!isRecord(m)) return problem(row, `Row ${row}: ${where}[${i}] is not an object: write it as {"role": "user", "content": "…"}.`)
    const role = m.role
    if (typeof role !== 'string' || !(CHAT_ROLES as readonly string[]).includes(role)) {
      return problem(row, `Row ${row}: ${where}[${i}] has the unknown role ${JSON.stringify(role)}: use "system", "user" or "assistant".`)
    }
    if (typeof m.content !== 'string') return problem(row, `Row ${row}: ${where}[${i}] (${role}) has no text "content": give it a string.`)
    if (role === 'assistant' && m.content.trim() === '') return problem(row, `Row ${row}: ${where}[${i}] is an empty assistant answer: write the answer or remove the row.`)
    if (role === 'system' && i !== 0) return problem(row, `Row ${row}: ${where}[${i}] is a system message after the start: move it to the first place.`)
    out.push({ role: role as ChatRole, content: m.content })
  }
  if (!out.some((m) => m.role === 'assistant')) {
    return problem(row, `Row ${row}: "${where}" has no assistant turn, so there is nothing to learn: add {"role": "assistant", "content": "<the answer>"}.`)
  }
  return out
}

/** One JSON object → an SFT row, or a problem. */
export function sftRowFromObject(obj: unknown, row: number): SftRow | RowProblem {
  if (!isRecord(obj)) return problem(row, `Row ${row} is not a JSON object: each line must be {"prompt": …, "completion": …} or {"messages": […]}.`)
  if ('messages' in obj) {
    const messages = checkMessages(obj.messages, row)
    return Array.isArray(messages) ? { kind: 'chat', row, messages } : messages
  }
  if ('prompt' in obj || 'completion' in obj) {
    const { prompt, completion } = obj
    if (typeof prompt !== 'string') return problem(row, `Row ${row}: "prompt" is missing or not text: give it a string (it may be empty).`)
    if (typeof completion !== 'string' || completion.trim() === '') {
      return problem(row, `Row ${row}: "completion" is missing or empty: write the answer the model should learn, or remove the row.`)
    }
    return { kind: 'completion', row, prompt, completion }
  }
  return problem(row, `Row ${row} has neither "prompt"/"completion" nor "messages" (keys: ${Object.keys(obj).join(', ') || 'none'}): rename its fields.`)
}

/** JSON Lines: one object per line; blank lines skipped; the row is the line number. */
export function parseSftJsonl(text: string, fileName = 'the file'): ParsedSft {
  refuseBinary(text, fileName, 'a JSON Lines file with one {"prompt": …, "completion": …} or {"messages": […]} object a line')
  const { rows, problems } = readJsonlRows(text, sftRowFromObject)
  refuseIfNothing(rows.length, problems, fileName)
  refuseMixedKinds(rows, fileName, { chat: 'a chat conversation ({"messages": […]})', completion: 'a prompt/completion row ({"prompt": …, "completion": …})' })
  return { rows, problems }
}

/** A file holds one kind of row. The studio would encode each row by its kind, but the summary,
 *  the playground and the TRL recipe read the file as one format (TRL's trainers take a file's
 *  format from its first row and fail on the others), so a file that mixes them is refused,
 *  naming its first row of the other kind. `words` says what each kind is. */
export function refuseMixedKinds<R extends { kind: string; row: number }>(rows: readonly R[], fileName: string, words: Record<R['kind'], string>): void {
  const first = rows[0]
  const other = first && rows.find((r) => r.kind !== first.kind)
  if (!first || !other) return
  const count = rows.filter((r) => r.kind === other.kind).length
  throw new Error(
    `${fileName} mixes two kinds of row: row ${first.row} is ${words[first.kind as R['kind']]}, but row ${other.row} is ${words[other.kind as R['kind']]}` +
      `${count > 1 ? ` (and ${count - 1} more like it)` : ''}. Each kind is written into the model differently and one file trains one way: ` +
      `rewrite those rows the way row ${first.row} is written, or put them in a file of their own and train on one file at a time.`,
  )
}

/** The lines of a JSON Lines file as rows, each object read by `fromObject` (row = line
 *  number); a line that is not JSON, or an object refused, becomes a named problem. */
export function readJsonlRows<R extends { kind: string }>(text: string, fromObject: (obj: unknown, row: number) => R | RowProblem): { rows: R[]; problems: RowProblem[] } {
  const rows: R[] = []
  const problems: RowProblem[] = []
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return
    let obj: unknown
    try {
      obj = JSON.parse(line)
    } catch {
      problems.push(problem(i + 1, `Row ${i + 1} is not valid JSON: each line of a JSON Lines file is one complete object.`))
      return
    }
    const r = fromObject(obj, i + 1)
    if ('kind' in r) rows.push(r)
    else problems.push(r)
  })
  return { rows, problems }
}

/** CSV with a header; the two chosen columns are the prompt and the completion. */
export function parseSftCsv(text: string, promptColumn: string, completionColumn: string, fileName = 'the file'): ParsedSft {
  refuseBinary(text, fileName, 'a CSV with prompt and completion columns')
  const { records } = parseCsvText(text)
  const header = records[0]?.cells ?? []
  const pi = header.indexOf(promptColumn)
  const ci = header.indexOf(completionColumn)
  for (const [name, idx] of [[promptColumn, pi], [completionColumn, ci]] as const) {
    if (idx < 0) throw new Error(`${fileName} has no column "${name}" (columns: ${header.join(', ')}): choose the prompt and completion columns from these.`)
  }
  if (pi === ci) throw new Error(`The prompt and completion columns are both "${promptColumn}": choose two different columns.`)
  const rows: SftRow[] = []
  const problems: RowProblem[] = []
  for (const rec of records.slice(1)) {
    const prompt = rec.cells[pi] ?? ''
    const completion = rec.cells[ci] ?? ''
    if (completion.trim() === '') {
      problems.push(problem(rec.row, `Row ${rec.row}: the completion column "${completionColumn}" is empty: write the answer the model should learn, or remove the row.`))
      continue
    }
    rows.push({ kind: 'completion', row: rec.row, prompt, completion })
  }
  refuseIfNothing(rows.length, problems, fileName)
  return { rows, problems }
}

function refuseIfNothing(kept: number, problems: RowProblem[], fileName: string): void {
  if (kept > 0) return
  if (problems.length === 0) throw new Error(`${fileName} has no rows: add lines of {"prompt": …, "completion": …} or {"messages": […]}.`)
  throw new Error(`${fileName} has no usable row: ${problems[0]!.message}${moreProblems(problems.length - 1)}`)
}

/** " (and 1 more problem)", " (and 7 more problems)", or nothing. */
export function moreProblems(n: number): string {
  return n > 0 ? ` (and ${n} more problem${n === 1 ? '' : 's'})` : ''
}

/** A binary file (a model's weights, an image) chosen as the rows: refused as such, rather than
 *  as hundreds of lines that are "not valid JSON". `want` says what to choose instead. */
export function refuseBinary(text: string, fileName: string, want: string): void {
  if (text.includes('\u0000')) throw new Error(`${fileName} is not a text file (it holds binary data): choose ${want}.`)
}

// ── rendering and tokens ───────────────────────────────────────────────────────────────

export interface ChatFormat {
  /** A Jinja chat template (Hugging Face's `chat_template`). */
  template: string
  /** Values the template reads besides messages, e.g. bos_token, eos_token. */
  variables: Record<string, string>
  /** Special-token strings → their ids: text is split on them and they become one id each. */
  specials: Record<string, number>
}

/** The built-in LM's chat format for a tokenizer with bos/eos ids. */
export function tinyLmChatFormat(tokenizer: LmTokenizer): ChatFormat {
  const specials: Record<string, number> = { [TINY_LM_SPECIALS.eos]: tokenizer.eosId }
  if (tokenizer.bosId !== null) specials[TINY_LM_SPECIALS.bos] = tokenizer.bosId
  return {
    template: TINY_LM_CHAT_TEMPLATE,
    variables: { bos_token: tokenizer.bosId !== null ? TINY_LM_SPECIALS.bos : '', eos_token: TINY_LM_SPECIALS.eos },
    specials,
  }
}

const templates = new Map<string, Template>()
/** Renders messages with the format's template (parsed once per template string). */
export function renderChat(format: ChatFormat, messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  let t = templates.get(format.template)
  if (!t) {
    t = new Template(format.template)
    templates.set(format.template, t)
  }
  return t.render({ ...format.variables, messages: messages.map((m) => ({ ...m })), add_generation_prompt: addGenerationPrompt })
}

/** Text → ids, each special-token string becoming its one id (as HF tokenizers do). */
export function encodeWithSpecials(text: string, tokenizer: LmTokenizer, specials: Record<string, number>): number[] {
  const keys = Object.keys(specials).filter((k) => k.length > 0)
  if (keys.length === 0) return tokenizer.encode(text)
  const re = new RegExp(keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g')
  const out: number[] = []
  let at = 0
  for (const m of text.matchAll(re)) {
    if (m.index > at) out.push(...tokenizer.encode(text.slice(at, m.index)))
    out.push(specials[m[0]]!)
    at = m.index + m[0].length
  }
  if (at < text.length) out.push(...tokenizer.encode(text.slice(at)))
  return out
}

/** A conversation as text pieces, each marked as answer (trained on) or not. */
export interface Segment {
  text: string
  answer: boolean
}

/**
 * Splits a rendered conversation into pieces by rendering growing prefixes: the text an
 * assistant message adds after the generation prompt is answer; everything else (system,
 * user turns, the "Assistant:" header) is not. A template that does not render a
 * conversation as a growing prefix cannot be split this way and is refused.
 */
export function chatSegments(format: ChatFormat, messages: readonly ChatMessage[]): Segment[] {
  const segs: Segment[] = []
  let done = ''
  const take = (next: string, answer: boolean, what: string) => {
    if (!next.startsWith(done)) {
      throw new Error(`The chat template does not render the conversation as a growing prefix (at ${what}), so the answer tokens cannot be found: use a template that appends each message.`)
    }
    if (next.length > done.length) segs.push({ text: next.slice(done.length), answer })
    done = next
  }
  for (let i = 0; i < messages.length; i++) {
    if (messages[i]!.role === 'assistant') {
      take(renderChat(format, messages.slice(0, i), true), false, `the header of message ${i}`)
      take(renderChat(format, messages.slice(0, i + 1), false), true, `message ${i}`)
    } else {
      take(renderChat(format, messages.slice(0, i + 1), false), false, `message ${i}`)
    }
  }
  return segs
}

/**
 * The pieces of one row tokenized as one text, split back into pieces by token: the tokens of
 * piece k are those the text up to the end of piece k adds to the text before it (the common
 * prefix of its ids with the whole row's). A token that spans the end of a piece (a merge
 * across it) goes to the piece after.
 */
export function tokenizeWhole(pieces: readonly Segment[], tokenizer: LmTokenizer): { ids: number[]; answer: boolean }[] {
  const ids = tokenizer.encode(pieces.map((p) => p.text).join(''))
  const out: { ids: number[]; answer: boolean }[] = []
  let text = ''
  let from = 0
  pieces.forEach((p, k) => {
    text += p.text
    let to = ids.length
    if (k < pieces.length - 1) {
      const before = tokenizer.encode(text)
      let same = 0
      while (same < before.length && same < ids.length && before[same] === ids[same]) same++
      to = Math.max(from, same)
    }
    out.push({ ids: ids.slice(from, to), answer: p.answer })
    from = to
  })
  return out
}

/** Token ids and the loss mask of one row: mask[t] = 1 where ids[t] is an answer token
 *  (the loss at position t − 1, which predicts it, counts). */
export interface SftExample {
  row: number
  ids: number[]
  mask: number[]
  /** Prompt tokens removed from the left to fit the sequence length (0 if none). */
  promptCut: number
}

export interface SftEncodeOptions {
  seqLen: number
  /** How chat rows render; required when the data has chat rows. */
  chat?: ChatFormat
  /** Put the tokenizer's bos before a prompt/completion row (default true when it has one). */
  addBos?: boolean
  /** Tokenize each row's text in one piece, as the model's own tokenizer reads it (a Hugging
   *  Face tokenizer's merges and added tokens cross the places where prompt and answer meet),
   *  and find the answer tokens from where each piece ends (tokenizeWhole). Without it each
   *  piece is tokenized on its own (the built-in LM's documented format). */
  wholeText?: boolean
}

export interface SftEncoded {
  examples: SftExample[]
  /** Rows whose prompt side was shortened from the left to fit (the answer never is). */
  truncated: number[]
  /** Rows left out, each with the reason and what to do. */
  dropped: RowProblem[]
}

/**
 * Encodes rows into ids + answer mask, fitted to seqLen: a row too long loses prompt tokens
 * from the left (the earliest context first; bos kept); a row whose answer part alone does
 * not fit is dropped with its reason, never cut inside the answer.
 */
export function encodeSft(rows: readonly SftRow[], tokenizer: LmTokenizer, options: SftEncodeOptions): SftEncoded {
  const { seqLen } = options
  if (!(Number.isInteger(seqLen) && seqLen >= 2)) throw new RangeError(`The sequence length must be an integer ≥ 2, got ${seqLen}`)
  const examples: SftExample[] = []
  const truncated: number[] = []
  const dropped: RowProblem[] = []
  for (const r of rows) {
    let segs: { ids: number[]; answer: boolean }[]
    let lead: number[] = [] // kept whatever happens (bos)
    if (r.kind === 'completion') {
      const bos = (options.addBos ?? true) && tokenizer.bosId !== null ? [tokenizer.bosId] : []
      lead = bos
      if (options.wholeText) {
        segs = tokenizeWhole([{ text: r.prompt, answer: false }, { text: r.completion, answer: true }], tokenizer)
        segs[segs.length - 1]!.ids.push(tokenizer.eosId)
      } else {
        segs = [
          { ids: tokenizer.encode(r.prompt), answer: false },
          { ids: [...tokenizer.encode(r.completion), tokenizer.eosId], answer: true },
        ]
      }
    } else {
      if (!options.chat) throw new Error(`Row ${r.row} is a chat conversation but no chat template was given`)
      const specials = options.chat.specials
      const pieces = chatSegments(options.chat, r.messages)
      segs = options.wholeText ? tokenizeWhole(pieces, tokenizer) : pieces.map((s) => ({ ids: encodeWithSpecials(s.text, tokenizer, specials), answer: s.answer }))
      const first = segs[0]?.ids[0]
      if (first !== undefined && first === tokenizer.bosId) {
        lead = [first]
        segs[0] = { ids: segs[0]!.ids.slice(1), answer: segs[0]!.answer }
      }
    }
    const total = lead.length + segs.reduce((n, s) => n + s.ids.length, 0)
    // Only what precedes the first answer may be cut (later context belongs to later
    // answers), and in a conversation not the header right before it ("Assistant:").
    const firstAnswer = segs.findIndex((s) => s.answer)
    const cutEnd = r.kind === 'chat' ? firstAnswer - 1 : firstAnswer
    const cuttable = segs.slice(0, Math.max(0, cutEnd)).reduce((n, s) => n + s.ids.length, 0)
    const over = total - seqLen
    if (over > 0 && over > cuttable) {
      const answerTokens = segs.filter((s) => s.answer).reduce((n, s) => n + s.ids.length, 0)
      dropped.push(
        problem(
          r.row,
          `Row ${r.row} is ${total} tokens, ${over} more than the sequence length ${seqLen}, and only ${cuttable} of them come before the answer (the answer${r.kind === 'chat' ? 's and later turns' : ''} take ${answerTokens}${r.kind === 'chat' ? '+' : ''}): raise the sequence length, shorten the answer, or split the conversation.`,
        ),
      )
      continue
    }
    let cut = Math.max(0, over)
    const ids = [...lead]
    const mask: number[] = lead.map(() => 0)
    for (const s of segs) {
      const drop = Math.min(cut, s.ids.length)
      cut -= drop
      for (const id of s.ids.slice(drop)) {
        ids.push(id)
        mask.push(s.answer ? 1 : 0)
      }
    }
    if (over > 0) truncated.push(r.row)
    examples.push({ row: r.row, ids, mask, promptCut: Math.max(0, over) })
  }
  return { examples, truncated, dropped }
}

/** A batch-ready window: ids and mask padded to seqLen, and which rows it holds. */
export interface SftWindow {
  ids: number[]
  mask: number[]
  rows: number[]
}

/**
 * Pads each example to seqLen, or with packing puts several short examples back to back
 * in one window (greedy, in order, an example never split across windows). Packed rows
 * see the earlier rows of their window as context, as TRL's packing does; their mask still
 * counts only their own answer tokens.
 */
export function toWindows(examples: readonly SftExample[], seqLen: number, padId: number, pack = false): SftWindow[] {
  const out: SftWindow[] = []
  let cur: SftWindow | null = null
  const flush = () => {
    if (!cur) return
    while (cur.ids.length < seqLen) {
      cur.ids.push(padId)
      cur.mask.push(0)
    }
    out.push(cur)
    cur = null
  }
  for (const e of examples) {
    if (e.ids.length > seqLen) throw new RangeError(`Row ${e.row} has ${e.ids.length} tokens, more than the window of ${seqLen}: encode it with this sequence length first`)
    if (!pack || !cur || cur.ids.length + e.ids.length > seqLen) {
      flush()
      cur = { ids: [], mask: [], rows: [] }
    }
    const w: SftWindow = cur!
    w.ids.push(...e.ids)
    w.mask.push(...e.mask)
    w.rows.push(e.row)
  }
  flush()
  return out
}
