import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseDataset } from '../src/engine/data/dataset'
import { emailToText } from './build-samples.mjs'

const dir = join(__dirname, '..', 'public', 'samples')
const read = (f: string) => new Uint8Array(readFileSync(join(dir, f)))

interface Card {
  name: string
  file: string
  task: string
  rows: number
  bytes: number
  licence: string
  source: { package: string; original: string }
  howBuilt: string
  classes?: Record<string, number>
}

describe('committed sample datasets', () => {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { default: string; datasets: { name: string; card: string }[] }

  it('index lists every card, the default among them', () => {
    const cards = readdirSync(dir).filter((f) => f.endsWith('.card.json')).map((f) => f.replace('.card.json', ''))
    expect(index.datasets.map((d) => d.name).sort()).toEqual(cards.sort())
    expect(cards).toEqual(expect.arrayContaining(['spam-ham', 'spam-ham-large', 'moby-dick-excerpt']))
    expect(index.datasets.some((d) => d.name === index.default)).toBe(true)
  })

  for (const name of ['spam-ham', 'spam-ham-large']) {
    it(`${name}.csv parses as balanced 2-class text classification with no rejected rows, matching its card`, async () => {
      const card = JSON.parse(readFileSync(join(dir, `${name}.card.json`), 'utf8')) as Card
      const bytes = read(card.file)
      const r = await parseDataset(card.file, bytes)
      if (!r.ok) throw new Error(r.error.message)
      const d = r.dataset
      expect(d.task).toBe('text-classification')
      expect(d.roles).toEqual({ text: 'text', labels: ['label'], features: [] })
      expect(d.rejectedCount).toBe(0)
      expect(d.classes.label).toEqual([
        { label: 'ham', count: d.rows.length / 2 },
        { label: 'spam', count: d.rows.length / 2 },
      ])
      expect(d.rows.length).toBe(card.rows)
      expect(bytes.length).toBe(card.bytes)
      expect(card.task).toBe(d.task)
      expect(card.howBuilt).toBe('npm run data:samples')
      expect(card.source.package).toMatch(/^@stdlib\/datasets-spam-assassin@/)
      // Short texts, so the default sample trains quickly on a small CPU.
      expect(d.textLengths!.max).toBeLessThanOrEqual(420)
      expect(new Set(d.rows.map((row) => row[0])).size).toBe(d.rows.length)
    })
  }

  it('spam-ham.csv has about 600 rows and the large one about 3000', () => {
    const small = JSON.parse(readFileSync(join(dir, 'spam-ham.card.json'), 'utf8')) as Card
    const large = JSON.parse(readFileSync(join(dir, 'spam-ham-large.card.json'), 'utf8')) as Card
    expect(small.rows).toBe(600)
    expect(large.rows).toBe(3000)
  })

  it('moby-dick-excerpt.txt parses as language modelling, ~150 kB, matching its card', async () => {
    const card = JSON.parse(readFileSync(join(dir, 'moby-dick-excerpt.card.json'), 'utf8')) as Card
    const bytes = read(card.file)
    const r = await parseDataset(card.file, bytes)
    if (!r.ok) throw new Error(r.error.message)
    expect(r.dataset.task).toBe('language-modelling')
    expect(r.dataset.rows.length).toBe(card.rows)
    expect(bytes.length).toBe(card.bytes)
    expect(bytes.length).toBeGreaterThan(120_000)
    expect(bytes.length).toBeLessThan(180_000)
    expect(new TextDecoder().decode(bytes.subarray(0, 40))).toMatch(/^CHAPTER 1\. Loomings\./)
  })
})

describe('emailToText', () => {
  it('keeps the subject and the start of the body, without headers, HTML or quoted-printable', () => {
    const raw = [
      'From: someone@example.com',
      'Subject: =?iso-8859-1?Q?Caf=E9_deals?=',
      'Content-Type: text/html; charset="iso-8859-1"',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '<html><head><style>p{color:red}</style></head><body><p>Buy <b>now</b> &amp; save =',
      'big on everything you never needed, this week only, while stocks last.</p></body></html>',
    ].join('\n')
    expect(emailToText(raw)).toBe('Café deals — Buy now & save big on everything you never needed, this week only, while stocks last.')
  })

  it('takes the text/plain part of a multipart message and drops quoted replies', () => {
    const raw = [
      'Subject: Re: meeting',
      'Content-Type: multipart/alternative; boundary="XX"',
      '',
      '--XX',
      'Content-Type: text/plain',
      '',
      '> what time works?',
      'Three o\'clock works for me, see you in the small room on the second floor.',
      '--XX',
      'Content-Type: text/html',
      '',
      '<p>ignored</p>',
      '--XX--',
    ].join('\n')
    expect(emailToText(raw)).toBe("Re: meeting — Three o'clock works for me, see you in the small room on the second floor.")
  })

  it('skips messages in charsets it cannot read and bodies that are too short', () => {
    expect(emailToText('Subject: hi\nContent-Type: text/plain; charset=gb2312\n\nsome body text that is long enough to keep')).toBeUndefined()
    expect(emailToText('Subject: hi\n\nshort')).toBeUndefined()
  })
})
