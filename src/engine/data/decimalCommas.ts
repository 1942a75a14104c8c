/**
 * Numbers written with a decimal comma ("1,50", "1.234,5"), as spreadsheets in much of Europe
 * save them in semicolon- or tab-separated files: a column whose every value is such a number
 * is rewritten with a decimal point, so it can be a target or a feature, and the page is told.
 * Comma-separated files are left alone (there a comma inside a value is not a decimal mark).
 */
import type { Delimiter } from './csv'
import type { DataWarning } from './types'

/** An integer (dots may group thousands) with an optional comma and decimals. */
const DECIMAL_COMMA = /^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$/

/** Rewrites decimal-comma columns of `rows` in place; one warning per column rewritten. */
export function readDecimalCommas(columns: readonly string[], rows: string[][], delimiter: Delimiter): DataWarning[] {
  if (delimiter === ',') return []
  const warnings: DataWarning[] = []
  for (let c = 0; c < columns.length; c++) {
    let example: string | undefined
    let any = false
    let all = true
    for (const row of rows) {
      const v = (row[c] ?? '').trim()
      if (v === '') continue
      any = true
      if (!DECIMAL_COMMA.test(v)) {
        all = false
        break
      }
      if (example === undefined && v.includes(',')) example = v
    }
    if (!any || !all || example === undefined) continue
    for (const row of rows) {
      const v = (row[c] ?? '').trim()
      if (v !== '') row[c] = toPoint(v)
    }
    const name = columns[c] as string
    warnings.push({
      field: name,
      message: `Column "${name}" writes decimals with a comma ("${example}"); it was read as numbers with a decimal point (${toPoint(example)}).`,
    })
  }
  return warnings
}

function toPoint(v: string): string {
  return v.replace(/\./g, '').replace(',', '.')
}
