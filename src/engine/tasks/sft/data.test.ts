import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BpeTokenizer, type BpeTokenizerJson } from '../../data/bpeTokenizer'
import type { LmTokenizer } from '../lm'
import { chatSegments, encodeSft, parseSftCsv, parseSftJsonl, renderChat, TINY_LM_CHAT_TEMPLATE, tinyLmChatFormat, toWindows, type SftRow } from './data'

/** One id per character (its code), bos 1, eos 2, pad 0: masks can be written by hand. */
const chars: LmTokenizer = {
  encode: (t) => Array.from(t, (c) => c.charCodeAt(0)),
  decode: (ids) => String.fromCharCode(...Array.from(ids)),
  padId: 0,
  bosId: 1,
  eosId: 2,
}
const ids = (t: string) => Array.from(t, (c) => c.charCodeAt(0))
const chat = tinyLmChatFormat(chars)

describe('SFT data: parsing', () => {
  it('reads prompt/completion and chat rows from JSON Lines, numbering rows by line', () => {
    const plain = parseSftJsonl([JSON.stringify({ prompt: 'Q1', completion: ' A1' }), '', JSON.stringify({ prompt: 'Q2', completion: ' A2' })].join('\n'))
    expect(plain.problems).toEqual([])
    expect(plain.rows).toEqual([
      { kind: 'completion', row: 1, prompt: 'Q1', completion: ' A1' },
      { kind: 'completion', row: 3, prompt: 'Q2', completion: ' A2' },
    ])
    const chat = parseSftJsonl(['', JSON.stringify({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] })].join('\n'))
    expect(chat.problems).toEqual([])
    expect(chat.rows).toEqual([{ kind: 'chat', row: 2, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] }])
  })

  it('refuses a file that mixes chat and prompt/completion rows, naming the first row of the other kind and how many there are', () => {
    const turn = JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] })
    const pair = JSON.stringify({ prompt: 'Q', completion: ' A' })
    expect(() => parseSftJsonl([turn, turn, '', pair, turn, pair].join('\n'), 'mixed.jsonl')).toThrow(
      'mixed.jsonl mixes two kinds of row: row 1 is a chat conversation ({"messages": […]}), but row 4 is a prompt/completion row ({"prompt": …, "completion": …}) (and 1 more like it). Each kind is written into the model differently and one file trains one way: rewrite those rows the way row 1 is written, or put them in a file of their own and train on one file at a time.',
    )
  })

  it('refuses unknown roles, conversations without an assistant turn, empty answers and broken JSON, naming the row and what to do', () => {
    const text = [
      JSON.stringify({ prompt: 'ok', completion: 'fine' }),
      JSON.stringify({ messages: [{ role: 'human', content: 'Hi' }, { role: 'assistant', content: 'Yo' }] }),
      JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
      JSON.stringify({ prompt: 'Q', completion: '  ' }),
      JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '' }] }),
      '{"prompt": "cut',
      JSON.stringify({ text: 'x' }),
    ].join('\n')
    const { rows, problems } = parseSftJsonl(text)
    expect(rows.map((r) => r.row)).toEqual([1])
    expect(problems.map((p) => p.row)).toEqual([2, 3, 4, 5, 6, 7])
    expect(problems[0]!.message).toBe('Row 2: messages[0] has the unknown role "human": use "system", "user" or "assistant".')
    expect(problems[1]!.message).toMatch(/^Row 3: "messages" has no assistant turn.*add \{"role": "assistant"/)
    expect(problems[2]!.message).toMatch(/^Row 4: "completion" is missing or empty: write the answer/)
    expect(problems[3]!.message).toMatch(/^Row 5: messages\[1\] is an empty assistant answer/)
    expect(problems[4]!.message).toMatch(/^Row 6 is not valid JSON/)
    expect(problems[5]!.message).toMatch(/^Row 7 has neither "prompt"\/"completion" nor "messages" \(keys: text\)/)
  })

  it('refuses a file with no usable row, quoting the first problem', () => {
    expect(() => parseSftJsonl(JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }), 'chat.jsonl')).toThrow(/^chat\.jsonl has no usable row: Row 1: "messages" has no assistant turn/)
  })

  it('reads two chosen CSV columns, naming missing columns and empty completions', () => {
    const csv = 'question,answer,other\n"Is ""good"" nice?",yes,1\nWhy?,,2\n'
    const { rows, problems } = parseSftCsv(csv, 'question', 'answer')
    expect(rows).toEqual([{ kind: 'completion', row: 2, prompt: 'Is "good" nice?', completion: 'yes' }])
    expect(problems).toEqual([{ row: 3, message: 'Row 3: the completion column "answer" is empty: write the answer the model should learn, or remove the row.' }])
    expect(() => parseSftCsv(csv, 'question', 'reply', 'qa.csv')).toThrow('qa.csv has no column "reply" (columns: question, answer, other): choose the prompt and completion columns from these.')
  })
})

