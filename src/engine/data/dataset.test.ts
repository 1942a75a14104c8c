import { describe, expect, it } from 'vitest'
import { parseDataset, parseDatasetText, withRoles, MAX_DATASET_BYTES, type Dataset, type ParseResult } from './dataset'

const enc = (s: string) => new TextEncoder().encode(s)

function ok(r: ParseResult): Dataset {
  if (!r.ok) throw new Error(`expected ok, got error: ${r.error.message}`)
  return r.dataset
}
function err(r: ParseResult) {
  if (r.ok) throw new Error(`expected an error, got a ${r.dataset.task} dataset`)
  return r.error
}

const spamCsv = [
  'text,label',
  '"Win a FREE prize, click now",spam',
  'Are we still on for lunch tomorrow?,ham',
  '"Cheap meds, no prescription",spam',
  'Here are the notes from the meeting,ham',
  'Your account needs verification now,spam',
  'Can you review my pull request,ham',
].join('\n')

describe('parseDataset: detection', () => {
  it('detects text classification with classes, counts, lengths and row numbers', async () => {
    const d = ok(await parseDatasetText('spam.csv', spamCsv))
    expect(d.format).toBe('csv')
    expect(d.task).toBe('text-classification')
    expect(d.roles).toEqual({ text: 'text', labels: ['label'], features: [] })
    expect(d.columns).toEqual(['text', 'label'])
    expect(d.rows).toHaveLength(6)
    expect(d.rows[0]).toEqual(['Win a FREE prize, click now', 'spam'])
    expect(d.rowNumbers).toEqual([2, 3, 4, 5, 6, 7])
    expect(d.classes.label).toEqual([
      { label: 'ham', count: 3 },
      { label: 'spam', count: 3 },
    ])
    expect(d.textLengths!.min).toBe('Cheap meds, no prescription'.length)
    expect(d.textLengths!.max).toBe('Here are the notes from the meeting'.length)
    expect(d.rejected).toEqual([])
    expect(d.warnings).toEqual([])
  })

  it('detects regression from numeric features and a many-valued numeric target', async () => {
    const lines = ['rooms,age,distance,price']
    for (let i = 0; i < 40; i++) lines.push(`${(i % 6) + 1},${(i * 7) % 90},${(i * 0.37).toFixed(2)},${(100 + i * 3.3).toFixed(1)}`)
    const d = ok(await parseDatasetText('houses.csv', lines.join('\n')))
    expect(d.task).toBe('regression')
    expect(d.roles).toEqual({ labels: [], features: ['rooms', 'age', 'distance'], target: 'price' })
  })

  it('detects tabular classification from a string class column', async () => {
    const lines = ['sepal_length,sepal_width,species']
    for (let i = 0; i < 30; i++) lines.push(`${(4 + i / 10).toFixed(1)},${(2 + (i % 7) / 5).toFixed(1)},${['setosa', 'versicolor', 'virginica'][i % 3]}`)
    const d = ok(await parseDatasetText('iris.csv', lines.join('\n')))
    expect(d.task).toBe('tabular-classification')
    expect(d.roles.labels).toEqual(['species'])
    expect(d.roles.features).toEqual(['sepal_length', 'sepal_width'])
    expect(d.classes.species!.map((c) => c.count)).toEqual([10, 10, 10])
  })

  it('treats a last whole-number column with few values as classes, ordered numerically', async () => {
    const lines = ['a,b,c']
    for (let i = 0; i < 30; i++) lines.push(`${(i * 1.7).toFixed(2)},${(i * 0.3).toFixed(2)},${[2, 10, 1][i % 3]}`)
    const d = ok(await parseDatasetText('t.csv', lines.join('\n')))
    expect(d.task).toBe('tabular-classification')
    expect(d.roles.labels).toEqual(['c'])
    expect(d.classes.c!.map((c) => c.label)).toEqual(['1', '2', '10'])
  })

  it('detects multitask from several label columns', async () => {
    const lines = ['review,sentiment,topic']
    const topics = ['food', 'service', 'price']
    for (let i = 0; i < 12; i++) lines.push(`"This is review number ${i}, quite long text",${i % 2 ? 'pos' : 'neg'},${topics[i % 3]}`)
    const d = ok(await parseDatasetText('reviews.csv', lines.join('\n')))
    expect(d.task).toBe('multitask')
    expect(d.roles.text).toBe('review')
    expect(d.roles.labels).toEqual(['sentiment', 'topic'])
    expect(Object.keys(d.classes)).toEqual(['sentiment', 'topic'])
  })

  it('treats a .txt file as language modelling text in blocks', async () => {
    const text = Array.from({ length: 30 }, (_, i) => `Paragraph ${i}. ` + 'Call me Ishmael. '.repeat(10).trim()).join('\n\n')
    const d = ok(await parseDatasetText('book.txt', text))
    expect(d.task).toBe('language-modelling')
    expect(d.format).toBe('text')
    expect(d.roles).toEqual({ text: 'text', labels: [], features: [] })
    expect(d.rows.length).toBeGreaterThan(3)
    expect(d.rows.map((r) => r[0]).join('\n\n')).toBe(text)
  })

  it('treats a CSV with only a text column as language modelling', async () => {
    const d = ok(await parseDatasetText('lines.csv', 'text\nfirst line of prose\nsecond line of prose\n'))
    expect(d.task).toBe('language-modelling')
    expect(d.rows).toEqual([['first line of prose'], ['second line of prose']])
  })

  it('reads JSON Lines and JSON arrays into the same table', async () => {
    const records = [
      { text: 'good movie', label: 'pos' },
      { text: 'bad movie', label: 'neg' },
      { text: 'great film', label: 'pos' },
      { text: 'awful film', label: 'neg' },
    ]
    const a = ok(await parseDatasetText('m.jsonl', records.map((r) => JSON.stringify(r)).join('\n')))
    const b = ok(await parseDatasetText('m.json', JSON.stringify(records, null, 2)))
    expect(a.format).toBe('jsonl')
    expect(b.format).toBe('json')
    for (const d of [a, b]) {
      expect(d.task).toBe('text-classification')
      expect(d.rows).toEqual(records.map((r) => [r.text, r.label]))
    }
    // A ".json" file holding JSON Lines is read as JSON Lines.
    expect(ok(await parseDatasetText('m2.json', records.map((r) => JSON.stringify(r)).join('\n'))).format).toBe('jsonl')
  })

  it('reads the records a .json object wraps ({"data": [...]}), on one line or pretty-printed, and says so', async () => {
    const records = [
      { text: 'good movie', label: 'pos' },
      { text: 'bad movie', label: 'neg' },
      { text: 'great film', label: 'pos' },
      { text: 'awful film', label: 'neg' },
    ]
    for (const text of [JSON.stringify({ version: 2, data: records }), JSON.stringify({ version: 2, data: records }, null, 2)]) {
      const d = ok(await parseDatasetText('wrapped.json', text))
      expect(d.task).toBe('text-classification')
      expect(d.columns).toEqual(['text', 'label'])
      expect(d.rows).toEqual([['good movie', 'pos'], ['bad movie', 'neg'], ['great film', 'pos'], ['awful film', 'neg']])
      expect(d.warnings.map((w) => w.message)).toContain('wrapped.json is one JSON object: the 4 records of its "data" list were read.')
    }
    const split = ok(await parseDatasetText('splits.json', JSON.stringify({ test: records.slice(0, 2), train: records }, null, 2)))
    expect(split.rows).toHaveLength(4)
    expect(split.warnings.map((w) => w.message)).toContain('splits.json is one JSON object: the 4 records of its "train" list were read; "test" was left out.')
  })

  it('refuses a .json object with no list of records, saying what to save instead', async () => {
    const e = err(await parseDatasetText('config.json', JSON.stringify({ name: 'x', settings: { lr: 1 } }, null, 2)))
    expect(e.message).toBe('config.json is one JSON object (keys "name", "settings") with no list of records in it. Save the records as a JSON array of objects ([{"text": …, "label": …}, …]) or as JSON Lines (one object per line).')
    const two = err(await parseDatasetText('two.json', JSON.stringify({ a: [{ text: 'x', label: 'y' }], b: [{ text: 'z', label: 'w' }] })))
    expect(two.message).toBe('two.json is one JSON object with several lists of records ("a", "b") and none is called "train". Save the list to train on as a JSON array of objects or as JSON Lines.')
  })

  it('reads decimal commas in a semicolon file as numbers ("1,50" is 1.5), and says so', async () => {
    const csv = 'text;price;rooms\n"big house";1.250,50;4\n"small flat";99,5;1\n"cottage";310;2\n"loft";-2,25;3\n'
    const d = ok(await parseDatasetText('prices.csv', csv))
    expect(d.task).toBe('regression')
    expect(d.roles.target).toBe('price')
    expect(d.rows.map((r) => r[1])).toEqual(['1250.50', '99.5', '310', '-2.25'])
    expect(d.warnings.map((w) => w.message)).toContain('Column "price" writes decimals with a comma ("1.250,50"); it was read as numbers with a decimal point (1250.50).')
    // In a comma-separated file a quoted "1,5" is text, not a decimal.
    const c = ok(await parseDatasetText('c.csv', 'text,code\n"a b","1,5"\n"c d","2,5"\n"e f","3,5"\n'))
    expect(c.rows.map((r) => r[1])).toEqual(['1,5', '2,5', '3,5'])
  })

  it('rejects a bad JSON line by line number and keeps the rest', async () => {
    const d = ok(await parseDatasetText('m.jsonl', '{"text":"a b","label":"x"}\n{"text":"c d",label:"y"}\n{"text":"e f","label":"y"}\n{"text":"g h","label":"x"}\n'))
    expect(d.rows).toHaveLength(3)
    expect(d.rejected).toHaveLength(1)
    expect(d.rejected[0]!.row).toBe(2)
  })

  it('detects tab- and semicolon-separated files', async () => {
    const tsv = ok(await parseDatasetText('data.csv', 'text\tlabel\nWin a FREE prize, click now\tspam\nlunch, tomorrow?\tham\nok then\tham\n'))
    expect(tsv.format).toBe('tsv')
    expect(tsv.rows[0]).toEqual(['Win a FREE prize, click now', 'spam'])
    const semi = ok(await parseDatasetText('data.csv', 'text;label\nhello, you;a\nbye, you;b\nhi there;a\n'))
    expect(semi.rows[0]).toEqual(['hello, you', 'a'])
  })

  it('names columns when the CSV has no header, and still detects roles', async () => {
    const d = ok(await parseDatasetText('nohead.csv', 'I loved it so much,pos\nTerrible waste of time,neg\nGreat acting and story,pos\nBoring and too long,neg\n'))
    expect(d.hasHeader).toBe(false)
    expect(d.columns).toEqual(['column_1', 'column_2'])
    expect(d.rows).toHaveLength(4)
    expect(d.rowNumbers[0]).toBe(1)
    expect(d.task).toBe('text-classification')
  })

  it('renames a repeated column name and warns', async () => {
    const d = ok(await parseDatasetText('dup.csv', 'text,label,label\nhello there you,a,x\nbye now friend,b,y\n'))
    expect(d.columns).toEqual(['text', 'label', 'label_2'])
    expect(d.warnings.some((w) => w.message.includes('appears twice'))).toBe(true)
  })
})

