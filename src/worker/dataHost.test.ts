import 'fake-indexeddb/auto'
import { zipSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import { fakeDecoder, fakeImage } from '../engine/data/images/testDecoder'
import { DEFAULTS } from '../settings/schema'
import { DataHost } from './dataHost'
import type { FromWorker } from './protocol'

let n = 0
function host(files: Record<string, string> = {}) {
  const events: FromWorker[] = []
  const fetchFn = (async (url: string | URL | Request) => {
    const body = files[String(url)]
    return body === undefined ? new Response('nope', { status: 404 }) : new Response(body)
  }) as typeof fetch
  const h = new DataHost((e) => events.push(e), fetchFn, fakeDecoder, `dh-test-${++n}`)
  const last = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type).at(-1)
  return { h, events, last }
}

const rows = (k: number, label = (i: number) => (i % 2 ? 'spam' : 'ham')) => Array.from({ length: k }, (_, i) => `"message ${i} about things",${label(i)},${i % 3 ? 'x' : 'y'}`).join('\n')
const CSV = `text,label,topic\n${rows(30)}\n`
const file = (name: string, text: string | Uint8Array) => new File([text as BlobPart], name)

describe('DataHost: tables', () => {
  it('loads, stores and lists a file, with split and length details', async () => {
    const { h, last } = host()
    await h.load({ type: 'loadDataset', source: { kind: 'file', file: file('mine.csv', CSV) } })
    const s = last('dataset')!.summary
    expect(s.rows).toBe(30)
    expect(s.details?.kind).toBe('table')
    expect(s.details?.allColumns).toEqual(['text', 'label', 'topic'])
    expect(s.details?.roles).toEqual({ text: 'text', labels: ['label', 'topic'], features: [] })
    expect(s.details?.storedId).toBeDefined()
    expect(s.details?.split?.train! + s.details?.split?.validation!).toBe(30)
    expect(s.details?.lengthHistogram.reduce((a, b) => a + b.count, 0)).toBe(30)
    const list = last('datasets')!
    expect(list.list.map((d) => d.name)).toEqual(['mine.csv'])
    expect(list.currentId).toBe(s.details?.storedId)
  })

  it('keeps the loaded dataset when a bad file comes, and names the file', async () => {
    const { h, events, last } = host()
    await h.load({ type: 'loadDataset', source: { kind: 'file', file: file('good.csv', CSV) } })
    await h.load({ type: 'loadDataset', source: { kind: 'file', file: file('bad.csv', 'text,label\n"never closed,a\n') } })
    expect(last('error')!.where).toContain('bad.csv')
    expect(h.dataset?.name).toBe('good.csv')
    expect(events.filter((e) => e.type === 'dataset')).toHaveLength(1)
  })

  it('refuses files over the (configurable) size limit', async () => {
    const { h, last } = host()
    await h.handle({ type: 'setDataLimits', maxBytes: 100 })
    await h.load({ type: 'loadDataset', source: { kind: 'file', file: file('big.csv', CSV) } })
    expect(last('error')!.message).toMatch(/big\.csv is .*the limit is 100 B/)
    expect(h.dataset).toBeNull()
  })

  it('changes roles in the worker and keeps them for the next visit', async () => {
    const { h, last } = host()
    await h.load({ type: 'loadDataset', source: { kind: 'file', file: file('r.csv', CSV) } })
    const id = last('dataset')!.summary.details!.storedId!
    await h.handle({ type: 'setRoles', roles: { text: 'text', labels: ['topic'] } })
    expect(last('dataset')!.summary.classes.map((c) => c.name)).toEqual(['x', 'y'])
    await h.handle({ type: 'setRoles', roles: { text: 'text', labels: ['nope'] } })
    expect(last('error')!.message).toContain('no column "nope"')
    expect(h.dataset?.roles.labels).toEqual(['topic'])
    // A fresh host on the same storage (a reload) opens it with those roles.
    const again = new DataHost(() => {}, fetch, null, `dh-test-${n}`)
    await again.handle({ type: 'restoreDataset', fallback: { url: 'x', name: 'x' } })
    expect(again.dataset?.name).toBe('r.csv')
    expect(again.dataset?.roles.labels).toEqual(['topic'])
    expect(again.summary?.details?.storedId).toBe(id)
  })

  it('uses a separate validation file and reports duplicates across it', async () => {
    const { h, last } = host()
    await h.load({ type: 'loadDataset', source: { kind: 'file', file: file('t.csv', CSV) } })
    await h.handle({ type: 'loadValidation', file: file('v.csv', 'text,label,topic\n"message 3 about things",spam,x\n"fresh text here",ham,y\n') })
    const split = last('dataset')!.summary.details!.split!
    expect(split.mode).toBe('file')
    expect(split).toMatchObject({ train: 30, validation: 2, duplicates: 1 })
    expect(split.duplicateExamples[0]).toEqual({ trainRow: 5, validationRow: 2 })
    const p = h.splitRows({ ...DEFAULTS })
    expect(p.validation.name).toBe('v.csv')
    await h.handle({ type: 'loadValidation', file: file('w.csv', 'text,label,topic\n"a b c d",eggs,x\n') })
    expect(last('error')!.message).toContain('"eggs"')
    expect(h.validation?.name).toBe('v.csv')
    await h.handle({ type: 'clearValidation' })
    expect(last('dataset')!.summary.details!.split!.mode).toBe('split')
  })

  it('restores the last dataset, or loads the sample when there is none; switches and deletes', async () => {
    const { h, last } = host({ 'http://x/s.csv': CSV })
    await h.handle({ type: 'restoreDataset', fallback: { url: 'http://x/s.csv', name: 's.csv' } })
    expect(last('dataset')!.summary.source).toBe('sample: s.csv')
    await h.load({ type: 'loadDataset', source: { kind: 'file', file: file('other.csv', CSV) } })
    const list = last('datasets')!.list
    expect(list.map((d) => d.name)).toEqual(['other.csv', 's.csv'])
    await h.handle({ type: 'selectDataset', id: list[1]!.id })
    expect(h.dataset?.name).toBe('s.csv')
    await h.handle({ type: 'deleteDataset', id: list[0]!.id })
    expect(last('datasets')!.list.map((d) => d.name)).toEqual(['s.csv'])
    await h.handle({ type: 'selectDataset', id: list[0]!.id })
    expect(last('error')!.message).toContain('no longer in this browser')
    expect(h.dataset?.name).toBe('s.csv')
  })

  it('recomputes the split summary when the split settings change', async () => {
    const { h, last } = host()
    await h.load({ type: 'loadDataset', source: { kind: 'file', file: file('c.csv', CSV) } })
    h.configure({ ...DEFAULTS, valSplit: 0.5 })
    expect(last('dataset')!.summary.details!.split!.validation).toBe(16) // round(15 × 0.5) per class
  })
})

