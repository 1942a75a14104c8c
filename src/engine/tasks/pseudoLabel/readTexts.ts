/**
 * The files learning without labels reads: a CSV's text column ("text", else the first) and,
 * if present, its "label" column. A file of another kind (JSON Lines, JSON, a binary file such
 * as a model's weights) is refused by name, saying what to choose instead: read as CSV, each
 * JSON line would have been a "text" to label, and a binary file rows of noise.
 */
import { parseCsvText } from '../../data/csv'

export interface Texts {
  name: string
  texts: string[]
  labels: string[] | null
}

/** What each of the two files needs, for the words of a refusal. */
const NEEDS = {
  texts: 'choose a CSV whose first line names its columns, with the texts in a column named text (or the first column)',
  labelled: 'choose a CSV whose first line names its columns, with a text column and a label column giving each text’s class',
}

/** Why `content` is not a CSV at all, or null when it may be one. */
function notCsv(name: string, content: string, need: string): string | null {
  if (content.includes('\u0000')) return `${name} is not a text file (it holds binary data): ${need}.`
  const first = content.trimStart()
  if (first.startsWith('{') || first.startsWith('[')) {
    const jsonLines = /\.jsonl$/i.test(name) || first.startsWith('{')
    return `${name} is ${jsonLines ? 'JSON Lines' : 'JSON'}, not a CSV: ${need}.`
  }
  return null
}

/** The texts (and labels) of a CSV; `needLabels` for the labelled validation file. */
export function readTexts(name: string, csv: string, needLabels: boolean): Texts {
  const need = needLabels ? NEEDS.labelled : NEEDS.texts
  const wrongKind = notCsv(name, csv, need)
  if (wrongKind) throw new Error(wrongKind)
  const { records } = parseCsvText(csv)
  const header = (records[0]?.cells ?? []).map((c) => c.trim())
  if (records.length < 2) throw new Error(`${name} has no rows under its header: add one text per row.`)
  const ti = header.includes('text') ? header.indexOf('text') : 0
  const li = header.indexOf('label')
  if (needLabels && li < 0) throw new Error(`${name} has no "label" column (columns: ${header.join(', ')}): the validation file needs the true class of each text.`)
  const rows = records.slice(1).filter((r) => (r.cells[ti] ?? '').trim() !== '')
  return { name, texts: rows.map((r) => r.cells[ti]!), labels: li >= 0 ? rows.map((r) => (r.cells[li] ?? '').trim()) : null }
}
