/**
 * Plain text for language modelling, cut into blocks of whole paragraphs. Blocks are the
 * dataset's rows: the unit a validation split holds out and a preview shows. Token-level
 * windows are cut later (textBatches.ts).
 */

export interface TextBlockOptions {
  /** A block is closed once it reaches this many characters. */
  targetChars?: number
  /** A paragraph longer than this is cut at a space (text without blank lines). */
  maxChars?: number
}

export const DEFAULT_BLOCK_CHARS = 1000

export class TextBlockSplitter {
  private readonly target: number
  private readonly max: number
  private buffer = '' // text not yet split into paragraphs
  private block: string[] = []
  private blockChars = 0
  private started = false
  private heldCr = false

  constructor(options: TextBlockOptions = {}) {
    this.target = options.targetChars ?? DEFAULT_BLOCK_CHARS
    this.max = options.maxChars ?? this.target * 4
  }

  push(chunk: string): string[] {
    if (!this.started && chunk.length > 0) {
      this.started = true
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    }
    // Normalise line ends; a CR at the end of a chunk may be half of a CRLF.
    if (this.heldCr) chunk = '\r' + chunk
    this.heldCr = chunk.endsWith('\r')
    if (this.heldCr) chunk = chunk.slice(0, -1)
    this.buffer += chunk.replace(/\r\n?/g, '\n')
    const out: string[] = []
    const re = /\n[ \t]*\n\s*/g
    let consumed = 0
    for (let m = re.exec(this.buffer); m !== null; m = re.exec(this.buffer)) {
      // A break that reaches the end of the buffer may continue in the next chunk.
      if (m.index + m[0].length === this.buffer.length) break
      this.addParagraph(this.buffer.slice(consumed, m.index), out)
      consumed = m.index + m[0].length
    }
    this.buffer = this.buffer.slice(consumed)
    while (this.buffer.length > this.max) {
      const cut = cutPoint(this.buffer, this.max)
      this.addParagraph(this.buffer.slice(0, cut), out)
      this.buffer = this.buffer.slice(cut).replace(/^\s+/, '')
    }
    return out
  }

  finish(): string[] {
    const out: string[] = []
    if (this.heldCr) this.buffer += '\n'
    this.heldCr = false
    while (this.buffer.length > this.max) {
      const cut = cutPoint(this.buffer, this.max)
      this.addParagraph(this.buffer.slice(0, cut), out)
      this.buffer = this.buffer.slice(cut).replace(/^\s+/, '')
    }
    this.addParagraph(this.buffer, out)
    this.buffer = ''
    if (this.block.length > 0) out.push(this.block.join('\n\n'))
    this.block = []
    this.blockChars = 0
    return out
  }

  private addParagraph(text: string, out: string[]): void {
    const p = text.trim()
    if (p === '') return
    this.block.push(p)
    this.blockChars += p.length
    if (this.blockChars >= this.target) {
      out.push(this.block.join('\n\n'))
      this.block = []
      this.blockChars = 0
    }
  }
}

/** The last whitespace at or before `max`, so words are not cut; `max` if there is none. */
function cutPoint(text: string, max: number): number {
  const space = text.lastIndexOf(' ', max)
  const nl = text.lastIndexOf('\n', max)
  const at = Math.max(space, nl)
  return at > max / 2 ? at : max
}

/** Splits a whole string (for tests and small inputs). */
export function splitTextBlocks(text: string, options: TextBlockOptions = {}): string[] {
  const s = new TextBlockSplitter(options)
  return [...s.push(text), ...s.finish()]
}
