/**
 * Checks a table against its roles and builds the Dataset: rows with an empty label,
 * empty text or a non-numeric feature/target are left out and listed; a label column
 * with fewer than two classes, or no usable row, is an error.
 */
import { isNumeric } from './csv'
import { taskForRoles } from './detectRoles'
import {
  MAX_CLASSES,
  MAX_REJECTIONS_LISTED,
  type ClassCount,
  type DataError,
  type DataWarning,
  type Dataset,
  type DatasetFormat,
  type ParseResult,
  type Rejection,
  type Roles,
  type SourceTable,
  type TextLengthStats,
} from './types'

export interface TableInfo {
  name: string
  format: DatasetFormat
  bytes: number
  columns: string[]
  hasHeader: boolean
  source: SourceTable
}

export function applyRoles(table: TableInfo, roles: Roles): ParseResult {
  const file = table.name
  const fail = (error: Omit<DataError, 'file'>): ParseResult => ({ ok: false, error: { file, ...error } })
  const { columns, source } = table
  const col = new Map(columns.map((c, i) => [c, i]))

  const used = [roles.text, ...roles.labels, ...roles.features, roles.target].filter(
    (c): c is string => c !== undefined,
  )
  for (const c of used) {
    if (!col.has(c)) {
      return fail({
        field: c,
        message: `${file} has no column "${c}". Its columns are: ${columns.join(', ')}.`,
      })
    }
  }
  const twice = used.find((c, i) => used.indexOf(c) !== i)
  if (twice) {
    return fail({ field: twice, message: `Column "${twice}" is given two roles; each column can play one part.` })
  }
  const task = taskForRoles(roles, table.format)
  if (!task) {
    return fail({
      message: `Could not tell what to learn from ${file}: choose a label column (to classify), a numeric target (to predict a number), or a text column (to model the text).`,
    })
  }
  if (task === 'tabular-classification' || task === 'regression' || (task === 'multitask' && !roles.text)) {
    if (!roles.text && roles.features.length === 0) {
      return fail({
        message: `${file} has no numeric feature columns to learn from. Add numeric columns, or choose a text column.`,
      })
    }
  }

  const textIdx = roles.text === undefined ? -1 : (col.get(roles.text) ?? -1)
  const labelIdx = roles.labels.map((c) => col.get(c) ?? -1)
  const featureIdx = roles.features.map((c) => col.get(c) ?? -1)
  const targetIdx = roles.target === undefined ? -1 : (col.get(roles.target) ?? -1)

  // Whole-column problems first: one clear message instead of every row rejected.
  for (const name of roles.labels) {
    const i = col.get(name) ?? -1
    if (!source.rows.some((r) => (r[i] ?? '').trim() !== '')) {
      return fail({
        field: name,
        message: `The label column "${name}" in ${file} is empty in every row. Fill in a label for each row, or choose another label column.`,
      })
    }
  }
  for (const name of [...roles.features, ...(roles.target ? [roles.target] : [])]) {
    const i = col.get(name) ?? -1
    const values = source.rows.slice(0, 5000).map((r) => (r[i] ?? '').trim()).filter((v) => v !== '')
    const numeric = values.filter(isNumeric).length
    if (numeric < values.length / 2 || values.length === 0) {
      const example = values.find((v) => !isNumeric(v))
      return fail({
        field: name,
        message: `Column "${name}" in ${file} is not numeric${example !== undefined ? ` (it has values like "${clip(example)}")` : ''}, so it cannot be a ${name === roles.target ? 'target' : 'feature'}. Choose numeric columns, or use it as a label.`,
      })
    }
  }

  const rows: string[][] = []
  const rowNumbers: number[] = []
  const rejected: Rejection[] = source.rejected.slice()
  let rejectedCount = source.rejectedCount
  const reject = (row: number, reason: string): void => {
    rejectedCount++
    if (rejected.length < MAX_REJECTIONS_LISTED) rejected.push({ row, reason })
  }
  for (let r = 0; r < source.rows.length; r++) {
    const cells = source.rows[r] as string[]
    const rowNo = source.rowNumbers[r] ?? r + 1
    const reason = rowProblem(cells, rowNo)
    if (reason) reject(rowNo, reason)
    else {
      rows.push(cells)
      rowNumbers.push(rowNo)
    }
  }
  rejected.sort((a, b) => a.row - b.row)

  function rowProblem(cells: string[], rowNo: number): string | undefined {
    if (textIdx >= 0 && (cells[textIdx] ?? '').trim() === '') return `row ${rowNo}: the text ("${roles.text}") is empty`
    for (let k = 0; k < labelIdx.length; k++) {
      if ((cells[labelIdx[k] ?? -1] ?? '').trim() === '') return `row ${rowNo}: the label ("${roles.labels[k]}") is empty`
    }
    for (let k = 0; k < featureIdx.length; k++) {
      const v = cells[featureIdx[k] ?? -1] ?? ''
      if (!isNumeric(v)) return `row ${rowNo}: feature "${roles.features[k]}" is ${v.trim() === '' ? 'empty' : `not a number ("${clip(v)}")`}`
    }
    if (targetIdx >= 0) {
      const v = cells[targetIdx] ?? ''
      if (!isNumeric(v)) return `row ${rowNo}: the target ("${roles.target}") is ${v.trim() === '' ? 'empty' : `not a number ("${clip(v)}")`}`
    }
    return undefined
  }

  if (rows.length === 0) {
    const first = rejected[0]
    return fail({
      ...(first ? { row: first.row } : {}),
      message: `${file} has no usable rows: all ${rejectedCount} were left out. First problem: ${first?.reason ?? 'none given'}.`,
    })
  }

  const warnings: DataWarning[] = [...source.warnings]
  const classes: Record<string, ClassCount[]> = {}
  for (let k = 0; k < roles.labels.length; k++) {
    const name = roles.labels[k] as string
    const counts = countClasses(rows, labelIdx[k] ?? -1)
    if (counts.length < 2) {
      return fail({
        field: name,
        message: `The label column "${name}" in ${file} has only one class ("${clip(counts[0]?.label ?? '')}"). A classifier needs at least 2 classes: add rows of another class, or choose another label column.`,
      })
    }
    if (counts.length > MAX_CLASSES) {
      return fail({
        field: name,
        message: `The label column "${name}" in ${file} has ${counts.length} different values; at most ${MAX_CLASSES} classes are supported. Is it really a label (and not text or an id)?`,
      })
    }
    const singles = counts.filter((c) => c.count === 1)
    if (singles.length > 0) {
      warnings.push({
        field: name,
        message: `In "${name}", ${singles.length} class${singles.length === 1 ? ' has' : 'es have'} only one example (${singles
          .slice(0, 5)
          .map((c) => `"${clip(c.label)}"`)
          .join(', ')}${singles.length > 5 ? ', …' : ''}): too few to learn or to validate. Add examples or merge classes.`,
      })
    }
    classes[name] = counts
  }
  if (rejectedCount > 0) {
    warnings.push({ message: `${rejectedCount} row${rejectedCount === 1 ? ' was' : 's were'} left out; see the list of rejected rows.` })
  }
  const unused = table.format === 'text' ? [] : table.columns.filter((c) => !used.includes(c))
  if (unused.length > 0) {
    warnings.push({ message: `Not used for training: ${unused.map((c) => `"${c}"`).join(', ')}.` })
  }

  const dataset: Dataset = {
    name: table.name,
    format: table.format,
    bytes: table.bytes,
    columns,
    hasHeader: table.hasHeader,
    rows,
    rowNumbers,
    roles: { ...roles, labels: [...roles.labels], features: [...roles.features] },
    task,
    rejected,
    rejectedCount,
    classes,
    warnings,
    source,
  }
  if (textIdx >= 0) dataset.textLengths = textLengthStats(rows, textIdx)
  return { ok: true, dataset }
}

