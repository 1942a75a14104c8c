/**
 * Bytes to text, chunk by chunk: strict UTF-8 (a wrong encoding is an error, not silent
 * replacement characters), binary detection, a size limit, and progress.
 */
import type { DataError } from './types'
import { formatBytes } from '../../format/format'

export type ByteInput =
  | Uint8Array
  | Iterable<Uint8Array>
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>

/** Thrown inside the parser to stop at the first fatal problem; parseDataset turns it
 * into a `{ ok: false, error }` value. */
export class DataFailure extends Error {
  constructor(readonly dataError: DataError) {
    super(dataError.message)
  }
}

export interface DecodeOptions {
  maxBytes: number
  totalBytes?: number
  /** Slice size for a single buffer, so even a buffer is decoded in pieces. */
  chunkBytes?: number
  onBytes?: (bytesRead: number) => void
}

const DEFAULT_CHUNK_BYTES = 1 << 20


export function tooLargeError(file: string, bytes: number, maxBytes: number, atLeast: boolean): DataError {
  return {
    file,
    message:
      `${file} is ${atLeast ? 'over ' : ''}${formatBytes(atLeast ? maxBytes : bytes)}; the limit is ` +
      `${formatBytes(maxBytes)}. Use a sample of the rows (the studio keeps the whole dataset in memory).`,
  }
}

/** Yields decoded text chunks; throws DataFailure for binary, non-UTF-8 or oversized input. */
export async function* decodeUtf8Chunks(
  file: string,
  input: ByteInput,
  options: DecodeOptions,
): AsyncGenerator<string> {
  const { maxBytes } = options
  if (options.totalBytes !== undefined && options.totalBytes > maxBytes) {
    throw new DataFailure(tooLargeError(file, options.totalBytes, maxBytes, false))
  }
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let bytesRead = 0
  let linesBefore = 0 // newlines in the chunks already decoded
  let tail: Uint8Array = new Uint8Array(0) // the last bytes decoded: the start of a character, and what comes before a bad byte
  for await (const bytes of byteChunks(input, options.chunkBytes ?? DEFAULT_CHUNK_BYTES)) {
    if (bytesRead === 0) checkUtf16(file, bytes)
    if (bytesRead + bytes.length > maxBytes) {
      throw new DataFailure(tooLargeError(file, bytesRead + bytes.length, maxBytes, true))
    }
    const nul = bytes.indexOf(0)
    if (nul !== -1) {
      throw new DataFailure({
        file,
        message:
          `${file} looks like a binary file, not text (it has a NUL byte at byte ${bytesRead + nul}). ` +
          'Upload a .csv, .tsv, .jsonl, .json or .txt file saved as UTF-8 text.',
      })
    }
    let text: string
    try {
      text = decoder.decode(bytes, { stream: true })
    } catch {
      throw new DataFailure(notUtf8Error(file, badByteAt(tail, bytes, bytesRead, linesBefore)))
    }
    bytesRead += bytes.length
    linesBefore += countNewlines(bytes, bytes.length)
    tail = lastBytes(tail, bytes, 24)
    options.onBytes?.(bytesRead)
    if (text.length > 0) yield text
  }
  let rest: string
  try {
    rest = decoder.decode()
  } catch {
    throw new DataFailure(notUtf8Error(file, { line: linesBefore + 1, atEnd: true }))
  }
  if (rest.length > 0) yield rest
}

/** Where the first byte UTF-8 does not allow is: its line (1-based), the byte, the text before it on its line. */
interface BadByte {
  line: number
  atEnd?: boolean
  offset?: number
  value?: number
  before?: string
}

function notUtf8Error(file: string, bad: BadByte): DataError {
  const where = bad.atEnd
    ? `it ends in the middle of a character, on line ${bad.line}`
    : `line ${bad.line} has a byte UTF-8 does not allow (0x${(bad.value ?? 0).toString(16).toUpperCase().padStart(2, '0')}` +
      `${bad.before ? ` after ${quoted(bad.before)}` : ''}, byte ${bad.offset} of the file)`
  return {
    file,
    message:
      `${file} is not valid UTF-8 text: ${where}. It may be in another ` +
      'encoding (such as Windows-1252) or not a text file: save it as UTF-8 (in Excel: "CSV UTF-8") and try again.',
  }
}

