/**
 * Incremental readers for JSON Lines and for a top-level JSON array of records, plus a
 * table builder that turns records (objects) into columns and string rows.
 * Both readers take text chunks, so a large file is never one giant string.
 */

/** One record as read. `row` is the line number (JSON Lines) or the 1-based position in
 * the array (JSON array). */
export interface JsonRecord {
  value: unknown
  row: number
}

export interface JsonProblem {
  row: number
  reason: string
}

export interface JsonChunkResult {
  records: JsonRecord[]
  problems: JsonProblem[]
}

/** JSON Lines: one JSON value per line; blank lines are skipped. */
export class JsonLinesParser {
  private tail = ''
  private line = 0
  private started = false

  push(chunk: string): JsonChunkResult {
    if (!this.started && chunk.length > 0) {
      this.started = true
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    }
    const text = this.tail + chunk
    const lastNl = text.lastIndexOf('\n')
    if (lastNl === -1) {
      this.tail = text
      return { records: [], problems: [] }
    }
    this.tail = text.slice(lastNl + 1)
    return this.parseLines(text.slice(0, lastNl).split('\n'))
  }

  finish(): JsonChunkResult {
    const rest = this.tail
    this.tail = ''
    return rest.trim() === '' ? { records: [], problems: [] } : this.parseLines([rest])
  }

  private parseLines(lines: string[]): JsonChunkResult {
    const out: JsonChunkResult = { records: [], problems: [] }
    for (const raw of lines) {
      this.line++
      const line = raw.trim()
      if (line === '') continue
      try {
        out.records.push({ value: JSON.parse(line), row: this.line })
      } catch (e) {
        out.problems.push({ row: this.line, reason: `line ${this.line} is not valid JSON (${errorText(e)})` })
      }
    }
    return out
  }
}

const OPEN_BRACE = 123
const CLOSE_BRACE = 125
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93
const COMMA = 44
const QUOTE = 34
const BACKSLASH = 92

/**
 * A top-level JSON array, read element by element: it tracks nesting depth and strings
 * to find where each element ends, then JSON.parses just that element.
 */
export class JsonArrayParser {
  private phase: 'before' | 'inside' | 'after' = 'before'
  private depth = 0 // nesting inside the current element
  private inString = false
  private escaped = false
  private element = '' // text of the element so far (from earlier chunks)
  private index = 0
  private line = 1
  private elementLine = 1
  private hasContent = false // seen the first character of the current element
  private started = false
  /** Set when the text is not an array at all, or has something after it. */
  fatal: string | undefined

  push(chunk: string): JsonChunkResult {
    const out: JsonChunkResult = { records: [], problems: [] }
    if (!this.started && chunk.length > 0) {
      this.started = true
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    }
    if (this.fatal) return out
    let start = 0 // where the current element's text begins in this chunk
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i)
      if (c === 10) this.line++
      if (this.phase === 'before') {
        if (isSpace(c)) continue
        if (c !== OPEN_BRACKET) {
          this.fatal = 'it does not start with "[" (expected a JSON array of objects, or JSON Lines)'
          return out
        }
        this.phase = 'inside'
        start = i + 1
        this.elementLine = this.line
        continue
      }
      if (this.phase === 'after') {
        if (!isSpace(c)) {
          this.fatal = `there is more text after the closing "]" (line ${this.line})`
          return out
        }
        continue
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === BACKSLASH) this.escaped = true
        else if (c === QUOTE) this.inString = false
        continue
      }
      if (!this.hasContent && !isSpace(c) && !(this.depth === 0 && (c === COMMA || c === CLOSE_BRACKET))) {
        this.hasContent = true
        this.elementLine = this.line
      }
      if (c === QUOTE) this.inString = true
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++
      else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && this.depth > 0) this.depth--
      else if (this.depth === 0 && (c === COMMA || c === CLOSE_BRACKET)) {
        this.element += chunk.slice(start, i)
        this.emit(out, c === CLOSE_BRACKET)
        start = i + 1
        if (c === CLOSE_BRACKET) this.phase = 'after'
      }
    }
    if (this.phase === 'inside') this.element += chunk.slice(start)
    return out
  }

  /** Ends the input; `fatal` is set if the array never closed. */
  finish(): JsonChunkResult {
    if (!this.fatal && this.phase === 'before') this.fatal = 'it contains no JSON array'
    else if (!this.fatal && this.phase === 'inside') {
      this.fatal = `the array is not closed: the file ends inside element ${this.index + 1} (line ${this.elementLine}); the file may be cut short`
    }
    return { records: [], problems: [] }
  }

  private emit(out: JsonChunkResult, closing: boolean): void {
    const text = this.element.trim()
    this.element = ''
    const line = this.elementLine
    this.hasContent = false
    // `[]` and a trailing `, ]` leave an empty element at the close: not a record.
    if (text === '' && closing) return
    this.index++
    try {
      out.records.push({ value: JSON.parse(text), row: this.index })
    } catch (e) {
      out.problems.push({
        row: this.index,
        reason: `element ${this.index} (line ${line}) is not valid JSON (${errorText(e)})`,
      })
    }
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/**
 * Turns records into a table: columns are the union of keys in first-seen order, a missing
 * key becomes "", numbers and booleans become their text, nested values their JSON.
 */
export class RecordTable {
  readonly columns: string[] = []
  readonly rows: string[][] = []
  readonly rowNumbers: number[] = []
  private index = new Map<string, number>()

  /** Adds one record; returns a reason if it is not an object with fields. */
  add(record: JsonRecord): string | undefined {
    const v = record.value
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      const kind = v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`
      return `record ${record.row} is ${kind}, not an object with named fields`
    }
    const row: string[] = new Array<string>(this.columns.length).fill('')
    for (const [key, value] of Object.entries(v)) {
      let col = this.index.get(key)
      if (col === undefined) {
        col = this.columns.length
        this.columns.push(key)
        this.index.set(key, col)
      }
      row[col] = cellText(value)
    }
    this.rows.push(row)
    this.rowNumbers.push(record.row)
    return undefined
  }

  /** Pads rows read before a later record introduced new keys. */
  finish(): void {
    const width = this.columns.length
    for (const row of this.rows) {
      while (row.length < width) row.push('')
    }
  }
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}
