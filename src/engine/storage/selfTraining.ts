/**
 * Self-training (learning without labels) kept in IndexedDB round by round: what the rounds
 * started from (the texts, the zero-shot labels, the validation file), each finished round's
 * figures and the labels the next round trains on, in one record; each finished round's tuned
 * weights beside it under `<job id>#<round>`. Record and weights of a round are written in ONE
 * transaction, so a stored round always has its weights. A person who closes the tab after round
 * 2 of 3 gets the rounds' figures and round 2's model back, and can go on with round 3.
 */
import type { Settings } from '../../settings/types'
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
