import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readTexts } from './readTexts'

const root = resolve(__dirname, '../../../..')
const sample = (f: string, lines: number) => readFileSync(resolve(root, 'public/samples/lm', f), 'utf8').split('\n').slice(0, lines).join('\n') + '\n'

describe('the files learning without labels reads', () => {
  it('a CSV with text and label columns: the texts and labels as written in the shipped validation sample', () => {
    const t = readTexts('labelled.csv', sample('sea-or-government-validation.csv', 3), true)
    expect(t.texts).toEqual(['Interior, that a law be enacted enabling the Government to sell', 'melancholy notions about their hereafters. In one word, Queequeg,'])
    expect(t.labels).toEqual(['government', 'sea'])
  })

  it('a JSON Lines file chosen as the unlabelled texts is refused by name, not read as CSV rows of JSON', () => {
    // Read as CSV, each line of the instruction sample was a "text" to label (h2 saw "Kept 5 of 5").
    expect(() => readTexts('chat.jsonl', sample('afinn-instructions.jsonl', 5), false)).toThrow(
      'chat.jsonl is JSON Lines, not a CSV: choose a CSV whose first line names its columns, with the texts in a column named text (or the first column).',
    )
  })

  it('a JSON Lines file chosen as the labelled file is refused as such, not with its first JSON object listed as "columns"', () => {
    expect(() => readTexts('labelled.jsonl', sample('afinn-instructions.jsonl', 5), true)).toThrow(
      'labelled.jsonl is JSON Lines, not a CSV: choose a CSV whose first line names its columns, with a text column and a label column giving each text’s class.',
    )
  })

  it('a JSON array and a binary file are refused as what they are', () => {
    expect(() => readTexts('texts.json', '[{"text": "a"}, {"text": "b"}]', false)).toThrow(/^texts\.json is JSON, not a CSV: /)
    const safetensorsLike = String.fromCharCode(0x40, 0, 0, 0, 0, 0, 0, 0) + '{"wte.weight":{"dtype":"F32"}}'
    expect(() => readTexts('model.safetensors', safetensorsLike, false)).toThrow(/^model\.safetensors is not a text file \(it holds binary data\): choose a CSV/)
  })
})
