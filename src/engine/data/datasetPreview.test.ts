import { describe, expect, it } from 'vitest'
import { parseDatasetText, type Dataset } from './dataset'
import { lengthHistogram, planSplit, valueHistogram } from './datasetPreview'

async function load(name: string, text: string, roles?: Dataset['roles']): Promise<Dataset> {
  const r = await parseDatasetText(name, text, roles ? { roles } : {})
  if (!r.ok) throw new Error(r.error.message)
  return r.dataset
}

const csv = (rows: [string, string][]) => 'text,label\n' + rows.map(([t, l]) => `"${t}",${l}`).join('\n') + '\n'

describe('lengthHistogram', () => {
  it('counts every text once in bins of a readable width starting at zero', async () => {
    const d = await load('h.csv', csv([['a', 'x'], ['abcdefghij', 'y'], ['abcde fghij klmno', 'x'], ['ab', 'y']]))
    const h = lengthHistogram(d, 4)
    expect(h[0]!.from).toBe(0)
    const width = h[0]!.to
    expect(width).toBe(5) // (17 + 1) / 4 = 4.5 → 5
    expect(h.reduce((s, b) => s + b.count, 0)).toBe(4)
    expect(h.map((b) => b.count)).toEqual([2, 0, 1, 1])
  })

  it('is empty without a text column', async () => {
    const d = await load('n.csv', 'x,y,label\n1,2,a\n3,4,b\n5,6,a\n')
    expect(lengthHistogram(d)).toEqual([])
  })
})

describe('planSplit', () => {
  const rows: [string, string][] = Array.from({ length: 40 }, (_, i) => [`text ${i}`, i % 4 === 0 ? 'b' : 'a'])

  it('counts classes on each side of a held-out split', async () => {
    const d = await load('s.csv', csv(rows))
    const p = planSplit(d, null, { validationFraction: 0.25, seed: 3 })
    if (!p.ok) throw new Error(p.error.message)
    expect(p.summary.mode).toBe('split')
    expect(p.summary.train + p.summary.validation).toBe(40)
    const a = p.summary.perClass.find((c) => c.name === 'a')!
    const b = p.summary.perClass.find((c) => c.name === 'b')!
    expect(a.train + a.validation).toBe(30)
    expect(b).toEqual({ name: 'b', train: 7, validation: 3 }) // round(10 × 0.25)
    expect(p.summary.duplicates).toBe(0)
  })

  it('finds exact duplicates across the split and names their rows', async () => {
    const dup: [string, string][] = [...rows, ...rows.slice(0, 10)]
    const d = await load('d.csv', csv(dup))
    const p = planSplit(d, null, { validationFraction: 0.5, seed: 1 })
    if (!p.ok) throw new Error(p.error.message)
    expect(p.summary.duplicates).toBeGreaterThan(0)
    const ex = p.summary.duplicateExamples[0]!
    // Row numbers are file rows (header = 1), and the pair holds the same text.
    const text = (row: number) => d.rows[d.rowNumbers.indexOf(row)]![0]
    expect(text(ex.trainRow)).toBe(text(ex.validationRow))
    expect(p.summary.warnings.join(' ')).toMatch(/repeat a training row/)
  })

  it('uses a separate validation file whole, maps its classes to the training ones and reports duplicates', async () => {
    const train = await load('t.csv', csv(rows))
    const val = await load('v.csv', csv([['text 1', 'a'], ['fresh one', 'b'], ['fresh two', 'a']]), train.roles)
    const p = planSplit(train, val, { validationFraction: 0.2, seed: 1 })
    if (!p.ok) throw new Error(p.error.message)
    expect(p.summary.mode).toBe('file')
    expect(p.summary.validationFile).toBe('v.csv')
    expect(p.summary.train).toBe(40)
    expect(p.summary.validation).toBe(3)
    expect(p.summary.duplicates).toBe(1)
    expect(p.summary.duplicateExamples[0]).toEqual({ trainRow: 3, validationRow: 2 })
    expect(p.validation.classes).toBe(train.classes)
  })

  it('refuses a validation file with a class the training data lacks', async () => {
    const train = await load('t.csv', csv(rows))
    const val = await load('v.csv', csv([['x one', 'a'], ['y two', 'zzz']]), train.roles)
    const p = planSplit(train, val, { validationFraction: 0.2, seed: 1 })
    expect(p.ok).toBe(false)
    if (!p.ok) expect(p.error.message).toContain('"zzz"')
  })
})

describe('valueHistogram', () => {
  it('bins a numeric target from its minimum to its maximum and counts every row', async () => {
    const { parseDataset } = await import('./dataset')
    const csv = 'text,score\n' + Array.from({ length: 50 }, (_, i) => `word ${i},${i % 10}`).join('\n')
    const r = await parseDataset('s.csv', new TextEncoder().encode(csv))
    if (!r.ok) throw new Error(r.error.message)
    const bins = valueHistogram(r.dataset, 'score', 5)
    expect(bins).toHaveLength(5)
    expect(bins[0]!.from).toBe(0)
    expect(bins[4]!.to).toBe(9)
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(50)
    expect(bins.map((b) => b.count)).toEqual([10, 10, 10, 10, 10])
  })
})
