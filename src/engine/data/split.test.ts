import { describe, expect, it } from 'vitest'
import { parseDatasetText, type Dataset } from './dataset'
import { splitDataset, useValidationDataset } from './split'

async function load(name: string, text: string): Promise<Dataset> {
  const r = await parseDatasetText(name, text)
  if (!r.ok) throw new Error(r.error.message)
  return r.dataset
}

function csv(rows: [string, string][]): string {
  return 'text,label\n' + rows.map(([t, l]) => `"${t}",${l}`).join('\n') + '\n'
}

// 80 "a", 20 "b": a plain random split could easily put 0 or 8 "b" in validation.
const rows: [string, string][] = Array.from({ length: 100 }, (_, i) => [`message number ${i} here`, i < 80 ? 'a' : 'b'])

describe('splitDataset', () => {
  it('keeps class proportions on both sides', async () => {
    const d = await load('s.csv', csv(rows))
    const s = splitDataset(d, { validationFraction: 0.2, seed: 1 })
    expect(s.stratifiedBy).toBe('label')
    expect(s.validation).toHaveLength(20)
    expect(s.train).toHaveLength(80)
    const countB = (idx: number[]) => idx.filter((i) => d.rows[i]![1] === 'b').length
    expect(countB(s.validation)).toBe(4)
    expect(countB(s.train)).toBe(16)
    // A partition: every row exactly once.
    expect([...s.train, ...s.validation].sort((a, b) => a - b)).toEqual([...Array(100).keys()])
    expect(s.overlap).toEqual({ count: 0, examples: [] })
  })

  it('is deterministic for a seed and differs across seeds', async () => {
    const d = await load('s.csv', csv(rows))
    const a = splitDataset(d, { validationFraction: 0.25, seed: 7 })
    const b = splitDataset(d, { validationFraction: 0.25, seed: 7 })
    const c = splitDataset(d, { validationFraction: 0.25, seed: 8 })
    expect(a).toEqual(b)
    expect(a.validation).not.toEqual(c.validation)
  })

  it('keeps at least one training example of every class', async () => {
    const d = await load('s.csv', csv([['one a', 'a'], ['two a', 'a'], ['only b', 'b'], ['three a', 'a']]))
    const s = splitDataset(d, { validationFraction: 0.9, seed: 3 })
    const trainLabels = new Set(s.train.map((i) => d.rows[i]![1]))
    expect(trainLabels).toEqual(new Set(['a', 'b']))
  })

  it('reports exact duplicates that land on both sides, with row numbers', async () => {
    const dup: [string, string][] = [...rows.slice(0, 40), ...Array.from({ length: 10 }, (): [string, string] => ['buy now', 'b']), ...rows.slice(80)]
    const d = await load('d.csv', csv(dup))
    const s = splitDataset(d, { validationFraction: 0.3, seed: 5 })
    const dupInVal = s.validation.filter((i) => d.rows[i]![0] === 'buy now').length
    expect(dupInVal).toBeGreaterThan(0)
    expect(s.overlap.count).toBe(dupInVal)
    expect(s.overlap.examples.length).toBe(Math.min(5, dupInVal))
    for (const ex of s.overlap.examples) {
      // Rows 42..51 in the file hold "buy now" (row 1 is the header).
      expect(ex.trainRow).toBeGreaterThanOrEqual(42)
      expect(ex.validationRow).toBeLessThanOrEqual(51)
      expect(ex.trainRow).not.toBe(ex.validationRow)
    }
  })

  it('holds out the end of a text for language modelling', async () => {
    const text = Array.from({ length: 20 }, (_, i) => `Block ${i} ` + 'word '.repeat(250)).join('\n\n')
    const d = await load('t.txt', text)
    const s = splitDataset(d, { validationFraction: 0.25, seed: 1 })
    expect(s.validation).toEqual([15, 16, 17, 18, 19])
    expect(s.stratifiedBy).toBeUndefined()
  })

  it('refuses a fraction outside [0, 1)', async () => {
    const d = await load('s.csv', csv(rows))
    expect(() => splitDataset(d, { validationFraction: 1, seed: 1 })).toThrow(RangeError)
  })
})

describe('useValidationDataset', () => {
  it('accepts a compatible file and counts duplicates with the training data', async () => {
    const train = await load('train.csv', csv(rows))
    const val = await load('val.csv', csv([['message number 3 here', 'a'], ['fresh text here', 'b'], ['another new one', 'a']]))
    const r = useValidationDataset(train, val)
    if (!r.ok) throw new Error(r.error.message)
    expect(r.split.validation).toEqual([0, 1, 2])
    expect(r.split.overlap).toEqual({ count: 1, examples: [{ trainRow: 5, validationRow: 2 }] })
    expect(r.warnings[0]!.message).toMatch(/1 validation row is also in the training data/)
  })

  it('refuses classes the training data lacks, and missing columns', async () => {
    const train = await load('train.csv', csv(rows))
    const val = await load('val.csv', csv([['some text', 'a'], ['other text', 'c'], ['more text', 'a']]))
    const r = useValidationDataset(train, val)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.message).toMatch(/val\.csv has classes in "label" that the training data lacks: "c"/)
    const val2 = await load('val2.csv', 'body,label\nsome text here,a\nother text here,b\n')
    const r2 = useValidationDataset(train, val2)
    expect(r2.ok).toBe(false)
    if (!r2.ok) expect(r2.error.field).toBe('text')
  })
})
