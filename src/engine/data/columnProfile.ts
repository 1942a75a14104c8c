/** What each column's values look like: numbers, categories or free text. */
import { isNumeric } from './csv'
import { MAX_CLASSES } from './types'

export type ColumnKind = 'empty' | 'numeric' | 'categorical' | 'text' | 'identifier'

export interface ColumnProfile {
  name: string
  index: number
  nonEmpty: number
  numeric: number
  /** Numeric values that are whole numbers. */
  integer: number
  /** Distinct non-empty values, counted up to MAX_CLASSES + 1. */
  distinct: number
  meanLength: number
  meanWords: number
  kind: ColumnKind
}

/** Profiling more rows than this changes nothing but time. */
const PROFILE_ROWS = 20_000

export const TEXT_NAME = /^(text|texts|sentence|sentences|content|message|body|review|comment|document|doc|tweet|prompt|input|question|passage|excerpt|description|title|subject|email)$/i
export const LABEL_NAME = /^(label|labels|class|classes|category|categories|target|y|sentiment|tag|tags|intent|topic|emotion|spam|is_spam|stance|genre|species|outcome|answer)$|(_label|_class|label_)/i

export function profileColumns(columns: readonly string[], rows: readonly (readonly string[])[]): ColumnProfile[] {
  const n = Math.min(rows.length, PROFILE_ROWS)
  return columns.map((name, index) => {
    let nonEmpty = 0
    let numeric = 0
    let integer = 0
    let chars = 0
    let words = 0
    const values = new Set<string>()
    for (let r = 0; r < n; r++) {
      const v = (rows[r]?.[index] ?? '').trim()
      if (v === '') continue
      nonEmpty++
      chars += v.length
      words += countWords(v)
      if (values.size <= MAX_CLASSES) values.add(v)
      if (isNumeric(v)) {
        numeric++
        if (Number.isInteger(Number(v))) integer++
      }
    }
    const p = {
      name,
      index,
      nonEmpty,
      numeric,
      integer,
      distinct: values.size,
      meanLength: nonEmpty ? chars / nonEmpty : 0,
      meanWords: nonEmpty ? words / nonEmpty : 0,
    }
    return { ...p, kind: kindOf(p) }
  })
}

function kindOf(p: Omit<ColumnProfile, 'kind'>): ColumnKind {
  if (p.nonEmpty === 0) return 'empty'
  const fewValues = p.distinct <= MAX_CLASSES && p.distinct <= Math.max(2, p.nonEmpty / 2)
  if (p.numeric >= 0.95 * p.nonEmpty) return fewValues && p.integer === p.numeric ? 'categorical' : 'numeric'
  if (TEXT_NAME.test(p.name) || p.meanLength >= 20 || p.meanWords >= 3) return 'text'
  return fewValues ? 'categorical' : 'identifier'
}

function countWords(s: string): number {
  let words = 0
  let inWord = false
  for (let i = 0; i < s.length; i++) {
    const space = s.charCodeAt(i) <= 32
    if (!space && !inWord) words++
    inWord = !space
  }
  return words
}
