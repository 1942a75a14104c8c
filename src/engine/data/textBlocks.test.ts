import { describe, expect, it } from 'vitest'
import { TextBlockSplitter, splitTextBlocks } from './textBlocks'

const para = (i: number, words = 30) => Array.from({ length: words }, (_, k) => `w${i}_${k}`).join(' ')

describe('TextBlockSplitter', () => {
  it('groups whole paragraphs into blocks of about the target size', () => {
    const text = Array.from({ length: 20 }, (_, i) => para(i)).join('\n\n')
    const blocks = splitTextBlocks(text, { targetChars: 500 })
    expect(blocks.length).toBeGreaterThan(3)
    for (const b of blocks.slice(0, -1)) expect(b.length).toBeGreaterThanOrEqual(500)
    // Nothing lost, nothing cut: joining the blocks gives the paragraphs back.
    expect(blocks.join('\n\n')).toBe(text)
  })

  it('gives the same blocks whatever the chunking, with CRLF line ends', () => {
    const text = Array.from({ length: 12 }, (_, i) => para(i, 15)).join('\r\n\r\n')
    const whole = splitTextBlocks(text, { targetChars: 300 })
    for (const size of [1, 7, 64]) {
      const s = new TextBlockSplitter({ targetChars: 300 })
      const out: string[] = []
      for (let i = 0; i < text.length; i += size) out.push(...s.push(text.slice(i, i + size)))
      out.push(...s.finish())
      expect(out).toEqual(whole)
    }
    expect(whole.join('')).not.toContain('\r')
  })

  it('cuts text without blank lines at spaces, never mid-word', () => {
    const text = para(1, 2000)
    const blocks = splitTextBlocks(text, { targetChars: 1000 })
    expect(blocks.length).toBeGreaterThan(3)
    for (const b of blocks) {
      expect(b.length).toBeLessThanOrEqual(4000)
      expect(b).toMatch(/^w1_\d+( w1_\d+)*$/)
    }
    expect(blocks.join(' ')).toBe(text)
  })

  it('strips a BOM and returns nothing for whitespace only', () => {
    expect(splitTextBlocks('\uFEFF  \n\n  \n')).toEqual([])
    expect(splitTextBlocks('\uFEFFHello')).toEqual(['Hello'])
  })
})