describe('SFT data: template, tokens and the loss mask', () => {
  it('renders the built-in chat template with @huggingface/jinja as documented', () => {
    const msgs = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'u' },
      { role: 'assistant', content: 'a' },
    ] as const
    expect(renderChat(chat, [...msgs], false)).toBe('<|bos|>S\n\nUser: u\nAssistant: a<|eos|>')
    expect(renderChat(chat, msgs.slice(0, 2), true)).toBe('<|bos|>S\n\nUser: u\nAssistant:')
    expect(chat.template).toBe(TINY_LM_CHAT_TEMPLATE)
  })

  it('prompt/completion: bos + prompt masked out, completion + eos masked in', () => {
    const { examples, truncated, dropped } = encodeSft([{ kind: 'completion', row: 1, prompt: 'ab', completion: 'cd' }], chars, { seqLen: 16 })
    expect(truncated).toEqual([])
    expect(dropped).toEqual([])
    expect(examples[0]!.ids).toEqual([1, 97, 98, 99, 100, 2])
    expect(examples[0]!.mask).toEqual([0, 0, 0, 1, 1, 1])
  })

  it('chat: only the assistant contents and their eos count; system, user and the "Assistant:" header do not', () => {
    const row: SftRow = {
      kind: 'chat',
      row: 4,
      messages: [
        { role: 'user', content: 'u' },
        { role: 'assistant', content: 'a' },
        { role: 'user', content: 'v' },
        { role: 'assistant', content: 'bc' },
      ],
    }
    expect(chatSegments(chat, row.messages)).toEqual([
      { text: '<|bos|>User: u\n', answer: false },
      { text: 'Assistant:', answer: false },
      { text: ' a<|eos|>', answer: true },
      { text: 'User: v\n', answer: false },
      { text: 'Assistant:', answer: false },
      { text: ' bc<|eos|>', answer: true },
    ])
    const e = encodeSft([row], chars, { seqLen: 64, chat }).examples[0]!
    const expectedIds = [1, ...ids('User: u\nAssistant:'), ...ids(' a'), 2, ...ids('User: v\nAssistant:'), ...ids(' bc'), 2]
    const expectedMask = [0, ...ids('User: u\nAssistant:').map(() => 0), 1, 1, 1, ...ids('User: v\nAssistant:').map(() => 0), 1, 1, 1, 1]
    expect(e.ids).toEqual(expectedIds)
    expect(e.mask).toEqual(expectedMask)
  })

  it('a row too long loses prompt tokens from the left (bos kept) and is counted; one whose answer cannot fit is dropped with its reason', () => {
    const rows: SftRow[] = [
      { kind: 'completion', row: 1, prompt: 'abcdef', completion: 'XY' },
      { kind: 'completion', row: 2, prompt: 'p', completion: 'LONGANSWER' },
      { kind: 'completion', row: 3, prompt: 'q', completion: 'Z' },
    ]
    const { examples, truncated, dropped } = encodeSft(rows, chars, { seqLen: 6 })
    // bos + 6 + 2 + eos = 10 tokens → 4 prompt tokens cut from the left: bos, "ef", "XY", eos.
    expect(examples[0]!.ids).toEqual([1, 101, 102, 88, 89, 2])
    expect(examples[0]!.mask).toEqual([0, 0, 0, 1, 1, 1])
    expect(examples[0]!.promptCut).toBe(4)
    expect(truncated).toEqual([1])
    expect(dropped).toEqual([
      { row: 2, message: 'Row 2 is 13 tokens, 7 more than the sequence length 6, and only 1 of them come before the answer (the answer take 11): raise the sequence length, shorten the answer, or split the conversation.' },
    ])
    expect(examples.map((e) => e.row)).toEqual([1, 3])
  })

  it('a long conversation loses its earliest context but keeps the "Assistant:" header before the first answer', () => {
    const row: SftRow = { kind: 'chat', row: 9, messages: [{ role: 'user', content: 'hello there' }, { role: 'assistant', content: 'ok' }] }
    // Full: bos + "User: hello there\n" (18) + "Assistant:" (10) + " ok" (3) + eos = 33.
    const e = encodeSft([row], chars, { seqLen: 20, chat }).examples[0]!
    expect(e.promptCut).toBe(13)
    expect(e.ids).toEqual([1, ...ids('here\n'), ...ids('Assistant:'), ...ids(' ok'), 2])
    expect(e.mask).toEqual([0, 0, 0, 0, 0, 0, ...ids('Assistant:').map(() => 0), 1, 1, 1, 1])
    const tooShort = encodeSft([row], chars, { seqLen: 10, chat })
    expect(tooShort.examples).toEqual([])
    expect(tooShort.dropped[0]!.message).toMatch(/^Row 9 is 33 tokens, 23 more than the sequence length 10, and only 18 of them come before the answer/)
  })

  it('packing puts short rows back to back without splitting one; without it each row is padded', () => {
    const rows: SftRow[] = [
      { kind: 'completion', row: 1, prompt: 'a', completion: 'b' }, // 4 tokens
      { kind: 'completion', row: 2, prompt: 'c', completion: 'd' }, // 4
      { kind: 'completion', row: 3, prompt: 'ee', completion: 'f' }, // 5
    ]
    const { examples } = encodeSft(rows, chars, { seqLen: 8 })
    const packed = toWindows(examples, 8, 0, true)
    expect(packed.map((w) => w.rows)).toEqual([[1, 2], [3]])
    expect(packed[0]!.ids).toEqual([1, 97, 98, 2, 1, 99, 100, 2])
    expect(packed[0]!.mask).toEqual([0, 0, 1, 1, 0, 0, 1, 1])
    expect(packed[1]!.ids).toEqual([1, 101, 101, 102, 2, 0, 0, 0])
    expect(packed[1]!.mask).toEqual([0, 0, 0, 1, 1, 0, 0, 0])
    expect(toWindows(examples, 8, 0, false).map((w) => w.rows)).toEqual([[1], [2], [3]])
  })

  it('with the built-in LM\'s real BPE tokenizer the mask covers exactly the answer\'s tokens and eos', () => {
    const model = JSON.parse(readFileSync(resolve(__dirname, '../../../../public/models/tiny-lm/model.json'), 'utf8')) as { tokenizer: BpeTokenizerJson }
    const bpe = BpeTokenizer.fromJSON(model.tokenizer)
    const { examples } = encodeSft(
      [
        { kind: 'completion', row: 1, prompt: 'Is the word "happy" positive or negative?\nAnswer:', completion: ' positive' },
        { kind: 'chat', row: 2, messages: [{ role: 'user', content: 'Call me Ishmael.' }, { role: 'assistant', content: 'Some years ago.' }] },
      ],
      bpe,
      { seqLen: 128, chat: tinyLmChatFormat(bpe) },
    )
    const [a, b] = examples
    expect(a!.ids.filter((_, i) => a!.mask[i]).slice(0, -1)).toEqual(bpe.encode(' positive'))
    expect(a!.ids.at(-1)).toBe(bpe.eosId)
    expect(bpe.decode(b!.ids.filter((_, i) => b!.mask[i]))).toBe(' Some years ago.')
    expect(b!.ids[0]).toBe(bpe.bosId)
    expect(b!.ids.at(-1)).toBe(bpe.eosId)
    expect(bpe.decode(b!.ids)).toBe('User: Call me Ishmael.\nAssistant: Some years ago.')
  })
})

