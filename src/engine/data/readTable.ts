/**
 * Text chunks to a table of well-formed rows, whatever the format: CSV/TSV records, JSON
 * records or text blocks. Structural problems (ragged rows, bad JSON lines) drop the row
 * and are listed; a file with no good row at all fails.
 */
import { CsvParser, looksLikeHeader, type CsvRecord, type Delimiter } from './csv'
import { DataFailure } from './decodeText'
import { JsonArrayParser, JsonLinesParser, RecordTable, type JsonChunkResult } from './jsonRecords'
import { readDecimalCommas } from './decimalCommas'
import { recordsInJsonObject } from './jsonObjectRecords'
import { TextBlockSplitter } from './textBlocks'
import {
  MAX_REJECTIONS_LISTED,
  type DataWarning,
  type DatasetFormat,
  type Rejection,
  type SourceTable,
} from './types'

export interface ReadTableOptions {
  /** Force the header decision for CSV/TSV (detected when left out). */
  hasHeader?: boolean
  delimiter?: Delimiter
  /** Called as rows accumulate, for progress. */
  onRows?: (rows: number) => void
}

export interface ReadTable extends SourceTable {
  format: DatasetFormat
  columns: string[]
  hasHeader: boolean
  delimiter?: Delimiter
  warnings: DataWarning[]
}

const UNSUPPORTED: Record<string, string> = {
  xlsx: 'an Excel workbook',
  xls: 'an Excel workbook',
  ods: 'a spreadsheet',
  parquet: 'a Parquet file',
  arrow: 'an Arrow file',
  zip: 'a zip archive',
  gz: 'a gzip archive',
  pdf: 'a PDF',
  docx: 'a Word document',
}

/** The format a file name announces; undefined when it must be sniffed from content. */
export function formatFromName(file: string): DatasetFormat | undefined {
  const ext = extension(file)
  if (ext === 'csv') return 'csv'
  if (ext === 'tsv' || ext === 'tab') return 'tsv'
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl'
  if (ext === 'json') return 'json'
  if (ext === 'txt' || ext === 'text' || ext === 'md') return 'text'
  return undefined
}

function extension(file: string): string {
  const dot = file.lastIndexOf('.')
  return dot === -1 ? '' : file.slice(dot + 1).toLowerCase()
}

const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff', 'heic', 'avif'])

/** Fails early for well-known binary formats, with what to do instead. */
export function checkSupportedName(file: string): void {
  if (IMAGE_EXTENSIONS.has(extension(file))) {
    throw new DataFailure({
      file,
      message:
        `${file} is one image; an image dataset is many, sorted by class. Put the PNG, JPEG, WebP or GIF images in one folder per class ` +
        '(cats/1.png, dogs/1.png) and upload a .zip of those folders, or choose the folder that holds them under "A folder of images".',
    })
  }
  const kind = UNSUPPORTED[extension(file)]
  if (kind) {
    throw new DataFailure({
      file,
      message: `${file} is ${kind}, which the studio cannot read. Export it as CSV (UTF-8), TSV, JSON Lines or plain text.`,
    })
  }
}

export async function readTable(
  file: string,
  chunks: AsyncIterable<string>,
  options: ReadTableOptions = {},
): Promise<ReadTable> {
  const it = chunks[Symbol.asyncIterator]()
  // Find the first non-blank text to sniff the format and to tell an empty file.
  const head: string[] = []
  for (;;) {
    const next = await it.next()
    if (next.done) break
    head.push(next.value)
    if (/\S/.test(next.value.replace(/^\uFEFF/, ''))) break
  }
  const firstText = head.join('').replace(/^\uFEFF/, '')
  const firstChar = firstText.trimStart()[0]
  if (firstChar === undefined) {
    throw new DataFailure({ file, message: `${file} is empty: it has no text. Choose a file with data rows.` })
  }
  const all = (async function* () {
    yield* head
    for (;;) {
      const next = await it.next()
      if (next.done) return
      yield next.value
    }
  })()

  let format = formatFromName(file)
  // A ".json" that starts with "{" is JSON Lines, or one object that wraps the records.
  if (format === 'json' && firstChar === '{') return readJsonObjectOrLines(file, all, options)
  if (format === undefined) format = firstChar === '[' ? 'json' : firstChar === '{' ? 'jsonl' : 'csv'

  if (format === 'text') return readText(all, options)
  if (format === 'json' || format === 'jsonl') return readJson(file, format, all, options)
  const delimiter = options.delimiter ?? (format === 'tsv' ? '\t' : undefined)
  return readCsv(file, format, all, { ...options, ...(delimiter ? { delimiter } : {}) })
}

