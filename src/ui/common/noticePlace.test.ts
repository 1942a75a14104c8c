import { describe, expect, it } from 'vitest'
import { noticePlace } from './noticePlace'

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