describe('SFT data: a row tokenized as one text (a Hugging Face tokenizer)', () => {
  /** Greedy longest match over a few multi-character tokens ("ab" = 300, "c\n" = 301), else
   *  one id per character: tokens that cross a prompt/answer boundary, as BPE merges do. */
  const merging: LmTokenizer = {
    encode: (t) => {
      const out: number[] = []
      for (let i = 0; i < t.length; ) {
        if (t.startsWith('ab', i)) (out.push(300), (i += 2))
        else if (t.startsWith('c\n', i)) (out.push(301), (i += 2))
        else out.push(t.charCodeAt(i++))
      }
      return out
    },
    decode: () => '',
    padId: 0,
    bosId: 1,
    eosId: 2,
  }

  it('finds the answer tokens by where the prompt ends: a token merged across the boundary belongs to the answer', () => {
    // "xa" + "bc": the whole row is x, ab, c; the prompt alone would be x, a, so "ab" starts inside the prompt
    const { examples } = encodeSft([{ kind: 'completion', row: 1, prompt: 'xa', completion: 'bc' }], merging, { seqLen: 16, wholeText: true })
    expect(examples[0]!.ids).toEqual([1, 120, 300, 99, 2]) // bos, x, ab, c, eos
    expect(examples[0]!.mask).toEqual([0, 0, 1, 1, 1])
    // tokenized piece by piece (the built-in LM's way) the same row keeps "a" and "b" apart
    const apart = encodeSft([{ kind: 'completion', row: 1, prompt: 'xa', completion: 'bc' }], merging, { seqLen: 16 })
    expect(apart.examples[0]!.ids).toEqual([1, 120, 97, 98, 99, 2])
  })

  it('splits a chat row rendered by a template as one text, with the template’s own bos kept first', () => {
    const format = { template: "{{ bos_token }}{% for m in messages %}{{ m.role[0] }}:{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}a:{% endif %}", variables: { bos_token: '\u0001' }, specials: {} }
    const row: SftRow = { kind: 'chat', row: 1, messages: [{ role: 'user', content: 'ab' }, { role: 'assistant', content: 'c' }] }
    // rendered by hand: "\u0001u:ab\na:c\n" → bos, u, :, ab, \n, a, :, c\n
    const { examples } = encodeSft([row], merging, { seqLen: 32, chat: format, wholeText: true })
    expect(examples[0]!.ids).toEqual([1, 117, 58, 300, 10, 97, 58, 301])
    expect(examples[0]!.mask).toEqual([0, 0, 0, 0, 0, 0, 0, 1]) // the answer "c\n", one merged token
  })
})
