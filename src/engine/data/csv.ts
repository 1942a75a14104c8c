/**
 * Incremental CSV/TSV parser: push text chunks, get complete records back.
 * RFC 4180 quoting (doubled quotes, delimiters and newlines inside quotes), CRLF, LF or
 * CR line ends, a leading BOM. It never holds more than the current chunk and the
 * current record, so a 100 MB file is parsed chunk by chunk.
 */

export type Delimiter = ',' | '\t' | ';'

export const DELIMITERS: readonly Delimiter[] = [',', '\t', ';']

/** One parsed record. `row` counts records from 1 (the header, if any, is row 1), as a
 * spreadsheet does; `line` is the text line where the record starts (they differ once a
 * quoted field spans lines). */
export interface CsvRecord {
  cells: string[]
  row: number
  line: number
}

/** Where a quoted field opened that never closed before the end of the file. */
export interface UnclosedQuote {
  row: number
  line: number
}

export interface CsvParserOptions {
  /** Leave out to detect it from the first 64 kB. */
  delimiter?: Delimiter
}

const QUOTE = 34 // "
const CR = 13
const LF = 10
const DETECT_SAMPLE_CHARS = 64 * 1024

// Parser states (plain numbers: no enums, so the file stays erasable TypeScript).
const FIELD_START = 0
const UNQUOTED = 1
const QUOTED = 2
/** Just read a quote inside a quoted field: either an escaped quote or the closing one. */
const QUOTE_IN_QUOTED = 3

export class CsvParser {
  private delim: Delimiter | undefined
  private delimCode = 0
  private pending = '' // text held back until the delimiter is known
  private started = false
  private state = FIELD_START
  private field = '' // the latest piece of the current field
  private pieces: string[] = [] // its earlier pieces, if any
  private cells: string[] = []
  private skipLf = false
  private row = 1
  private line = 1
  private recordLine = 1
  private quoteRow = 0
  private quoteLine = 0

  constructor(options: CsvParserOptions = {}) {
    if (options.delimiter !== undefined) this.setDelimiter(options.delimiter)
  }

  /** The delimiter in use (undefined until enough text has arrived to detect it). */
  get delimiter(): Delimiter | undefined {
    return this.delim
  }

  /** Feed the next piece of text; returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    if (!this.started && chunk.length > 0) {
      this.started = true
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    }
    if (this.delim === undefined) {
      this.pending += chunk
      if (this.pending.length < DETECT_SAMPLE_CHARS) return []
      return this.flushPending()
    }
    const out: CsvRecord[] = []
    this.consume(chunk, out)
    return out
  }

  /** Ends the input: returns the last records and, if the text ended inside a quoted
   * field, where that quote opened. */
  finish(): { records: CsvRecord[]; unclosedQuote?: UnclosedQuote } {
    const out = this.delim === undefined ? this.flushPending() : []
    if (this.state === QUOTED) {
      return { records: out, unclosedQuote: { row: this.quoteRow, line: this.quoteLine } }
    }
    if (this.state !== FIELD_START || this.cells.length > 0) {
      this.endField()
      this.endRecord(out)
    }
    return { records: out }
  }

  private flushPending(): CsvRecord[] {
    this.setDelimiter(detectDelimiter(this.pending))
    const text = this.pending
    this.pending = ''
    const out: CsvRecord[] = []
    this.consume(text, out)
    return out
  }

  private setDelimiter(d: Delimiter): void {
    this.delim = d
    this.delimCode = d.charCodeAt(0)
  }