class Rejections {
  list: Rejection[] = []
  count = 0
  add(row: number, reason: string): void {
    this.count++
    if (this.list.length < MAX_REJECTIONS_LISTED) this.list.push({ row, reason })
  }
}

const HEADER_SAMPLE_RECORDS = 50

async function readCsv(
  file: string,
  format: 'csv' | 'tsv',
  chunks: AsyncIterable<string>,
  options: ReadTableOptions,
): Promise<ReadTable> {
  const parser = new CsvParser(options.delimiter ? { delimiter: options.delimiter } : {})
  const rows: string[][] = []
  const rowNumbers: number[] = []
  const rejected = new Rejections()
  const warnings: DataWarning[] = []
  let sample: CsvRecord[] | undefined = [] // records held until the header is decided
  let columns: string[] = []
  let hasHeader = true

  const decide = (records: CsvRecord[]): void => {
    const first = records[0]
    if (!first) return
    hasHeader = options.hasHeader ?? looksLikeHeader(first.cells, records.slice(1).map((r) => r.cells))
    columns = hasHeader
      ? headerNames(first.cells, warnings)
      : first.cells.map((_, i) => `column_${i + 1}`)
    for (const r of hasHeader ? records.slice(1) : records) take(r)
  }
  const take = (r: CsvRecord): void => {
    if (r.cells.length === columns.length) {
      rows.push(r.cells)
      rowNumbers.push(r.row)
      return
    }
    rejected.add(r.row, raggedReason(r, columns.length, parser.delimiter ?? ','))
  }
  const accept = (records: CsvRecord[]): void => {
    if (sample) {
      sample.push(...records)
      if (sample.length < HEADER_SAMPLE_RECORDS) return
      const s = sample
      sample = undefined
      decide(s)
      return
    }
    for (const r of records) take(r)
  }

  for await (const chunk of chunks) {
    accept(parser.push(chunk))
    options.onRows?.(rows.length)
  }
  const end = parser.finish()
  if (end.unclosedQuote) {
    const { row, line } = end.unclosedQuote
    throw new DataFailure({
      file,
      row,
      message:
        `${file} has a quote (") that is never closed: the quoted value starting on ${where(row, line)} runs to the end of the file. ` +
        'Close the quote, or double any quote inside a quoted value ("").',
    })
  }
  accept(end.records)
  if (sample) decide(sample)

  if (columns.length === 0) {
    throw new DataFailure({ file, message: `${file} is empty: it has no rows. Choose a file with data rows.` })
  }
  if (rows.length === 0) {
    const first = rejected.list[0]
    if (!first) {
      throw new DataFailure({
        file,
        message: `${file} has a header (${namesList(columns)}) but no data rows. Add rows below the header.`,
      })
    }
    throw new DataFailure({
      file,
      row: first.row,
      message: `${file} has no usable rows: all ${rejected.count} data rows were left out. First problem: ${first.reason}.`,
    })
  }
  const delimiter = parser.delimiter ?? ','
  warnings.push(...readDecimalCommas(columns, rows, delimiter))
  return {
    format: format === 'csv' && delimiter === '\t' ? 'tsv' : format,
    columns,
    hasHeader,
    delimiter,
    rows,
    rowNumbers,
    rejected: rejected.list,
    rejectedCount: rejected.count,
    warnings,
  }
}

/** Column names for a message: the first few, then how many more (a wide file has thousands). */
function namesList(columns: readonly string[], shown = 8): string {
  if (columns.length <= shown) return columns.join(', ')
  return `${columns.slice(0, shown).join(', ')} and ${columns.length - shown} more columns`
}

function where(row: number, line: number): string {
  return row === line ? `row ${row}` : `row ${row} (line ${line})`
}

const DELIMITER_NAMES: Record<Delimiter, string> = { ',': 'comma', '\t': 'tab', ';': 'semicolon' }

