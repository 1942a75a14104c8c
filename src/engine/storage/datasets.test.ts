import 'fake-indexeddb/auto'
import { describe, expect, it } from 'vitest'
import { parseDatasetText } from '../data/dataset'
import { DatasetStore, datasetId, type StoredDatasetMeta } from './datasets'

let n = 0
const open = async () => (await DatasetStore.open(`test-datasets-${++n}`))!

async function table(name: string) {
  const r = await parseDatasetText(name, 'text,label\nhello there,a\ngood bye,b\nsee you,a\n')
  if (!r.ok) throw new Error(r.error.message)
  return r.dataset
}

const meta = (id: string, kind: 'table' | 'images' = 'table'): StoredDatasetMeta => ({ id, name: id, kind, bytes: 10, rows: 3, task: 'text-classification', source: 'file', createdAt: 1, lastUsedAt: 1 })

describe('DatasetStore', () => {
  it('stores a parsed table and reads it back whole', async () => {
    const s = await open()
    const d = await table('a.csv')
    await s.putTable(meta('t1'), d)
    const back = await s.getTable('t1')
    expect(back?.dataset.rows).toEqual(d.rows)
    expect(back?.dataset.classes).toEqual(d.classes)
    expect(back?.meta.name).toBe('t1')
    expect(await s.getTable('nope')).toBeUndefined()
  })

  it('lists most recently used first and remembers the last used', async () => {
    const s = await open()
    await s.putTable(meta('a'), await table('a.csv'))
    await s.putTable(meta('b'), await table('b.csv'))
    expect(await s.lastUsed()).toBeUndefined()
    await s.markUsed('a')
    expect((await s.list()).map((m) => m.id)).toEqual(['a', 'b'])
    expect(await s.lastUsed()).toBe('a')
    await s.markUsed('b')
    expect((await s.list())[0]!.id).toBe('b')
  })

  it('adds and removes a validation file and updates roles', async () => {
    const s = await open()
    await s.putTable(meta('a'), await table('a.csv'))
    await s.setValidation('a', await table('v.csv'))
    expect((await s.getTable('a'))?.validation?.name).toBe('v.csv')
    expect((await s.getMeta('a'))?.validationName).toBe('v.csv')
    await s.setValidation('a', null)
    expect((await s.getTable('a'))?.validation).toBeUndefined()
    await s.updateMeta('a', { roles: { text: 'label', labels: ['text'], features: [] } })
    expect((await s.getMeta('a'))?.roles?.text).toBe('label')
  })

  it('keeps image bytes per image and deletes a set with all its images', async () => {
    const s = await open()
    await s.beginImages(meta('img', 'images'))
    await s.addImages('img', [0, 1, 2].map((i) => ({ index: i, image: { bytes: new Uint8Array([i, i]), mime: 'image/png' as const, path: `c/${i}.png`, label: i % 2 } })))
    await s.beginImages(meta('other', 'images'))
    await s.addImages('other', [{ index: 0, image: { bytes: new Uint8Array([9]), mime: 'image/png', path: 'x', label: 0 } }])
    const got = await s.getImages('img', [2, 0])
    expect(got.map((g) => [...g.bytes])).toEqual([[2, 2], [0, 0]])
    expect(got[0]!.label).toBe(0)
    await s.markUsed('img')
    await s.delete('img')
    expect(await s.getImage('img', 1)).toBeUndefined()
    expect(await s.getMeta('img')).toBeUndefined()
    expect(await s.lastUsed()).toBeUndefined()
    expect((await s.getImage('other', 0))?.path).toBe('x')
    await expect(s.getImages('img', [0])).rejects.toThrow(/missing/)
  })

  it('makes the same id for the same file', () => {
    expect(datasetId('table', 'a.csv', 10)).toBe(datasetId('table', 'a.csv', 10))
    expect(datasetId('table', 'a.csv', 10)).not.toBe(datasetId('table', 'a.csv', 11))
  })
})