describe('parseDataset: bad input', () => {
  it('an empty file', async () => {
    for (const content of ['', '   \n\n', '\uFEFF']) {
      const e = err(await parseDatasetText('empty.csv', content))
      expect(e.file).toBe('empty.csv')
      expect(e.message).toMatch(/empty\.csv is empty/)
    }
  })

  it('a header without rows', async () => {
    expect(err(await parseDatasetText('h.csv', 'text,label\n')).message).toMatch(/header \(text, label\) but no data rows/)
    // A wide header is named by its first columns, not all 3000 of them (the alert filled the screen).
    const wide = Array.from({ length: 3000 }, (_, i) => `c${i}`).join(',')
    expect(err(await parseDatasetText('wide.csv', wide)).message).toBe('wide.csv has a header (c0, c1, c2, c3, c4, c5, c6, c7 and 2992 more columns) but no data rows. Add rows below the header.')
  })

  it('a binary file (NUL bytes), with the byte offset', async () => {
    const bytes = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x41])
    const e = err(await parseDataset('photo.csv', bytes))
    expect(e.message).toMatch(/photo\.csv looks like a binary file/)
    expect(e.message).toMatch(/byte 4/)
  })

  it('a single image says how to make an image dataset, not that it is a binary file', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d])
    for (const name of ['cat.png', 'Cat.JPG', 'anim.gif']) {
      const e = err(await parseDataset(name, png))
      expect(e.message).toBe(
        `${name} is one image; an image dataset is many, sorted by class. Put the PNG, JPEG, WebP or GIF images in one folder per class (cats/1.png, dogs/1.png) and upload a .zip of those folders, or choose the folder that holds them under "A folder of images".`,
      )
    }
  })

  it('a file that is not UTF-8 (Windows-1252 é)', async () => {
    const bytes = new Uint8Array([...enc('text,label\ncaf'), 0xe9, ...enc(' au lait,ham\n')])
    const e = err(await parseDataset('latin1.csv', bytes))
    expect(e.message).toMatch(/latin1\.csv is not valid UTF-8/)
    // It names where: the line, the byte and the text before it ("text,label\ncaf" is 14 bytes).
    expect(e.message).toContain('line 2 has a byte UTF-8 does not allow (0xE9 after "caf", byte 14 of the file)')
    expect(e.message).toMatch(/save it as UTF-8/)
  })

  it('a bad byte deep in a streamed file is named by its line and byte, also when it ends a chunk', async () => {
    // 'text,label\n' is 11 bytes, '"café ☕",a\n' 14 (é is 2 bytes, ☕ 3), 'ok,b\n' 5: line 4 starts at byte 30.
    const bytes = new Uint8Array([...enc('text,label\n"café ☕",a\nok,b\nna'), 0xef, ...enc('ve,a\nfine,b\n')])
    for (const size of [5, 7, 3, 1]) {
      async function* chunks() {
        for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
      }
      const e = err(await parseDataset('cp1252.csv', chunks()))
      expect(e.message, `chunks of ${size}`).toContain('line 4 has a byte UTF-8 does not allow (0xEF after "na", byte 32 of the file)')
    }
  })

  it('the text before a bad byte is quoted with marks it does not hold', async () => {
    // '"caf' starts with a double quote: wrapping it in double quotes again read ""caf".
    const dq = err(await parseDataset('dq.csv', new Uint8Array([...enc('text,label\n"caf'), 0xe9, ...enc('",a\n')])))
    expect(dq.message).toContain(`(0xE9 after '"caf', byte 15 of the file)`)
    const both = err(await parseDataset('both.csv', new Uint8Array([...enc("text,label\n\"it's caf"), 0xe9, ...enc('",a\n')])))
    expect(both.message).toContain('(0xE9 after \u201c"it\'s caf\u201d, byte 20 of the file)')
  })

  it('a file cut in the middle of a character says so', async () => {
    const e = err(await parseDataset('cut.csv', new Uint8Array([...enc('text,label\n"caf'), 0xc3])))
    expect(e.message).toContain('cut.csv is not valid UTF-8 text: it ends in the middle of a character, on line 2')
  })

  it('a UTF-16 file', async () => {
    const e = err(await parseDataset('u16.csv', new Uint8Array([0xff, 0xfe, 0x74, 0x00])))
    expect(e.message).toMatch(/UTF-16/)
  })

  it('an Excel workbook, by name', async () => {
    expect(err(await parseDataset('book.xlsx', enc('x'))).message).toMatch(/Excel workbook.*Export it as CSV/)
  })

  it('ragged rows are dropped and listed with expected vs got; good rows are kept', async () => {
    const text = 'text,label\nfine row here,a\ntoo,many,fields,b\nanother fine one,b\nshort\nthird fine row,a\nfourth fine row,b\n'
    const d = ok(await parseDatasetText('ragged.csv', text))
    expect(d.rows).toHaveLength(4)
    expect(d.rejectedCount).toBe(2)
    expect(d.rejected.map((r) => r.row)).toEqual([3, 5])
    expect(d.rejected[0]!.reason).toMatch(/row 3 has 4 fields, expected 2/)
    expect(d.rejected[1]!.reason).toMatch(/row 5 has 1 field, expected 2/)
    expect(d.warnings.some((w) => /2 rows were left out/.test(w.message))).toBe(true)
  })

  it('fails when every row is ragged, naming the first bad row', async () => {
    const e = err(await parseDatasetText('bad.csv', 'a,b\n1,2,3\n4,5,6\n'))
    expect(e.row).toBe(2)
    expect(e.message).toMatch(/bad\.csv has no usable rows: all 2 data rows were left out.*row 2 has 3 fields, expected 2/)
  })

  it('an unclosed quote, with the row where it opened', async () => {
    const e = err(await parseDatasetText('q.csv', 'text,label\nok row,a\n"this quote never closes,b\nmore,a\nrows,b\n'))
    expect(e.row).toBe(3)
    expect(e.message).toMatch(/q\.csv has a quote \(\"\) that is never closed.*row 3/)
  })

  it('rows with an empty label are rejected; the rest are kept', async () => {
    const d = ok(await parseDatasetText('l.csv', 'text,label\nhello there,a\nno label here,\nbye now,b\nhi again,a\n  ,b\n'))
    expect(d.rows).toHaveLength(3)
    expect(d.rejected).toEqual([
      { row: 3, reason: 'row 3: the label ("label") is empty' },
      { row: 6, reason: 'row 6: the text ("text") is empty' },
    ])
  })

  it('a label column that is empty in every row', async () => {
    const e = err(await parseDatasetText('e.csv', 'text,label\nhello there,\nbye now friend,\n'))
    expect(e.field).toBe('label')
    expect(e.message).toMatch(/label column "label" in e\.csv is empty in every row/)
  })

  it('a label column that does not exist (user roles)', async () => {
    const e = err(await parseDatasetText('s.csv', spamCsv, { roles: { text: 'text', labels: ['category'], features: [] } }))
    expect(e.field).toBe('category')
    expect(e.message).toMatch(/no column "category".*text, label/)
  })

  it('a single class, naming the column', async () => {
    const e = err(await parseDatasetText('one.csv', 'text,label\nhello there,spam\nbuy now cheap,spam\nwin money fast,spam\n'))
    expect(e.field).toBe('label')
    expect(e.message).toMatch(/"label" in one\.csv has only one class \("spam"\).*at least 2 classes/)
  })

  it('classes with one example give a warning, not an error', async () => {
    const d = ok(await parseDatasetText('w.csv', 'text,label\nhello there,a\nbye now friend,a\nsee you soon,a\nhow are you,b\nwhat is up,c\n', { roles: { text: 'text', labels: ['label'], features: [] } }))
    const w = d.warnings.find((x) => x.field === 'label')
    expect(w?.message).toMatch(/2 classes have only one example \("b", "c"\)/)
  })

  it('keeps HTML and <script> in text and labels as plain, unchanged strings', async () => {
    const evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    const label = '<b>bold</b>'
    const csv = `text,label\n"${evil.replace(/"/g, '""')}",${label}\n&lt;not decoded&gt; &amp;,plain\nthird row text,plain\n`
    const d = ok(await parseDatasetText('html.csv', csv))
    expect(d.rows[0]).toEqual([evil, label])
    expect(d.rows[1]![0]).toBe('&lt;not decoded&gt; &amp;')
    expect(d.classes.label!.map((c) => c.label)).toContain(label)
  })

  it('a file over the size limit, saying the limit', async () => {
    const e = err(await parseDatasetText('big.csv', spamCsv, { maxBytes: 100 }))
    expect(e.message).toMatch(/big\.csv is 236 B; the limit is 100 B/)
    // A stream of unknown size stops as soon as it passes the limit.
    async function* stream() {
      for (let i = 0; i < 100; i++) yield enc('text,label\n')
    }
    expect(err(await parseDataset('s.csv', stream(), undefined, { maxBytes: 50 })).message).toMatch(/s\.csv is over 50 B; the limit is 50 B/)
    // The default limit, from a declared size, before reading anything.
    let pulled = 0
    async function* never() {
      pulled++
      yield enc('x')
    }
    const e2 = err(await parseDataset('huge.csv', never(), undefined, { totalBytes: MAX_DATASET_BYTES + 1 }))
    expect(e2.message).toMatch(/the limit is 200 MB/)
    expect(pulled).toBe(0)
  })

  it('a non-numeric feature column chosen by the user', async () => {
    const e = err(await parseDatasetText('f.csv', 'a,b,c\n1,x,p\n2,y,q\n3,z,p\n', { roles: { labels: ['c'], features: ['a', 'b'] } }))
    expect(e.field).toBe('b')
    expect(e.message).toMatch(/Column "b" in f\.csv is not numeric \(it has values like "x"\)/)
  })
})

