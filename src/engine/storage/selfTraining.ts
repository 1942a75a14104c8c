/**
 * Self-training (learning without labels) kept in IndexedDB round by round: what the rounds
 * started from (the texts, the zero-shot labels, the validation file), each finished round's
 * figures and the labels the next round trains on, in one record; each finished round's tuned
 * weights beside it under `<job id>#<round>`. Record and weights of a round are written in ONE
 * transaction, so a stored round always has its weights. A person who closes the tab after round
 * 2 of 3 gets the rounds' figures and round 2's model back, and can go on with round 3.
 */
import type { Settings } from '../../settings/types'
import type { Metrics } from '../types/metrics'
import type { EpochPoint, StepPoint } from '../types/run'
import type { StudioDb } from './db'
import type { StoredTensor, StorageResult } from './types'
import { toStorageError } from './checkpoints'

/** Labels of every row by class index, with their confidence and the row × class
 *  probabilities (tasks/pseudoLabel PseudoLabels, stored as they are). */
export interface StoredLabels {
  classes: string[]
  labels: number[]
  confidence: number[]
  probs: Float32Array
}

export interface StoredTexts {
  name: string
  texts: string[]
  labels: string[] | null
}

/** One finished round as the page shows it (worker/lmProtocol.ts PseudoRound's fields). */
export interface StoredRound {
  round: number
  kept: number
  keptPerClass: number[]
  validationAccuracy: number | null
  /** The run's closing words for this round. */
  message: string
  /** The round's charts (absent in rounds kept before they were). */
  series?: StoredSeries
  /** Bytes of the round's weights, for the storage panel (absent in rounds kept before it was). */
  weightBytes?: number
}

/** A round's loss and validation charts, compactly: each reported step's number, mean loss and
 *  learning rate as typed arrays (12 bytes a point; Float32 is more than a chart draws), each
 *  epoch's point as the page draws it, and the line to beat the round measured. */
export interface StoredSeries {
  step: Int32Array
  loss: Float32Array
  lr: Float32Array
  epochs: EpochPoint[]
  baseline: { metrics: Metrics; note: string; name?: string } | null
}

export interface RoundCharts {
  steps: StepPoint[]
  epochs: EpochPoint[]
  baseline: StoredSeries['baseline']
}

export function packSeries(c: RoundCharts): StoredSeries {
  return {
    step: Int32Array.from(c.steps, (p) => p.step),
    loss: Float32Array.from(c.steps, (p) => p.loss),
    lr: Float32Array.from(c.steps, (p) => p.lr),
    epochs: c.epochs.map((e) => ({ ...e })),
    baseline: c.baseline,
  }
}

/** The rounds' charts one after another, as the page drew them live (each round's steps and
 *  epochs counted from its own start), with the last round's line to beat. */
export function unpackSeries(rounds: readonly StoredRound[]): RoundCharts {
  const out: RoundCharts = { steps: [], epochs: [], baseline: null }
  for (const r of rounds) {
    const s = r.series
    if (!s) continue
    for (let i = 0; i < s.step.length; i++) out.steps.push({ step: s.step[i]!, loss: s.loss[i]!, lr: s.lr[i]! })
    out.epochs.push(...s.epochs)
    if (s.baseline) out.baseline = s.baseline
  }
  return out
}

/** About what a value takes in storage: typed arrays and buffers their bytes, strings two bytes
 *  a character, numbers eight, booleans four, objects and arrays what they hold. */
export function approxBytes(v: unknown): number {
  if (v === null || v === undefined) return 0
  if (typeof v === 'string') return 2 * v.length
  if (typeof v === 'number') return 8
  if (typeof v === 'boolean') return 4
  if (v instanceof ArrayBuffer) return v.byteLength
  if (ArrayBuffer.isView(v)) return v.byteLength
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + approxBytes(x), 0)
  if (typeof v === 'object') return Object.entries(v).reduce((n, [k, x]) => n + 2 * k.length + approxBytes(x), 0)
  return 0
}

export interface SelfTrainingRecord {
  id: string // the run id of the self-training job
  createdAt: number
  updatedAt: number
  modelId: string
  modelTitle: string
  /** The page's settings the rounds ran with, and the round's own (an SFT round's sequence length). */
  settings: Settings
  roundSettings: Settings
  /** The head a round trains: the number of classes (Head only), or null (the model's own label scores). */
  outputs: number | null
  threshold: number
  rounds: number // planned
  balance: boolean
  /** The zero-shot labelling the page showed (worker/lmProtocol.ts PseudoSummary), as it was. */
  summary: unknown
  unlabelled: StoredTexts
  validation: StoredTexts | null
  zeroShot: StoredLabels
  zeroShotVal: StoredLabels | null
  finished: StoredRound[]
  /** The labels the next round trains on; null once the planned rounds are done. */
  next: StoredLabels | null
}

export interface SelfTrainingWeights {
  id: string // `${job id}#${round}`
  weights: StoredTensor[]
}

export const roundWeightsId = (id: string, round: number) => `${id}#${round}`

/** Saves the record with its newest round's weights, in one transaction. */
export async function saveSelfTrainingRound(db: StudioDb, record: SelfTrainingRecord, weights: StoredTensor[]): Promise<StorageResult<SelfTrainingRecord>> {
  const round = record.finished.at(-1)?.round ?? 0
  const tx = db.transaction(['selfTraining', 'selfTrainingWeights'], 'readwrite')
  try {
    await tx.objectStore('selfTrainingWeights').put({ id: roundWeightsId(record.id, round), weights })
    await tx.objectStore('selfTraining').put(record)
    await tx.done
    return { ok: true, value: record }
  } catch (e) {
    try {
      tx.abort()
    } catch {
      // already finished or aborted
    }
    await tx.done.catch(() => undefined)
    return { ok: false, error: toStorageError(e, weights.reduce((n, w) => n + w.data.byteLength, 0)) }
  }
}

/** Newest first. */
export async function listSelfTraining(db: StudioDb): Promise<SelfTrainingRecord[]> {
  return (await db.getAll('selfTraining')).sort((a, b) => b.updatedAt - a.updatedAt)
}

/** What a kept job takes in this browser: its record and every round's weights (read from
 *  the store for rounds kept before their size was noted). */
export async function selfTrainingBytes(db: StudioDb, record: SelfTrainingRecord): Promise<number> {
  let n = approxBytes(record)
  for (const r of record.finished) {
    if (r.weightBytes !== undefined) n += r.weightBytes
    else n += (await db.get('selfTrainingWeights', roundWeightsId(record.id, r.round)))?.weights.reduce((b, w) => b + w.data.byteLength, 0) ?? 0
  }
  return n
}

/** The record and its last finished round's weights; null when either is gone. */
export async function loadSelfTraining(db: StudioDb, id: string): Promise<{ record: SelfTrainingRecord; weights: StoredTensor[] } | null> {
  const record = await db.get('selfTraining', id)
  const last = record?.finished.at(-1)
  if (!record || !last) return null
  const w = await db.get('selfTrainingWeights', roundWeightsId(id, last.round))
  return w ? { record, weights: w.weights } : null
}

/** The record and every round's weights. */
export async function deleteSelfTraining(db: StudioDb, id: string): Promise<void> {
  const tx = db.transaction(['selfTraining', 'selfTrainingWeights'], 'readwrite')
  const rounds = (await tx.objectStore('selfTraining').get(id))?.finished ?? []
  await Promise.all([tx.objectStore('selfTraining').delete(id), ...rounds.map((r) => tx.objectStore('selfTrainingWeights').delete(roundWeightsId(id, r.round)))])
  await tx.done
}
