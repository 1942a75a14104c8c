import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { unzipSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import { pickEmoji } from './build-image-samples.mjs'

type Emoji = { hexcode: string; group: string; skintone: string }
const require = createRequire(import.meta.url)
const all: Emoji[] = JSON.parse(readFileSync(require.resolve('openmoji/data/openmoji.json'), 'utf8'))

describe('build-image-samples', () => {
  it('picks 40 emoji per class from the right group, without skin-tone variants, the same every run', () => {
    const a = pickEmoji(all) as Record<string, Emoji[]>
    const b = pickEmoji(all) as Record<string, Emoji[]>
    expect(Object.keys(a).sort()).toEqual(['animals', 'faces', 'flags', 'food', 'travel'])
    for (const [cls, list] of Object.entries(a)) {
      expect(list).toHaveLength(40)
      expect(new Set(list.map((e) => e.hexcode)).size).toBe(40)
      expect(list.every((e) => !e.skintone)).toBe(true)
      expect(list.map((e) => e.hexcode)).toEqual(b[cls]!.map((e) => e.hexcode))
    }
    expect(a.faces!.every((e) => e.group === 'smileys-emotion')).toBe(true)
  })

  it('the shipped zip holds 32×32 PNGs, one folder per class, as its card says', () => {
    const zip = unzipSync(new Uint8Array(readFileSync(new URL('../public/samples/emoji-openmoji.zip', import.meta.url))))
    const card = JSON.parse(readFileSync(new URL('../public/samples/emoji-openmoji.card.json', import.meta.url), 'utf8'))
    const names = Object.keys(zip)
    expect(names).toHaveLength(card.rows)
    for (const [cls, n] of Object.entries(card.classes)) expect(names.filter((p) => p.startsWith(`emoji-openmoji/${cls}/`))).toHaveLength(n as number)
    const png = zip[names[0]!]!
    expect([...png.slice(1, 4)]).toEqual([80, 78, 71]) // "PNG"
    const view = new DataView(png.buffer, png.byteOffset)
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([32, 32])
    expect(card.licence).toMatch(/CC BY-SA 4\.0/)
  })
})
