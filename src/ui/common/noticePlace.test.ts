import { describe, expect, it } from 'vitest'
import { noticeLead, noticePlace } from './noticePlace'

describe('noticePlace', () => {
  it('writes the worker’s command names as words', () => {
    expect(noticePlace('loadModel')).toBe('Loading the model')
    expect(noticePlace('train')).toBe('Training')
    expect(noticePlace('resumeRun')).toBe('Continuing training')
    expect(noticePlace('hfLoad')).toBe('Loading the Hugging Face model')
  })

  it('splits a camelCase name it does not know, and keeps words as they are', () => {
    expect(noticePlace('someNewCommand')).toBe('some new command')
    expect(noticePlace('dataset spam.csv')).toBe('dataset spam.csv')
    expect(noticePlace('file model.json')).toBe('file model.json')
    expect(noticePlace('crash')).toBe('crash')
    expect(noticePlace('toString')).toBe('to string') // not an inherited property's text
  })
})

describe('noticeLead', () => {
  it('leaves out a file the text already starts with (the notice read "tokenizer.json: tokenizer.json: is not JSON")', () => {
    expect(noticeLead('tokenizer.json', 'tokenizer.json: is not JSON. Choose the tokenizer.json from the model repository.')).toBeNull()
    expect(noticeLead('config.json', 'config.json is missing from the chosen files (notes.txt).')).toBeNull()
  })

  it('keeps the place when the text starts otherwise, or only with a longer word', () => {
    expect(noticeLead('pseudoLabel', 'Class name 2 is empty: type a word or short phrase for each class.')).toBe('Labelling the texts')
    expect(noticeLead('config.json', 'config.jsonl is not a config: …')).toBe('config.json')
    expect(noticeLead('hfLoad', 'Repo "a/b" not found on the Hugging Face Hub')).toBe('Loading the Hugging Face model')
    expect(noticeLead(undefined, 'anything')).toBeNull()
  })
})
