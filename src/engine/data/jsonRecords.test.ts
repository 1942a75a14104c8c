import { describe, expect, it } from 'vitest'
import { JsonArrayParser, JsonLinesParser, RecordTable, type JsonChunkResult } from './jsonRecords'

function feed(p: { push(c: string): JsonChunkResult; finish(): JsonChunkResult }, text: string, size: number) {
  const all: JsonChunkResult = { records: [], problems: [] }
  const add = (r: JsonChunkResult) => {
    all.records.push(...r.records)
    all.problems.push(...r.problems)
  }
  for (let i = 0; i < text.length; i += size) add(p.push(text.slice(i, i + size)))
  add(p.finish())
  return all
}

describe('JsonLinesParser', () => {
  it('reads one record per line, skips blank lines, and numbers rows by line', () => {
    const text = '{"text":"a","label":"x"}\n\n{"text":"b","label":"y"}\r\n{"text":"c"}'
    for (const size of [1, 4, 1000]) {
      const r = feed(new JsonLinesParser(), text, size)
      expect(r.records.map((x) => x.row)).toEqual([1, 3, 4])
      expect(r.records[1]!.value).toEqual({ text: 'b', label: 'y' })
      expect(r.problems).toEqual([])
    }
  })

  it('reports a bad line with its number and keeps the others', () => {
    const r = feed(new JsonLinesParser(), '{"a":1}\n{"a":2,}\n{"a":3}\n', 5)
    expect(r.records.map((x) => x.row)).toEqual([1, 3])
    expect(r.problems).toHaveLength(1)
    expect(r.problems[0]!.row).toBe(2)
    expect(r.problems[0]!.reason).toMatch(/line 2 is not valid JSON/)
  })
})

describe('JsonArrayParser', () => {
  const text = '[\n  {"text": "a ] tricky, \\"string\\" {", "label": "x"},\n  {"text": "b", "nested": [1, {"k": 2}]},\n  {"text": "c"}\n]\n'

  it('splits elements correctly at any chunk size, ignoring brackets inside strings', () => {
    for (const size of [1, 3, 17, 10000]) {
      const p = new JsonArrayParser()
      const r = feed(p, text, size)
      expect(p.fatal).toBeUndefined()
      expect(r.records.map((x) => x.row)).toEqual([1, 2, 3])
      expect(r.records[0]!.value).toEqual({ text: 'a ] tricky, "string" {', label: 'x' })
      expect(r.records[1]!.value).toEqual({ text: 'b', nested: [1, { k: 2 }] })
    }
  })

  it('handles an empty array', () => {
    const p = new JsonArrayParser()
    expect(feed(p, ' [ ] ', 2).records).toEqual([])
    expect(p.fatal).toBeUndefined()
  })

  it('flags a truncated array with the element and line where it broke off', () => {
    const p = new JsonArrayParser()
    feed(p, '[{"a":1},\n{"a":2},\n{"a":', 4)
    expect(p.fatal).toMatch(/element 3 \(line 3\)/)
  })

  it('flags text that is not an array', () => {
    const p = new JsonArrayParser()
    feed(p, '{"a": 1}', 3)
    expect(p.fatal).toMatch(/does not start with "\["/)
  })

  it('reports an invalid element and keeps the rest', () => {
    const r = feed(new JsonArrayParser(), '[{"a":1}, {a:2}, {"a":3}]', 4)
    expect(r.records.map((x) => x.row)).toEqual([1, 3])
    expect(r.problems[0]!.row).toBe(2)
  })
})

describe('RecordTable', () => {
  it('unions keys in first-seen order and fills gaps with empty strings', () => {
    const t = new RecordTable()
    expect(t.add({ value: { text: 'a', label: 'x' }, row: 1 })).toBeUndefined()
    t.add({ value: { text: 'b', score: 2.5, ok: true, extra: null }, row: 2 })
    t.add({ value: { label: 'z', tags: ['p', 'q'] }, row: 3 })
    t.finish()
    expect(t.columns).toEqual(['text', 'label', 'score', 'ok', 'extra', 'tags'])
    expect(t.rows).toEqual([
      ['a', 'x', '', '', '', ''],
      ['b', '', '2.5', 'true', '', ''],
      ['', 'z', '', '', '', '["p","q"]'],
    ])
    expect(t.rowNumbers).toEqual([1, 2, 3])
  })

  it('refuses records that are not objects, saying what they are', () => {
    const t = new RecordTable()
    expect(t.add({ value: 'just text', row: 4 })).toMatch(/record 4 is a string/)
    expect(t.add({ value: [1, 2], row: 5 })).toMatch(/record 5 is an array/)
    expect(t.add({ value: null, row: 6 })).toMatch(/record 6 is null/)
    expect(t.rows).toHaveLength(0)
  })
})
