// What the instruction and preference readers say about a file that cannot be their rows (h2's
// walk-through: a model.safetensors chosen as the training file was refused as "Row 1 is not
// valid JSON … (and 398 more problems)"; two bad rows ended "(and 1 more problems)").
import { describe, expect, it } from 'vitest'
import { parseDpoJsonl } from '../dpo/data'
import { parseSftCsv, parseSftJsonl } from './data'

// The start of a safetensors file: an 8-byte little-endian header length, then the JSON header.
const safetensorsStart = String.fromCharCode(0x38, 0, 0, 0, 0, 0, 0, 0) + '{"wte.weight":{"dtype":"F32","shape":[4,2],"data_offsets":[0,32]}}'

describe('files the objectives cannot read as rows', () => {
  it('a binary file is refused as not text, for SFT (JSON Lines or CSV) and DPO, saying what to choose', () => {
    expect(() => parseSftJsonl(safetensorsStart, 'model.safetensors')).toThrow('model.safetensors is not a text file (it holds binary data): choose a JSON Lines file with one {"prompt": …, "completion": …} or {"messages": […]} object a line.')
    expect(() => parseSftCsv(safetensorsStart, 'prompt', 'completion', 'model.safetensors')).toThrow(/^model\.safetensors is not a text file \(it holds binary data\): choose a CSV with prompt and completion columns\.$/)
    expect(() => parseDpoJsonl(safetensorsStart, 'model.safetensors')).toThrow(/^model\.safetensors is not a text file \(it holds binary data\): choose a JSON Lines file with one \{"prompt": …, "chosen": …, "rejected": …\} object a line\.$/)
  })

  it('counts the problems after the first in words that agree with the number', () => {
    expect(() => parseSftJsonl('{"foo": 1}\n{"bar": 2}\n', 'two.jsonl')).toThrow(/ \(and 1 more problem\)$/)
    expect(() => parseSftJsonl('{"foo": 1}\n{"bar": 2}\n{"baz": 3}\n', 'three.jsonl')).toThrow(/ \(and 2 more problems\)$/)
    expect(() => parseDpoJsonl('{"prompt": "p", "chosen": "c"}\n{"prompt": "q"}\n', 'pairs.jsonl')).toThrow(/ \(and 1 more problem\)$/)
    expect(() => parseSftJsonl('{"foo": 1}\n', 'one.jsonl')).toThrow(/rename its fields\.$/)
  })
})