describe('parseDataset: streaming', () => {
  it('reads chunks from an async iterable, including a UTF-8 character split across chunks, with progress', async () => {
    const text = 'text,label\n' + Array.from({ length: 200 }, (_, i) => `"café ☕ number ${i}, ok",${i % 2 ? 'a' : 'b'}`).join('\n') + '\n'
    const bytes = enc(text)
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7)
    }
    const progress: number[] = []
    const d = ok(await parseDataset('s.csv', chunks(), (p) => progress.push(p.bytesRead), { totalBytes: bytes.length }))
    expect(d.rows).toHaveLength(200)
    expect(d.rows[5]![0]).toBe('café ☕ number 5, ok')
    expect(progress.length).toBeGreaterThan(100)
    expect(progress[progress.length - 1]).toBe(bytes.length)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
  })

  it('reads a ReadableStream', async () => {
    const bytes = enc(spamCsv)
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.subarray(0, 10))
        c.enqueue(bytes.subarray(10))
        c.close()
      },
    })
    expect(ok(await parseDataset('r.csv', stream)).rows).toHaveLength(6)
  })

  it('parses a 20 MB file one chunk at a time', async () => {
    const row = (i: number) => `"message ${i}, with a comma and some more words to make it longer",${i % 3 === 0 ? 'spam' : 'ham'}\n`
    const parts: Uint8Array[] = [enc('text,label\n')]
    let size = 0
    for (let i = 0; size < 20 * 1024 * 1024; i += 5000) {
      let s = ''
      for (let k = i; k < i + 5000; k++) s += row(k)
      const b = enc(s)
      parts.push(b)
      size += b.length
    }
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let off = 0
    for (const p of parts) {
      all.set(p, off)
      off += p.length
    }
    let calls = 0
    const t0 = Date.now()
    const d = ok(await parseDataset('big.csv', all, () => calls++))
    expect(d.rows.length).toBe((parts.length - 1) * 5000)
    expect(calls).toBeGreaterThanOrEqual(20) // 1 MB slices
    expect(d.classes.label!.map((c) => c.label)).toEqual(['ham', 'spam'])
    expect(Date.now() - t0).toBeLessThan(30_000)
  })
})