/** Classes in a stable order (numeric labels by value, others alphabetically), so label
 * indices do not depend on row order. */
export function countClasses(rows: readonly (readonly string[])[], index: number): ClassCount[] {
  const counts = new Map<string, number>()
  for (const r of rows) {
    const v = (r[index] ?? '').trim()
    counts.set(v, (counts.get(v) ?? 0) + 1)
  }
  const list = [...counts].map(([label, count]) => ({ label, count }))
  const allNumeric = list.every((c) => isNumeric(c.label))
  list.sort((a, b) =>
    allNumeric ? Number(a.label) - Number(b.label) : a.label < b.label ? -1 : a.label > b.label ? 1 : 0,
  )
  return list
}

export function textLengthStats(rows: readonly (readonly string[])[], index: number): TextLengthStats {
  const lengths = rows.map((r) => (r[index] ?? '').length).sort((a, b) => a - b)
  const at = (q: number): number => lengths[Math.min(lengths.length - 1, Math.floor(q * lengths.length))] ?? 0
  const sum = lengths.reduce((s, x) => s + x, 0)
  return {
    min: lengths[0] ?? 0,
    max: lengths[lengths.length - 1] ?? 0,
    mean: lengths.length ? sum / lengths.length : 0,
    median: at(0.5),
    p95: at(0.95),
  }
}

function clip(s: string): string {
  const t = s.trim()
  return t.length > 40 ? `${t.slice(0, 40)}…` : t
}
