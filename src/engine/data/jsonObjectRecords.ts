/**
 * A .json file that is one JSON object rather than an array or JSON Lines: many exports wrap
 * their records ({"data": [...]}, {"train": [...], "test": [...]}). This finds the list of
 * records inside, says which one it took, or says in words why there is none.
 */
import type { JsonRecord } from './jsonRecords'

export type ObjectRecords =
  /** The records to read, and what the page should be told about where they came from. */
  | { records: JsonRecord[]; warning?: string }
  /** The object holds no list of records: why, and what to do. */
  | { error: string }

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Names, in order of preference, of the list to train on when an object holds several. */
const TRAIN_KEYS = ['train', 'training', 'data', 'rows', 'records', 'examples', 'items']

/**
 * The records of `text` when it is one JSON object; undefined when it is not (it does not
 * parse as a whole: JSON Lines, or broken JSON), so the caller reads it as JSON Lines.
 */
export function recordsInJsonObject(file: string, text: string): ObjectRecords | undefined {
  let value: unknown
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
  } catch {
    return undefined
  }
  if (!isPlainObject(value)) return undefined
  const lists = Object.entries(value).filter(([, v]) => Array.isArray(v) && v.length > 0 && v.some(isPlainObject)) as [string, unknown[]][]
  if (lists.length === 0) {
    const hasNested = Object.values(value).some((v) => typeof v === 'object' && v !== null)
    if (!hasNested) return { records: [{ value, row: 1 }] } // one flat record, as one line of JSON Lines would be
    return {
      error:
        `${file} is one JSON object (keys ${quoteList(Object.keys(value))}) with no list of records in it. ` +
        'Save the records as a JSON array of objects ([{"text": …, "label": …}, …]) or as JSON Lines (one object per line).',
    }
  }
  const chosen = lists.length === 1 ? lists[0]! : pickTrainList(lists)
  if (!chosen) {
    return {
      error:
        `${file} is one JSON object with several lists of records (${quoteList(lists.map(([k]) => k))}) and none is called "train". ` +
        'Save the list to train on as a JSON array of objects or as JSON Lines.',
    }
  }
  const [key, list] = chosen
  const others = lists.filter(([k]) => k !== key).map(([k]) => k)
  const warning =
    `${file} is one JSON object: the ${list.length} records of its "${key}" list were read` +
    (others.length ? `; ${quoteList(others)} ${others.length === 1 ? 'was' : 'were'} left out.` : '.')
  return { records: list.map((v, i) => ({ value: v, row: i + 1 })), warning }
}

function pickTrainList(lists: [string, unknown[]][]): [string, unknown[]] | undefined {
  for (const name of TRAIN_KEYS) {
    const hit = lists.find(([k]) => k.toLowerCase() === name)
    if (hit) return hit
  }
  return undefined
}

function quoteList(keys: string[]): string {
  const shown = keys.slice(0, 5).map((k) => `"${k}"`)
  return keys.length > 5 ? `${shown.join(', ')} and ${keys.length - 5} more` : shown.join(', ')
}