describe('withRoles', () => {
  const csv = 'text,label,other\nhello there friend,a,\nbye now friend,b,x\nsee you soon,,y\nhow are you,a,x\n'

  it('re-validates from the well-formed rows, bringing back rows rejected under the old roles', async () => {
    const d = ok(await parseDatasetText('r.csv', csv, { roles: { text: 'text', labels: ['label'], features: [] } }))
    expect(d.rows).toHaveLength(3)
    expect(d.rejected.map((r) => r.row)).toEqual([4])
    const d2 = ok(withRoles(d, { text: 'text', labels: ['other'], features: [] }))
    expect(d2.task).toBe('text-classification')
    expect(d2.rows).toHaveLength(3)
    expect(d2.rejected.map((r) => r.row)).toEqual([2])
    expect(d2.classes.other!.map((c) => c.label)).toEqual(['x', 'y'])
    const lm = ok(withRoles(d, { text: 'text', labels: [], features: [] }))
    expect(lm.task).toBe('language-modelling')
    expect(lm.rows).toHaveLength(4)
  })

  it('refuses a column given two roles, or roles that make no task', async () => {
    const d = ok(await parseDatasetText('r.csv', csv, { roles: { text: 'text', labels: ['label'], features: [] } }))
    expect(err(withRoles(d, { text: 'text', labels: ['text'], features: [] })).message).toMatch(/two roles/)
    expect(err(withRoles(d, { labels: [], features: [] })).message).toMatch(/Could not tell what to learn/)
  })
})