describe('DataHost: images', () => {
  const red = fakeImage(4, 4, () => [255, 0, 0, 255])
  const blue = fakeImage(4, 4, () => [0, 0, 255, 255])

  it('loads a zip of class folders, names undecodable images, and serves batches and previews', async () => {
    const { h, last } = host()
    const zip = zipSync({ 'set/red/1.png': red, 'set/red/2.png': red, 'set/blue/1.png': blue, 'set/blue/broken.png': new Uint8Array([1, 2, 3]) })
    await h.handle({ type: 'loadImages', source: { kind: 'zip', file: file('colours.zip', zip) } })
    const s = last('dataset')!.summary
    expect(s.task).toBe('image-classification')
    expect(s.classes).toEqual([{ name: 'blue', count: 1 }, { name: 'red', count: 2 }])
    const err = last('error')!
    expect(err.message).toContain('set/blue/broken.png')
    expect(err.message).toContain('other 3 images are loaded')
    expect(h.imageSet?.info.count).toBe(3)
    const got = await h.imageSet!.source.get([0])
    expect(got[0]!.path).toMatch(/^set\//)
    await h.handle({ type: 'augmentPreview', count: 2, size: 8, step: 0 })
    const prev = last('augmentPreview')!
    expect(prev.samples.map((x) => x.label).sort()).toEqual(['blue', 'red'])
    expect(prev.samples[0]!.original).toHaveLength(8 * 8 * 4)
  })

  it('refuses a zip with ../ paths and a zip over the file-count limit, keeping what was loaded', async () => {
    const { h, last } = host()
    await h.load({ type: 'loadDataset', source: { kind: 'file', file: file('keep.csv', CSV) } })
    await h.handle({ type: 'loadImages', source: { kind: 'zip', file: file('evil.zip', zipSync({ 'a/1.png': red, '../b/2.png': blue })) } })
    expect(last('error')!.message).toContain('"../b/2.png"')
    await h.handle({ type: 'setDataLimits', maxImageFiles: 1 })
    await h.handle({ type: 'loadImages', source: { kind: 'zip', file: file('many.zip', zipSync({ 'a/1.png': red, 'b/2.png': blue })) } })
    expect(last('error')!.message).toContain('the limit is 1')
    expect(h.dataset?.name).toBe('keep.csv')
  })

  it('loads picked folder files with their paths', async () => {
    const { h, last } = host()
    await h.handle({ type: 'loadImages', source: { kind: 'files', name: 'pics', files: [{ path: 'red/1.png', file: file('1.png', red) }, { path: 'blue/1.png', file: file('1.png', blue) }] } })
    expect(last('dataset')!.summary.rows).toBe(2)
    expect(last('datasets')!.list[0]).toMatchObject({ name: 'pics', kind: 'images', rows: 2 })
  })
})