function raggedReason(r: CsvRecord, expected: number, delimiter: Delimiter): string {
  const got = r.cells.length
  const hint =
    got > expected
      ? `a value with a ${DELIMITER_NAMES[delimiter]} in it must be in quotes`
      : 'a value may be missing'
  return `${where(r.row, r.line)} has ${got} field${got === 1 ? '' : 's'}, expected ${expected} (${hint})`
}

/** Header cells as column names: blanks get a name, repeats a suffix. */
function headerNames(cells: string[], warnings: DataWarning[]): string[] {
  const seen = new Set<string>()
  return cells.map((cell, i) => {
    let name = cell.trim() || `column_${i + 1}`
    if (seen.has(name)) {
      let k = 2
      while (seen.has(`${name}_${k}`)) k++
      warnings.push({ field: name, message: `Column name "${name}" appears twice; the second is called "${name}_${k}".` })
      name = `${name}_${k}`
    }
    seen.add(name)
    return name
  })
}

/** A ".json" starting with "{": one object holding the records ({"data": [...]}) is read as
 *  those records; anything else as JSON Lines. The text is held whole to tell them apart. */
async function readJsonObjectOrLines(file: string, chunks: AsyncIterable<string>, options: ReadTableOptions): Promise<ReadTable> {
  const parts: string[] = []
  for await (const chunk of chunks) parts.push(chunk)
  const found = recordsInJsonObject(file, parts.join(''))
  if (found === undefined) return readJson(file, 'jsonl', fromList(parts), options)
  if ('error' in found) throw new DataFailure({ file, message: found.error })
  const warnings = found.warning ? [{ message: found.warning }] : []
  return readJson(file, 'json', fromList([]), options, { records: found.records, problems: [] }, warnings)
}

async function* fromList(parts: string[]): AsyncGenerator<string> {
  yield* parts
}

async function readJson(
  file: string,
  format: 'json' | 'jsonl',
  chunks: AsyncIterable<string>,
  options: ReadTableOptions,
  parsed?: JsonChunkResult,
  warnings: DataWarning[] = [],
): Promise<ReadTable> {
  const parser = format === 'json' ? new JsonArrayParser() : new JsonLinesParser()
  const table = new RecordTable()
  const rejected = new Rejections()
  const accept = (res: JsonChunkResult): void => {
    for (const p of res.problems) rejected.add(p.row, p.reason)
    for (const r of res.records) {
      const reason = table.add(r)
      if (reason) rejected.add(r.row, reason)
    }
  }
  if (parsed) accept(parsed)
  else {
    for await (const chunk of chunks) {
      accept(parser.push(chunk))
      options.onRows?.(table.rows.length)
      if (parser instanceof JsonArrayParser && parser.fatal) break
    }
    accept(parser.finish())
  }
  if (parser instanceof JsonArrayParser && parser.fatal) {
    throw new DataFailure({ file, message: `${file} could not be read as JSON: ${parser.fatal}.` })
  }
  table.finish()
  if (table.rows.length === 0) {
    const first = rejected.list[0]
    throw new DataFailure({
      file,
      ...(first ? { row: first.row } : {}),
      message: first
        ? `${file} has no usable records: all ${rejected.count} were left out. First problem: ${first.reason}.`
        : `${file} is empty: it has no records. Choose a file with data.`,
    })
  }
  return {
    format,
    columns: table.columns,
    hasHeader: true,
    rows: table.rows,
    rowNumbers: table.rowNumbers,
    rejected: rejected.list,
    rejectedCount: rejected.count,
    warnings,
  }
}

async function readText(chunks: AsyncIterable<string>, options: ReadTableOptions): Promise<ReadTable> {
  const splitter = new TextBlockSplitter()
  const rows: string[][] = []
  const add = (blocks: string[]): void => {
    for (const b of blocks) rows.push([b])
  }
  for await (const chunk of chunks) {
    add(splitter.push(chunk))
    options.onRows?.(rows.length)
  }
  add(splitter.finish())
  return {
    format: 'text',
    columns: ['text'],
    hasHeader: false,
    rows,
    rowNumbers: rows.map((_, i) => i + 1),
    rejected: [],
    rejectedCount: 0,
    warnings: [],
  }
}
