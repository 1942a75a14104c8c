/**
 * The data of instruction tuning (SFT) and preference tuning (DPO) for the session: reads and
 * checks the files (rows refused by name), previews the loss mask token by token with the held
 * model's own tokenizer and chat template, encodes the train/held-out sets a run trains on,
 * and writes the TRL recipe of the same data. The rows are kept as read (text, not tokens), so
 * the same file trains whichever causal LM is held; what a model adds is its `ChatLm`
 * (ModelFamily.chatLm: the built-in LM's simple template, a Hugging Face model's own).
 */
import { parseCsvText } from '../data/csv'
import { launchCommand, trlDataFile, trlRecipe } from '../export/trlRecipe'
import { encodeDpo, parseDpoJsonl, type DpoRow } from '../tasks/dpo/data'
import type { LmTokenizer } from '../tasks/lm'
import type { Encoded } from '../train/encoded'
import { pairsEncoded, sftEncoded } from '../tasks/lmObjectiveData'
import { encodeSft, parseSftCsv, parseSftJsonl, toWindows, type ChatFormat, type RowProblem, type SftExample, type SftRow } from '../tasks/sft/data'
import type { LmDataSummary, LmObjective, MaskToken, ObjectiveRun } from '../types/lmObjectives'
import type { Settings } from '../../settings/types'

/** What a causal language model offers these objectives: its tokenizer and chat format. */
export interface ChatLm {
  /** The model's name, for messages. */
  title: string
  tokenizer: LmTokenizer
  /** Its chat template; null when it has none (chat rows are then refused by name). */
  chat: ChatFormat | null
  /** Whether a row is tokenized as one text (a Hugging Face tokenizer) or piece by piece. */
  wholeText: boolean
  /** The longest sequence it reads. */
  maxSeqLen: number
  /** How the preview writes a special token ('<bos>'); null: the tokenizer's own text. */
  specialText(id: number): string | null
}

/** A checked training file (and held-out file), as rows. */
export interface ObjectiveData {
  objective: LmObjective
  name: string
  validationName: string | null
  sft: SftRow[] | null
  dpo: DpoRow[] | null
  valSft: SftRow[] | null
  valDpo: DpoRow[] | null
}

export interface ObjectiveFiles {
  objective: LmObjective
  train: { name: string; text: string }
  validation: { name: string; text: string } | null
  seqLen: number
  /** A CSV's prompt and completion columns (default: those named so, else the first two). */
  columns?: { prompt: string; completion: string }
}

const PREVIEW_ROWS = 3

function encodeOptions(lm: ChatLm, seqLen: number) {
  return { seqLen, wholeText: lm.wholeText, ...(lm.chat ? { chat: lm.chat } : {}) }
}

/** Refuses chat rows for a model without a chat template, naming the first such row. */
function checkChat(lm: ChatLm, rows: readonly { kind: string; row: number }[], file: string): void {
  if (lm.chat) return
  const chat = rows.find((r) => r.kind === 'chat')
  if (chat) throw new Error(`${file}, row ${chat.row}: a chat conversation, but ${lm.title} has no chat template (tokenizer_config.json has no chat_template) to render it with. Use prompt/completion rows, or load a chat (-Instruct) version of the model.`)
}

/** Reads and checks the files; the summary previews the first rows with `lm`'s tokens. */
export function readObjectiveFiles(lm: ChatLm, files: ObjectiveFiles): { data: ObjectiveData; summary: LmDataSummary } {
  const { train, validation: val } = files
  const problems: { row: number; message: string; file: string }[] = []
  const seqLen = Math.min(files.seqLen, lm.maxSeqLen)
  const { tokenizer } = lm
  let data: ObjectiveData
  let examples: { chosen: SftExample; rejected?: SftExample }[]
  let truncated: number[]
  let csv: LmDataSummary['csv'] = null
  if (files.objective === 'sft') {
    if (/\.csv$/i.test(train.name)) {
      const columns = (parseCsvText(train.text.slice(0, train.text.indexOf('\n') + 1 || undefined)).records[0]?.cells ?? []).map((c) => c.trim())
      const pick = (want: string, i: number) => (columns.includes(want) ? want : (columns[i] ?? want))
      csv = { columns, prompt: files.columns?.prompt ?? pick('prompt', 0), completion: files.columns?.completion ?? pick('completion', 1) }
    }
    const cols = csv
    const parse = (f: { name: string; text: string }) => (/\.csv$/i.test(f.name) ? parseSftCsv(f.text, cols?.prompt ?? 'prompt', cols?.completion ?? 'completion', f.name) : parseSftJsonl(f.text, f.name))
    const a = parse(train)
    const b = val ? parse(val) : null
    checkChat(lm, a.rows, train.name)
    if (b) checkChat(lm, b.rows, val!.name)
    a.problems.forEach((p) => problems.push({ ...p, file: train.name }))
    b?.problems.forEach((p) => problems.push({ ...p, file: val!.name }))
    const enc = encodeSft(a.rows, tokenizer, encodeOptions(lm, seqLen))
    enc.dropped.forEach((p) => problems.push({ ...p, file: train.name }))
    truncated = enc.truncated
    examples = enc.examples.slice(0, PREVIEW_ROWS).map((e) => ({ chosen: e }))
    data = { objective: 'sft', name: train.name, validationName: val?.name ?? null, sft: a.rows, dpo: null, valSft: b?.rows ?? null, valDpo: null }
  } else {
    const a = parseDpoJsonl(train.text, train.name)
    const b = val ? parseDpoJsonl(val.text, val.name) : null
    checkChat(lm, a.rows, train.name)
    if (b) checkChat(lm, b.rows, val!.name)
    a.problems.forEach((p) => problems.push({ ...p, file: train.name }))
    b?.problems.forEach((p) => problems.push({ ...p, file: val!.name }))
    const enc = encodeDpo(a.rows, tokenizer, encodeOptions(lm, seqLen))
    enc.dropped.forEach((p) => problems.push({ ...p, file: train.name }))
    truncated = enc.truncated
    examples = enc.pairs.slice(0, PREVIEW_ROWS).map((p) => ({ chosen: p.chosen, rejected: p.rejected }))
    data = { objective: 'dpo', name: train.name, validationName: val?.name ?? null, sft: null, dpo: a.rows, valSft: null, valDpo: b?.rows ?? null }
  }
  const rows = data.sft ?? data.dpo ?? []
  const summary: LmDataSummary = {
    objective: files.objective,
    name: train.name,
    validationName: val?.name ?? null,
    rows: rows.length,
    validationRows: (data.valSft ?? data.valDpo ?? []).length,
    chat: rows.some((r) => r.kind === 'chat'),
    problems: problems.slice(0, 20),
    problemCount: problems.length,
    truncated,
    seqLen,
    preview: examples.map((e, i) => ({ row: rows[i]?.row ?? i + 1, tokens: maskTokens(lm, e.chosen), ...(e.rejected ? { rejected: maskTokens(lm, e.rejected) } : {}) })),
    template: lm.chat?.template ?? null,
    csv,
    model: lm.title,
  }
  return { data, summary }
}

