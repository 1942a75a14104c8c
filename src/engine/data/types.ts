/** Types shared by the dataset engine: what a parsed dataset is, and how it fails. */

export type DatasetFormat = 'csv' | 'tsv' | 'jsonl' | 'json' | 'text'

export type Task =
  | 'text-classification'
  | 'tabular-classification'
  | 'regression'
  | 'language-modelling'
  | 'multitask'

/**
 * Which column plays which part. `labels` are class columns (one: a classifier; several:
 * multitask); `target` is a numeric column to predict (regression); `features` are numeric
 * inputs; `text` is the text input (or the text to model when there is no label).
 */
export interface Roles {
  text?: string
  labels: string[]
  features: string[]
  target?: string
}

/** An error a person can act on: names the file, row or field and what to do. */
export interface DataError {
  message: string
  file: string
  row?: number
  field?: string
}

export interface DataWarning {
  message: string
  field?: string
  row?: number
}

/** A row left out, with why. `row` is the row number in the file (header = row 1). */
export interface Rejection {
  row: number
  reason: string
}

export interface ClassCount {
  label: string
  count: number
}

/** Lengths of the text column in characters. */
export interface TextLengthStats {
  min: number
  max: number
  mean: number
  median: number
  p95: number
}

/** Rows that are well-formed (right number of fields, valid JSON), before role checks.
 * Kept so that `withRoles` can re-validate against other roles. */
export interface SourceTable {
  rows: string[][]
  rowNumbers: number[]
  rejected: Rejection[]
  rejectedCount: number
  /** Warnings from reading (such as renamed duplicate columns). */
  warnings: DataWarning[]
}

export interface Dataset {
  /** The file name. */
  name: string
  format: DatasetFormat
  bytes: number
  columns: string[]
  /** False when the CSV had no header and columns were named column_1, column_2, … */
  hasHeader: boolean
  /** Rows kept under the current roles; every cell is a plain string, never interpreted. */
  rows: string[][]
  /** The file row number of each kept row, for messages ("row 17"). */
  rowNumbers: number[]
  roles: Roles
  task: Task
  /** Rows left out (the first MAX_REJECTIONS_LISTED); `rejectedCount` counts them all. */
  rejected: Rejection[]
  rejectedCount: number
  /** Per label column, its classes in label-index order with their counts. */
  classes: Record<string, ClassCount[]>
  textLengths?: TextLengthStats
  warnings: DataWarning[]
  source: SourceTable
}

export type ParseResult = { ok: true; dataset: Dataset } | { ok: false; error: DataError }

export interface ParseProgress {
  bytesRead: number
  /** Known when the input is one buffer or the caller passed it. */
  totalBytes?: number
  rows: number
}

/** Files above this are refused: rows are held in memory as strings. */
export const MAX_DATASET_BYTES = 200e6 // 200 MB, written as src/format writes sizes

/** At most this many rejections are listed one by one (all are counted). */
export const MAX_REJECTIONS_LISTED = 1000

/** A label column with more distinct values than this is not treated as classes. */
export const MAX_CLASSES = 100
