import { describe, expect, it } from 'vitest'
import { CsvParser, detectDelimiter, isNumeric, looksLikeHeader, parseCsvText } from './csv'

const cells = (text: string, delimiter?: ',' | '\t' | ';') =>
  parseCsvText(text, delimiter ? { delimiter } : {}).records.map((r) => r.cells)

describe('CsvParser', () => {
  it('parses plain rows with LF and CRLF line ends and no final newline', () => {
    expect(cells('a,b\n1,2\r\n3,4')).toEqual([['a', 'b'], ['1', '2'], ['3', '4']])
  })

  it('handles quoted fields with commas, doubled quotes and embedded newlines', () => {
    const text = 'text,label\n"Hello, world",a\n"She said ""hi""",b\n"line one\nline two\r\nline three",c\n'
    expect(cells(text)).toEqual([
      ['text', 'label'],
      ['Hello, world', 'a'],
      ['She said "hi"', 'b'],
      ['line one\nline two\r\nline three', 'c'],
    ])
  })

  it('keeps empty fields, including a trailing one', () => {
    expect(cells('a,b,c\n,,\n1,,3\n4,5,\n')).toEqual([
      ['a', 'b', 'c'],
      ['', '', ''],
      ['1', '', '3'],
      ['4', '5', ''],
    ])
  })

  it('strips a BOM and skips blank lines but counts them in row numbers', () => {
    const { records } = parseCsvText('\uFEFFa,b\n\n1,2\n')
    expect(records.map((r) => r.cells)).toEqual([['a', 'b'], ['1', '2']])
    expect(records[0]!.cells[0]).toBe('a')
    expect(records.map((r) => r.row)).toEqual([1, 3])
  })

  it('reports the start line of a record after a multi-line quoted field', () => {
    const { records } = parseCsvText('h1,h2\n"a\nb\nc",x\nnext,y\n')
    expect(records.map((r) => [r.row, r.line])).toEqual([[1, 1], [2, 2], [3, 5]])
  })

  it('gives the same records whatever the chunk boundaries (CRLF, quotes split across chunks)', () => {
    const text = 'text,label\r\n"a ""quoted"", value\r\nwith newline",x\r\nplain,y\r\n"",z\r\n'
    const whole = cells(text, ',')
    for (const size of [1, 2, 3, 5, 7]) {
      const p = new CsvParser({ delimiter: ',' })
      const out: string[][] = []
      for (let i = 0; i < text.length; i += size) out.push(...p.push(text.slice(i, i + size)).map((r) => r.cells))
      out.push(...p.finish().records.map((r) => r.cells))
      expect(out).toEqual(whole)
    }
    expect(whole).toHaveLength(4)
  })

  it('reports an unclosed quote with the row and line where it opened', () => {
    const r = parseCsvText('a,b\n1,2\n3,"never closed\n4,5\n6,7\n')
    expect(r.unclosedQuote).toEqual({ row: 3, line: 3 })
    expect(r.records.map((x) => x.cells)).toEqual([['a', 'b'], ['1', '2']])
  })

  it('keeps a stray quote inside an unquoted field as text', () => {
    expect(cells('size,x\n5" screen,1\n')).toEqual([['size', 'x'], ['5" screen', '1']])
  })

  it('parses tab- and semicolon-separated text when told the delimiter', () => {
    expect(cells('a\tb\nx, y\tz\n', '\t')).toEqual([['a', 'b'], ['x, y', 'z']])
    expect(cells('a;b\n1,5;2\n', ';')).toEqual([['a', 'b'], ['1,5', '2']])
  })

  it('detects the delimiter from the first 64 kB when not given, even across many small pushes', () => {
    const p = new CsvParser()
    const text = 'text\tlabel\nhello, there\tham\nbuy, now, cheap\tspam\n'
    const out: string[][] = []
    for (const ch of text) out.push(...p.push(ch).map((r) => r.cells))
    out.push(...p.finish().records.map((r) => r.cells))
    expect(p.delimiter).toBe('\t')
    expect(out[2]).toEqual(['buy, now, cheap', 'spam'])
  })

  it('parses a large input in chunks with constant work per chunk', () => {
    const p = new CsvParser({ delimiter: ',' })
    const row = '"some text, with a comma",label\n'
    let n = 0
    const chunk = row.repeat(10000)
    for (let i = 0; i < 50; i++) n += p.push(chunk).length
    n += p.finish().records.length
    expect(n).toBe(500000)
  })
})

describe('detectDelimiter', () => {
  it('chooses tab when commas only appear inside text', () => {
    expect(detectDelimiter('text\tlabel\nhello, world\tham\nhi\tspam\n')).toBe('\t')
  })
  it('chooses semicolon for European-style CSV with decimal commas', () => {
    expect(detectDelimiter('a;b;c\n1,5;2,5;x\n3;4;y\n')).toBe(';')
  })
  it('ignores delimiters inside quotes', () => {
    expect(detectDelimiter('"a;b;c",d\n"e;f;g",h\n')).toBe(',')
  })
  it('falls back to comma for a single column', () => {
    expect(detectDelimiter('text\nhello\nworld\n')).toBe(',')
  })
})

describe('looksLikeHeader', () => {
  it('accepts names over numeric data', () => {
    expect(looksLikeHeader(['x', 'y'], [['1', '2'], ['3', '4']])).toBe(true)
  })
  it('accepts names over text and labels', () => {
    expect(looksLikeHeader(['text', 'label'], [['hello there', 'spam'], ['hi', 'ham']])).toBe(true)
  })
  it('rejects a first row of numbers', () => {
    expect(looksLikeHeader(['1', '2'], [['3', '4']])).toBe(false)
  })
  it('rejects a first row whose values recur in their column (data, not names)', () => {
    expect(looksLikeHeader(['great film', 'pos'], [['awful', 'neg'], ['fine', 'pos']])).toBe(false)
  })
  it('rejects a very long first cell (a sentence, not a name)', () => {
    expect(looksLikeHeader(['x'.repeat(61), 'a'], [['y', 'b']])).toBe(false)
  })
})

describe('isNumeric', () => {
  it('accepts decimal numbers and rejects other text', () => {
    for (const s of ['1', '-2.5', '+3', '.5', '4.', '1e3', ' 7 ']) expect(isNumeric(s), s).toBe(true)
    for (const s of ['', ' ', 'abc', '0x1f', 'Infinity', 'NaN', '1,5', '1.2.3']) expect(isNumeric(s), s).toBe(false)
  })
})