  private consume(chunk: string, out: CsvRecord[]): void {
    const n = chunk.length
    const d = this.delimCode
    let i = 0
    while (i < n) {
      if (this.skipLf) {
        this.skipLf = false
        if (chunk.charCodeAt(i) === LF) {
          i++
          continue
        }
      }
      const state = this.state
      if (state === QUOTED) {
        const j = chunk.indexOf('"', i)
        const end = j === -1 ? n : j
        const piece = chunk.slice(i, end)
        this.append(piece)
        this.line += countNewlines(piece)
        if (j === -1) return
        this.state = QUOTE_IN_QUOTED
        i = j + 1
        continue
      }
      if (state === QUOTE_IN_QUOTED) {
        if (chunk.charCodeAt(i) === QUOTE) {
          this.append('"')
          this.state = QUOTED
          i++
          continue
        }
        // The quote closed the field. Text after it before the delimiter (`"a"b`) is
        // not RFC 4180; keep it literally rather than lose it.
        this.state = UNQUOTED
      }
      if (this.state === FIELD_START && chunk.charCodeAt(i) === QUOTE) {
        this.state = QUOTED
        this.quoteRow = this.row
        this.quoteLine = this.line
        i++
        continue
      }
      let j = i
      let c = 0
      while (j < n) {
        c = chunk.charCodeAt(j)
        if (c === d || c === CR || c === LF) break
        j++
      }
      this.append(chunk.slice(i, j))
      this.state = UNQUOTED
      if (j === n) return
      this.endField()
      if (c !== d) {
        this.endRecord(out)
        this.line++
        this.recordLine = this.line
        if (c === CR) this.skipLf = true
      }
      i = j + 1
    }
  }

  /** Fields made of several pieces (escaped quotes, chunk boundaries) are joined once at
   * the end: `+=` would leave a tree of string fragments per cell, several times the
   * memory of the text itself on a large file. */
  private append(piece: string): void {
    if (this.field === '') this.field = piece
    else if (piece !== '') {
      this.pieces.push(this.field)
      this.field = piece
    }
  }

  private endField(): void {
    const p = this.pieces
    this.cells.push(p.length === 0 ? this.field : (p.push(this.field), p.join('')))
    p.length = 0
    this.field = ''
    this.state = FIELD_START
  }

  private endRecord(out: CsvRecord[]): void {
    const cells = this.cells
    this.cells = []
    // A blank line is one empty cell: skip it, but count it so row numbers match an editor.
    if (!(cells.length === 1 && cells[0] === '')) {
      out.push({ cells, row: this.row, line: this.recordLine })
    }
    this.row++
  }
}

function countNewlines(s: string): number {
  let count = 0
  let i = s.indexOf('\n')
  while (i !== -1) {
    count++
    i = s.indexOf('\n', i + 1)
  }
  return count
}

/** Parses a whole string (for tests and small inputs). */
export function parseCsvText(
  text: string,
  options: CsvParserOptions = {},
): { records: CsvRecord[]; delimiter: Delimiter; unclosedQuote?: UnclosedQuote } {
  const parser = new CsvParser(options)
  const records = parser.push(text)
  const end = parser.finish()
  records.push(...end.records)
  const delimiter = parser.delimiter ?? ','
  return end.unclosedQuote
    ? { records, delimiter, unclosedQuote: end.unclosedQuote }
    : { records, delimiter }
}

/**
 * Picks the delimiter that splits the first records into the same number (>1) of fields
 * most consistently. Quote-aware, so commas inside quoted text do not count.
 */
export function detectDelimiter(sample: string): Delimiter {
  let best: Delimiter = ','
  let bestScore = 0
  for (const d of DELIMITERS) {
    const parser = new CsvParser({ delimiter: d })
    // push() returns only completed records, so a record the sample cut short is left out.
    const records = parser.push(sample).slice(0, 20)
    const first = records[0]
    if (!first || first.cells.length < 2) continue
    const same = records.filter((r) => r.cells.length === first.cells.length).length
    const score = same / records.length + first.cells.length / 1000
    if (score > bestScore) {
      best = d
      bestScore = score
    }
  }
  return best
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/** A finite decimal number as written in a data file ("1", "-2.5", "3e4"); not "", "0x1f". */
export function isNumeric(s: string): boolean {
  return NUMBER.test(s.trim())
}

/**
 * Guesses whether the first record names the columns. Most files have a header, so the
 * answer is yes unless the first record looks like data: a numeric or very long cell, or
 * a cell that also occurs as a value further down its column. (Repeated names are allowed:
 * readTable renames them.)
 */
export function looksLikeHeader(
  first: readonly string[],
  rest: readonly (readonly string[])[],
): boolean {
  const names = first.map((c) => c.trim())
  if (names.some((c) => c.length > 60 || isNumeric(c))) return false
  const sample = rest.slice(0, 500)
  for (let col = 0; col < names.length; col++) {
    const name = names[col]
    if (!name) continue
    for (const r of sample) {
      if (r[col]?.trim() === name) return false
    }
  }
  return true
}
