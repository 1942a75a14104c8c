import { describe, expect, it } from 'vitest'
import { CURRENT, migrate, MIGRATIONS, Versions, type Params } from './migrations'

const run = (entries: [string, string][], from: number) => {
  const ignored: string[] = []
  const out = migrate(new Map(entries), from, (p) => ignored.push(p))
  return { out: Object.fromEntries(out), ignored }
}

describe('migrations', () => {
  it('has one up migration for each version after the first, in order', () => {
    const versions = Object.values(Versions)
    expect(CURRENT).toBe(Math.max(...versions))
    expect(MIGRATIONS.map((m) => m.to)).toEqual(versions.filter((v) => v > Versions.Initial))
    for (const m of MIGRATIONS) expect(m.why.length).toBeGreaterThan(20)
  })

  it('v1 → v2 splits the frz/lora booleans into method + frozen blocks', () => {
    expect(run([['frz', '1'], ['ep', '5']], 1).out).toEqual({ m: 'freeze', ff: '3', ep: '5' })
    expect(run([['frz', '0'], ['ep', '5']], 1).out).toEqual({ m: 'full', ep: '5' })
    expect(run([['lora', '1'], ['frz', '0'], ['r', '4']], 1).out).toEqual({
      m: 'lora',
      r: '4',
      ep: '3',
    })
  })

  it('v1 → v2 writes the old default epochs into links that relied on it', () => {
    expect(run([['lr', '0.01']], 1).out).toMatchObject({ lr: '0.01', ep: '3' })
  })

  it('reports an unreadable v1 flag and falls back to the v1 default', () => {
    const r = run([['frz', 'maybe']], 1)
    expect(r.ignored).toEqual(['frz'])
    expect(r.out).toMatchObject({ m: 'freeze', ff: '3' })
  })

  it('leaves current and newer links alone and does not mutate its input', () => {
    const input: Params = new Map([['ep', '9']])
    expect(Object.fromEntries(migrate(input, CURRENT, () => {}))).toEqual({ ep: '9' })
    expect(Object.fromEntries(migrate(new Map([['frz', '0']]), CURRENT + 1, () => {}))).toEqual({
      frz: '0',
    })
    migrate(input, 1, () => {})
    expect(Object.fromEntries(input)).toEqual({ ep: '9' })
  })

  it('leaves the language-model keys (lmLink.ts) as they are: they need no migration', () => {
    // A hand-written link without v is read as version 1; its LM keys pass through unchanged.
    expect(run([['lo', 'dpo'], ['db', '0.05'], ['hm', 'a/b'], ['hv', 'v1']], 1).out).toEqual({ lo: 'dpo', db: '0.05', hm: 'a/b', hv: 'v1', m: 'freeze', ff: '3', ep: '3' })
    expect(run([['lo', 'pseudo'], ['sr', '3']], CURRENT).out).toEqual({ lo: 'pseudo', sr: '3' })
  })
})

