/**
 * The dataset entry point: bytes in, a validated Dataset or a DataError out.
 * decode (decodeText) → rows (readTable) → roles guessed (detectRoles) → checked (applyRoles).
 * Errors are values; nothing here throws for bad input.
 */
import { applyRoles, type TableInfo } from './applyRoles'
import { profileColumns } from './columnProfile'
import type { Delimiter } from './csv'
import { DataFailure, decodeUtf8Chunks, type ByteInput } from './decodeText'
import { detectRoles } from './detectRoles'
import { checkSupportedName, readTable } from './readTable'
import { MAX_DATASET_BYTES, type Dataset, type ParseProgress, type ParseResult, type Roles } from './types'

export * from './types'
export type { ByteInput } from './decodeText'

export interface ParseOptions {
  /** Refuse files larger than this (default MAX_DATASET_BYTES). */
  maxBytes?: number
  /** The size when the input is a stream, for progress and an early size check. */
  totalBytes?: number
  /** Use these roles instead of guessing them. */
  roles?: Roles
  /** Force the CSV header decision (guessed when left out). */
  hasHeader?: boolean
  delimiter?: Delimiter
  /** Bytes decoded per step when the input is one buffer. */
  chunkBytes?: number
}

export async function parseDataset(
  fileName: string,
  input: ByteInput,
  onProgress?: (p: ParseProgress) => void,
  options: ParseOptions = {},
): Promise<ParseResult> {
  const maxBytes = options.maxBytes ?? MAX_DATASET_BYTES
  const totalBytes = options.totalBytes ?? (input instanceof Uint8Array ? input.length : undefined)
  let bytes = 0
  let rows = 0
  const report = (): void => {
    onProgress?.({ bytesRead: bytes, rows, ...(totalBytes !== undefined ? { totalBytes } : {}) })
  }
  try {
    checkSupportedName(fileName)
    const chunks = decodeUtf8Chunks(fileName, input, {
      maxBytes,
      ...(totalBytes !== undefined ? { totalBytes } : {}),
      ...(options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {}),
      onBytes: (b) => {
        bytes = b
        report()
      },
    })
    const table = await readTable(fileName, chunks, {
      ...(options.hasHeader !== undefined ? { hasHeader: options.hasHeader } : {}),
      ...(options.delimiter !== undefined ? { delimiter: options.delimiter } : {}),
      onRows: (n) => {
        rows = n
      },
    })
    rows = table.rows.length
    report()
    const info: TableInfo = {
      name: fileName,
      format: table.format,
      bytes,
      columns: table.columns,
      hasHeader: table.hasHeader,
      source: {
        rows: table.rows,
        rowNumbers: table.rowNumbers,
        rejected: table.rejected,
        rejectedCount: table.rejectedCount,
        warnings: table.warnings,
      },
    }
    const roles = options.roles ?? detectRoles(profileColumns(table.columns, table.rows), table.format)
    return applyRoles(info, roles)
  } catch (e) {
    if (e instanceof DataFailure) return { ok: false, error: e.dataError }
    return {
      ok: false,
      error: { file: fileName, message: `${fileName} could not be read: ${e instanceof Error ? e.message : String(e)}` },
    }
  }
}

/** The same data under other roles (chosen by the user), checked again from the
 * well-formed rows, so rows rejected under the old roles can come back. */
export function withRoles(dataset: Dataset, roles: Roles): ParseResult {
  const { name, format, bytes, columns, hasHeader, source } = dataset
  return applyRoles({ name, format, bytes, columns, hasHeader, source }, roles)
}

/** Convenience for tests and scripts: parse a string as if it were a file's contents. */
export function parseDatasetText(
  fileName: string,
  text: string,
  options: ParseOptions = {},
): Promise<ParseResult> {
  return parseDataset(fileName, new TextEncoder().encode(text), undefined, options)
}
