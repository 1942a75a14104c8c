import { describe, expect, it } from 'vitest'
import { parseDatasetText, type Dataset } from './dataset'
import { datasetTexts, encodeClassification, encodeLanguageModel, type TokenizerLike } from './textBatches'

// One token per character code; PAD 0, BOS 1.
const charTok: TokenizerLike = { encode: (s) => [...s].map((c) => c.charCodeAt(0)), padId: 0, bosId: 1 }

async function load(name: string, text: string): Promise<Dataset> {
  const r = await parseDatasetText(name, text)
  if (!r.ok) throw new Error(r.error.message)
  return r.dataset
}

describe('encodeClassification', () => {
  it('pads, truncates, masks and maps labels to class indices', async () => {
    const d = await load('t.csv', 'text,label\nab,yes\nabcdefgh,no\nxyz,yes\n')
    const a = encodeClassification(d, charTok, { seqLen: 5 })
    expect(a.n).toBe(3)
    expect(Array.from(a.ids)).toEqual([
      1, 97, 98, 0, 0,
      1, 97, 98, 99, 100, // "abcdefgh" cut to 4 tokens after BOS
      1, 120, 121, 122, 0,
    ])
    expect(Array.from(a.mask)).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0])
    // Classes are ordered no, yes.
    expect(d.classes.label!.map((c) => c.label)).toEqual(['no', 'yes'])
    expect(Array.from(a.labels)).toEqual([1, 0, 1])
    expect(a.truncated).toBe(1)
  })

  it('encodes only the given rows, in order, and every label column for multitask', async () => {
    const d = await load('m.csv', 'text,sentiment,topic\nhello there friend,pos,a\nbad day today,neg,b\nfine thanks mate,pos,b\nawful stuff here,neg,a\n')
    expect(d.task).toBe('multitask')
    const a = encodeClassification(d, charTok, { seqLen: 4, indices: [2, 0], labelColumn: 'topic' })
    expect(a.n).toBe(2)
    expect(Array.from(a.ids.subarray(0, 4))).toEqual([1, ...'fin'.split('').map((c) => c.charCodeAt(0))])
    expect(Array.from(a.labels)).toEqual([1, 0])
    expect(Array.from(a.labelsByColumn.sentiment!)).toEqual([1, 1])
  })

  it('a tokenizer that adds no lead token (GPT-2) starts each text with its own first token; an empty text still reads one', async () => {
    const d = await load('t.csv', 'text,label\nab,yes\nabcdefgh,no\n-,yes\n')
    // "-" encodes to no token at all
    const a = encodeClassification(d, { ...charTok, encode: (s) => (s === '-' ? [] : charTok.encode(s)), classificationLead: false }, { seqLen: 5 })
    expect(Array.from(a.ids)).toEqual([
      97, 98, 0, 0, 0,
      97, 98, 99, 100, 101, // five of the eight tokens: no BOS takes a place
      1, 0, 0, 0, 0,
    ])
    expect(Array.from(a.mask)).toEqual([1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    expect(a.truncated).toBe(1)
  })

  it('refuses a seqLen that leaves no room for tokens', async () => {
    const d = await load('t.csv', 'text,label\nab,yes\ncd,no\n')
    expect(() => encodeClassification(d, charTok, { seqLen: 1 })).toThrow(RangeError)
  })
})

describe('encodeLanguageModel', () => {
  it('cuts the BOS-joined stream into seqLen+1 blocks that overlap by one token', () => {
    // Stream: 1 a b c d 1 e f g  (9 tokens)
    const lm = encodeLanguageModel(['abcd', 'efg'], charTok, 4)
    expect(lm.tokens).toBe(9)
    expect(lm.blockLen).toBe(5)
    expect(lm.n).toBe(2)
    const ch = (s: string) => s.split('').map((c) => c.charCodeAt(0))
    expect(Array.from(lm.blocks)).toEqual([1, ...ch('abcd'), ...ch('d'), 1, ...ch('efg')])
    expect(lm.droppedTokens).toBe(0)
  })

  it('reports leftover tokens and returns no block for a too-short text', () => {
    const lm = encodeLanguageModel(['abcdef'], charTok, 4) // 7 tokens: one block of 5, 2 left
    expect(lm.n).toBe(1)
    expect(lm.droppedTokens).toBe(2)
    const none = encodeLanguageModel(['ab'], charTok, 8)
    expect(none.n).toBe(0)
    expect(none.blocks.length).toBe(0)
  })

  it('takes its texts from a language-modelling dataset', async () => {
    const d = await load('b.txt', 'First paragraph.\n\nSecond one.')
    expect(datasetTexts(d)).toEqual(['First paragraph.\n\nSecond one.'])
  })
})