/** One row's tokens for the preview. Each token's text is what it adds to the decoded text
 *  so far: a character split over byte-level tokens shows whole on the token that completes
 *  it, not as two broken halves. */
function maskTokens(lm: ChatLm, e: SftExample): MaskToken[] {
  let before = ''
  let start = 0
  return e.ids.map((id, t) => {
    const sp = lm.specialText(id)
    if (sp !== null) {
      before = ''
      start = t + 1
      return { text: sp, trained: e.mask[t] === 1 }
    }
    const now = lm.tokenizer.decode(e.ids.slice(start, t + 1))
    const whole = !now.endsWith('\uFFFD')
    const text = whole ? now.slice(before.length) : ''
    if (whole) before = now
    return { text, trained: e.mask[t] === 1 }
  })
}

/** Training and validation sets: the held-out file, or the last valSplit of the rows. */
export function encodeObjective(lm: ChatLm, d: ObjectiveData, settings: Settings, run: ObjectiveRun): { train: Encoded; val: Encoded; dropped: RowProblem[] } {
  if (d.objective !== run.objective) throw new Error(`The checked file is for ${d.objective === 'sft' ? 'instruction' : 'preference'} tuning: choose its training file again for this objective.`)
  const { tokenizer } = lm
  const seqLen = Math.min(settings.seqLen, lm.maxSeqLen)
  const opts = encodeOptions(lm, seqLen)
  const split = <T,>(rows: T[], val: T[] | null): [T[], T[]] => {
    if (val) return [rows, val]
    const nVal = Math.round(rows.length * settings.valSplit)
    if (nVal === 0) throw new Error(`No held-out rows: the validation split is 0 and no validation file was given. Add a validation file, or set a validation split above 0.`)
    return [rows.slice(0, rows.length - nVal), rows.slice(rows.length - nVal)]
  }
  if (d.objective === 'sft') {
    const [a, b] = split(d.sft!, d.valSft)
    const ea = encodeSft(a, tokenizer, opts)
    const eb = encodeSft(b, tokenizer, opts)
    const asSet = (ex: SftExample[], pack: boolean) => sftEncoded(toWindows(ex, seqLen, tokenizer.padId, pack).map((w) => ({ row: w.rows[0]!, ids: w.ids, mask: w.mask, promptCut: 0 })), seqLen, tokenizer.padId)
    // Validation rows are never packed: each is scored on its own context.
    return { train: asSet(ea.examples, run.pack), val: asSet(eb.examples, false), dropped: [...ea.dropped, ...eb.dropped] }
  }
  const [a, b] = split(d.dpo!, d.valDpo)
  const ea = encodeDpo(a, tokenizer, opts)
  const eb = encodeDpo(b, tokenizer, opts)
  return {
    train: pairsEncoded(ea.pairs, seqLen, tokenizer.padId, run),
    val: pairsEncoded(eb.pairs, seqLen, tokenizer.padId, run),
    dropped: [...ea.dropped, ...eb.dropped],
  }
}

/** The TRL recipe of the data and these settings: train.py, the rows as train.jsonl, launch.sh. */
export function objectiveRecipe(d: ObjectiveData, run: ObjectiveRun, settings: Settings, model = 'HuggingFaceTB/SmolLM2-135M'): { name: string; text: string }[] {
  const rows: Record<string, unknown>[] =
    d.objective === 'sft'
      ? d.sft!.map((r) => (r.kind === 'chat' ? { messages: r.messages } : { prompt: r.prompt, completion: r.completion }))
      : d.dpo!.map((r) => (r.kind === 'chat' ? { prompt: r.prompt, chosen: [{ role: 'assistant', content: r.chosen }], rejected: [{ role: 'assistant', content: r.rejected }] } : { prompt: r.prompt, chosen: r.chosen, rejected: r.rejected }))
  const chat = (d.sft ?? []).some((r) => r.kind === 'chat')
  const r = trlRecipe({ task: run.objective, settings, model, beta: run.beta, sftWeight: run.sftWeight, packing: run.pack, chat, dataFile: 'train.jsonl', gpus: 8 })
  return [
    { name: 'train.py', text: r.script },
    { name: 'train.jsonl', text: trlDataFile(run.objective, rows) },
    { name: 'launch.sh', text: `#!/bin/sh\n# ${launchCommand(1).replace('--multi_gpu --num_processes 1 ', '')} on one GPU\n${r.command}\n` },
  ]
}