/** The file's text between quote marks it does not itself hold: "caf", or '"caf' for text that
 *  starts with (or holds) a double quote, or “'a" b” when it holds both. */
function quoted(text: string): string {
  if (!text.includes('"')) return `"${text}"`
  if (!text.includes("'")) return `'${text}'`
  return `“${text}”`
}

/** Finds the first byte that breaks UTF-8 in `bytes` (which start at byte `start` of the file,
 *  after `linesBefore` newlines), or in a character begun in `tail` (the end of the bytes before). */
function badByteAt(tail: Uint8Array, bytes: Uint8Array, start: number, linesBefore: number): BadByte {
  const all = new Uint8Array(tail.length + bytes.length)
  all.set(tail)
  all.set(bytes, tail.length)
  let i = 0
  while (i < tail.length && ((all[i] as number) & 0xc0) === 0x80) i++ // the end of a character already read
  const at = firstInvalidUtf8(all, i)
  const bad = at < 0 ? tail.length : at
  const lineStart = all.lastIndexOf(10, bad - 1) + 1
  const before = new TextDecoder('utf-8').decode(all.subarray(Math.max(lineStart, i, bad - 24), bad)).trimStart()
  const line = linesBefore - countNewlines(tail, tail.length) + countNewlines(all, bad) + 1
  return { line, offset: start - tail.length + bad, value: all[bad] ?? 0, before }
}

/** Index of the first byte that starts a sequence UTF-8 does not allow, from `from`; -1 when none
 *  (a character cut off at the end of `bytes` is not counted: the next chunk may finish it). */
export function firstInvalidUtf8(bytes: Uint8Array, from = 0): number {
  const n = bytes.length
  let i = from
  while (i < n) {
    const b = bytes[i] as number
    if (b < 0x80) {
      i++
      continue
    }
    const need = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0
    if (need === 0) return i
    const second = bytes[i + 1]
    if (second === undefined) return -1
    // The second byte's allowed range is narrower after E0, ED, F0 and F4 (no overlongs, surrogates or > U+10FFFF).
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf
    if (second < lo || second > hi) return i
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k]
      if (c === undefined) return -1
      if ((c & 0xc0) !== 0x80) return i
    }
    i += need + 1
  }
  return -1
}

/** The last `n` bytes of `a` followed by `b`. */
function lastBytes(a: Uint8Array, b: Uint8Array, n: number): Uint8Array {
  if (b.length >= n) return b.slice(b.length - n)
  const out = new Uint8Array(Math.min(n, a.length + b.length))
  const fromA = out.length - b.length
  out.set(a.subarray(a.length - fromA))
  out.set(b, fromA)
  return out
}

function countNewlines(bytes: Uint8Array, end: number): number {
  let count = 0
  for (let i = bytes.indexOf(10); i !== -1 && i < end; i = bytes.indexOf(10, i + 1)) count++
  return count
}

function checkUtf16(file: string, bytes: Uint8Array): void {
  const a = bytes[0]
  const b = bytes[1]
  if ((a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff)) {
    throw new DataFailure({
      file,
      message: `${file} is saved as UTF-16 text. Save it as UTF-8 (in Excel: "CSV UTF-8") and try again.`,
    })
  }
}

async function* byteChunks(input: ByteInput, chunkBytes: number): AsyncGenerator<Uint8Array> {
  if (input instanceof Uint8Array) {
    for (let i = 0; i < input.length; i += chunkBytes) yield input.subarray(i, i + chunkBytes)
    return
  }
  if (isReadableStream(input)) {
    const reader = input.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        yield value
      }
    } finally {
      reader.releaseLock()
    }
    return
  }
  for await (const chunk of input as Iterable<Uint8Array> | AsyncIterable<Uint8Array>) yield chunk
}

function isReadableStream(input: ByteInput): input is ReadableStream<Uint8Array> {
  return typeof (input as Partial<ReadableStream<Uint8Array>>).getReader === 'function'
}
