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
      throw new DataFailure(notUtf8Error(file, bytesRead))
    }
    bytesRead += bytes.length
    options.onBytes?.(bytesRead)
    if (text.length > 0) yield text
  }
  let rest: string
  try {
    rest = decoder.decode()
  } catch {
    throw new DataFailure(notUtf8Error(file, bytesRead))
  }
  if (rest.length > 0) yield rest
}

function notUtf8Error(file: string, near: number): DataError {
  return {
    file,
    message:
      `${file} is not valid UTF-8 text (bad bytes near byte ${near}). It may be in another ` +
      'encoding (such as Windows-1252) or not a text file: save it as UTF-8 (in Excel: "CSV UTF-8") and try again.',
  }
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
