import type { LmTokenizer } from '../lm'
import { checkMessages, encodeSft, moreProblems, readJsonlRows, refuseBinary, refuseMixedKinds, type SftEncodeOptions, type ChatMessage, type RowProblem, type SftExample, type SftRow } from '../sft/data'

/**
 * Preference pairs for DPO: JSON Lines with `prompt`, `chosen`, `rejected`, either
 *   - plain text: three strings (the answers continue the prompt), or
 *   - chat (TRL's conversational format): `prompt` a list of messages ending before the
 *     answer, `chosen` and `rejected` each one assistant message (a list of one, or a string).
 * Refused, naming the row: a missing or empty answer, identical chosen and rejected
 * answers, unknown roles.
 */
export type DpoRow =
  | { kind: 'text'; row: number; prompt: string; chosen: string; rejected: string }
  | { kind: 'chat'; row: number; prompt: ChatMessage[]; chosen: string; rejected: string }

export interface ParsedDpo {
  rows: DpoRow[]
  problems: RowProblem[]
}

function answerText(value: unknown, row: number, field: 'chosen' | 'rejected', chat: boolean): string | RowProblem {
  if (typeof value === 'string') {
    if (value.trim() === '') return { row, message: `Row ${row}: "${field}" is empty: write the ${field === 'chosen' ? 'preferred' : 'worse'} answer, or remove the row.` }
    return value
  }
  if (chat && Array.isArray(value)) {
    if (value.length !== 1) return { row, message: `Row ${row}: "${field}" has ${value.length} messages: give exactly one {"role": "assistant", "content": "…"}.` }
    const m = value[0] as { role?: unknown; content?: unknown } | null
    if (!m || m.role !== 'assistant') return { row, message: `Row ${row}: "${field}" must be an assistant message, got role ${JSON.stringify(m?.role)}: write {"role": "assistant", "content": "…"}.` }
    return answerText(m.content, row, field, false)
  }
  return { row, message: `Row ${row}: "${field}" is missing or not text: give the answer as a string${chat ? ' or a list of one assistant message' : ''}.` }
}

export function dpoRowFromObject(obj: unknown, row: number): DpoRow | RowProblem {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { row, message: `Row ${row} is not a JSON object: each line must be {"prompt": …, "chosen": …, "rejected": …}.` }
  const o = obj as Record<string, unknown>
  const missing = ['prompt', 'chosen', 'rejected'].filter((k) => !(k in o))
  if (missing.length) return { row, message: `Row ${row} lacks ${missing.map((k) => `"${k}"`).join(', ')} (keys: ${Object.keys(o).join(', ') || 'none'}): each pair needs prompt, chosen and rejected.` }
  const chat = Array.isArray(o.prompt)
  let prompt: string | ChatMessage[]
  if (chat) {
    // The prompt is a conversation up to the answer: checked like SFT messages, less the assistant requirement.
    const probe = checkMessages([...(o.prompt as unknown[]), { role: 'assistant', content: 'x' }], row, 'prompt')
    if (!Array.isArray(probe)) return probe
    prompt = probe.slice(0, -1)
    if (prompt.at(-1)?.role === 'assistant') return { row, message: `Row ${row}: "prompt" ends with an assistant message: end it with the user turn the answers reply to.` }
  } else {
    if (typeof o.prompt !== 'string') return { row, message: `Row ${row}: "prompt" must be text or a list of messages.` }
    prompt = o.prompt
  }
  const chosen = answerText(o.chosen, row, 'chosen', chat)
  if (typeof chosen !== 'string') return chosen
  const rejected = answerText(o.rejected, row, 'rejected', chat)
  if (typeof rejected !== 'string') return rejected
  if (chosen.trim() === rejected.trim()) {
    return { row, message: `Row ${row}: "chosen" and "rejected" are the same answer, so there is no preference to learn: make them differ or remove the row.` }
  }
  return chat ? { kind: 'chat', row, prompt: prompt as ChatMessage[], chosen, rejected } : { kind: 'text', row, prompt: prompt as string, chosen, rejected }
}

export function parseDpoJsonl(text: string, fileName = 'the file'): ParsedDpo {
  refuseBinary(text, fileName, 'a JSON Lines file with one {"prompt": …, "chosen": …, "rejected": …} object a line')
  const { rows, problems } = readJsonlRows(text, dpoRowFromObject)
  if (rows.length === 0) {
    throw new Error(problems.length ? `${fileName} has no usable pair: ${problems[0]!.message}${moreProblems(problems.length - 1)}` : `${fileName} has no rows: add lines of {"prompt": …, "chosen": …, "rejected": …}.`)
  }
  refuseMixedKinds(rows, fileName, { text: 'a text pair ("prompt" a string)', chat: 'a chat pair ("prompt" a list of messages)' })
  return { rows, problems }
}

/** One pair as two token sequences whose masks cover only the final answer (and its eos). */
export interface DpoPair {
  row: number
  chosen: SftExample
  rejected: SftExample
}

export interface DpoEncoded {
  pairs: DpoPair[]
  truncated: number[]
  dropped: RowProblem[]
}

function asSft(r: DpoRow, answer: string): SftRow {
  return r.kind === 'text' ? { kind: 'completion', row: r.row, prompt: r.prompt, completion: answer } : { kind: 'chat', row: r.row, messages: [...r.prompt, { role: 'assistant', content: answer }] }
}

/** Keeps the mask's last run of ones: earlier assistant turns in the prompt are context. */
function lastAnswerOnly(e: SftExample): SftExample {
  const mask = e.mask.slice()
  let t = mask.length - 1
  while (t >= 0 && mask[t] === 1) t--
  for (; t >= 0; t--) mask[t] = 0
  return { ...e, mask }
}

/** Encodes pairs like SFT rows (prompt side cut first, never the answer); a pair either of
 *  whose answers cannot fit is dropped with the reason. */
export function encodeDpo(rows: readonly DpoRow[], tokenizer: LmTokenizer, options: SftEncodeOptions): DpoEncoded {
  const pairs: DpoPair[] = []
  const truncated: number[] = []
  const dropped: RowProblem[] = []
  for (const r of rows) {
    const c = encodeSft([asSft(r, r.chosen)], tokenizer, options)
    const j = encodeSft([asSft(r, r.rejected)], tokenizer, options)
    const problem = c.dropped[0] ?? j.dropped[0]
    if (problem) {
      const which = c.dropped[0] ? 'chosen' : 'rejected'
      dropped.push({ row: r.row, message: problem.message.replace(`Row ${r.row} is`, `Row ${r.row} with the ${which} answer is`) })
      continue
    }
    if (c.truncated.length || j.truncated.length) truncated.push(r.row)
    pairs.push({ row: r.row, chosen: lastAnswerOnly(c.examples[0]!), rejected: lastAnswerOnly(j.examples[0]!) })
  }
  return { pairs, truncated, dropped }
}
