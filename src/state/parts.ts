/** The shapes and starting values of the store's parts that worker events feed (datasets,
 *  playground, checkpoints, export, the LM objectives, Hugging Face models). Kept apart from their event handlers, which use the
 *  store, so that store.ts can build itself from these without importing them back. */
import type { AugmentSample, StoredDatasetInfo } from '../worker/dataProtocol'
import type { CheckpointMeta, InterruptedRun, RunInfo } from '../worker/checkpointProtocol'
import type { ExportChoice, Metrics, SweepPoint, Which } from '../worker/protocol'
import type { DpoStepPoint, LmDataSummary, LmObjective, PseudoRound, PseudoSummary, SavedSelfTraining } from '../worker/lmProtocol'
import type { Settings } from '../settings/types'
import type { HfCommand, HfProbe, HfRepoRef, HfStoredRepo } from '../worker/hfProtocol'

/** Datasets kept in this browser and the augmentation preview, as the worker reports them. */
export interface DatasetsState {
  stored: StoredDatasetInfo[]
  currentId: string | null
  usage: { used: number; quota: number } | null
  augment: { size: number; samples: AugmentSample[]; note: string } | null
}

export const initialDatasets = (): DatasetsState => ({ stored: [], currentId: null, usage: null, augment: null })

/** The playground's part of the store: answers to "try the model" requests, by side. */
export interface Side {
  classes: { name: string; prob: number }[] | null
  value: { name: string; value: number } | null // regression: the predicted number
  text: string | null
  note: string
  done: boolean
  stopped: boolean
}

export interface PlaygroundState {
  requestId: string | null
  pending: boolean
  message: string | null // why a request got no (full) answer
  sides: Record<Which, Side>
  rendered: string | null // a chat as the model's chat template rendered it
}

export const emptySide = (): Side => ({ classes: null, value: null, text: null, note: '', done: false, stopped: false })

export const initialPlayground = (): PlaygroundState => ({ requestId: null, pending: false, message: null, sides: { before: emptySide(), after: emptySide() }, rendered: null })

/** Checkpoints, run history and storage: their part of the store, fed by worker events. */
export interface CheckpointsState {
  items: CheckpointMeta[]
  runs: RunInfo[]
  storage: { usage: number | null; quota: number | null; checkpointBytes: number } | null
  persisted: boolean | null // navigator.storage.persisted(); null: unknown or unsupported
  storageFull: { runId: string; message: string } | null // a save was refused: the run is paused
  interrupted: InterruptedRun | null // a run the last visit did not see end
  restoredId: string | null // the checkpoint whose weights the session holds
}

export const initialCheckpoints = (): CheckpointsState => ({ items: [], runs: [], storage: null, persisted: null, storageFull: null, interrupted: null, restoredId: null })

/** Interpolation, sweep, export and import: their part of the store. */
export interface ExportState {
  alpha: number // the slider
  applied: { alpha: number; metrics: Metrics } | null // what the worker last applied and measured
  kept: number // α chosen with "Keep best α" (1 = the fine-tuned model)
  sweep: SweepPoint[]
  best: number | null
  pending: 'interpolate' | 'sweep' | 'export' | 'import' | null
  lastExport: { fileName: string; bytes: number; choice: ExportChoice } | null
  imported: { fileName: string; title: string; choice: ExportChoice; metrics: Metrics | null; note: string } | null
  /** The session's tuned weights are a restored checkpoint's (θ(α) of them once another α is
   *  applied, when the checkpoint is no longer "in use"): Export and the interpolation offer them
   *  until a run, a load or an import replaces them. */
  restored: boolean
}

/** The export part with nothing applied yet (a new run starts from the tuned end again). */
export const freshExport = (): Omit<ExportState, 'imported' | 'lastExport'> => ({ alpha: 1, applied: null, kept: 1, sweep: [], best: null, pending: null, restored: false })

export const initialExport = (): ExportState => ({ ...freshExport(), lastExport: null, imported: null })

/** The export part once other weights are in the session (a load, a reset, a restore): nothing
 *  applied, no import's record, an export under way kept; `restored`: they are a restored
 *  checkpoint's. */
export const exportForOtherWeights = (ex: ExportState, restored = false): ExportState => ({ ...ex, ...freshExport(), pending: ex.pending, imported: null, restored })


/** Which language-model objective the panel shows: SFT, DPO, or learning without labels. */
export type LmChoice = LmObjective | 'pseudo'

export interface DpoPoint {
  epoch: number
  preferenceAccuracy: number
  rewardAccuracy: number
  rewardMargin: number
  chosenLogProb: number
  rejectedLogProb: number
}

export interface ChatTurn {
  user: string
  base: string | null
  tuned: string | null
}

/** The language-model objectives' part (state/lmObjectives.ts). */
export interface LmState {
  objective: LmChoice
  data: LmDataSummary | null
  loading: boolean
  beta: number
  sftWeight: number
  pack: boolean
  chat: ChatTurn[]
  chatPending: string | null
  /** A DPO run's held-out preference metrics: before tuning (epoch 0), then per epoch. */
  dpoEpochs: DpoPoint[]
  /** The same on each training batch, as the loop trains. */
  dpoSteps: DpoStepPoint[]
  pseudo: PseudoSummary | null
  threshold: number
  rounds: number
  balance: boolean
  roundResults: PseudoRound[]
  /** Self-training jobs kept in this browser (null until the worker has listed them). */
  saved: SavedSelfTraining[] | null
  /** The saved job restored here: "continue" trains its round `next` with its settings. */
  restored: { id: string; next: number | null; settings: Settings; message: string } | null
  /** The self-training round that waits for Resume (the job paused between rounds), else null. */
  pausedBefore: number | null
  /** Said under the labels when a fresh worker (after a crash) made them again. */
  pseudoNote: string | null
  /** The last error of these commands, shown beside the controls. */
  error: string | null
  /** Which kind the current studio run is, so the panel knows its charts belong to it. */
  runObjective: LmChoice | null
}

export const initialLm = (): LmState => ({
  objective: 'sft',
  data: null,
  loading: false,
  beta: 0.1,
  sftWeight: 0,
  pack: false,
  chat: [],
  chatPending: null,
  dpoEpochs: [],
  dpoSteps: [],
  pseudo: null,
  threshold: 0.6,
  rounds: 1,
  balance: true,
  roundResults: [],
  saved: null,
  restored: null,
  pausedBefore: null,
  pseudoNote: null,
  error: null,
  runObjective: null,
})

/** Hugging Face models' part (state/hfModels.ts): the last repo looked at and the stored ones. */
export interface HfState {
  probe: HfProbe | null
  /** What the probe was asked for, so "Download and load" loads that same repo. */
  probedRef: HfRepoRef | null
  probing: boolean
  stored: HfStoredRepo[] | null
  /** Hugging Face loads sent and not answered yet, in the order sent (actions.ts sendHf): each
   *  Hub load's repo files are being read or downloaded, so they are not deleted meanwhile
   *  (hfModels.ts loadingRepos). One goes when its hfLoaded or its own error comes. */
  loads: readonly HfLoadInFlight[]
}

/** A Hugging Face load the worker has not answered yet. */
export interface HfLoadInFlight {
  load: Extract<HfCommand, { type: 'hfLoad' }>
  /** Its answer makes it the model a restarted worker loads again and ends a named or set-aside
   *  head (actions.ts onHfLoaded); false for a restarted worker's reload of that same model, and
   *  once a model loaded another way replaces it. */
  keeps: boolean
}

export const initialHf = (): HfState => ({ probe: null, probedRef: null, probing: false, stored: null, loads: [] })
