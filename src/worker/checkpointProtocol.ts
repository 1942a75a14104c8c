/** The checkpoint and run-history part of the worker protocol (protocol.ts includes these
 *  unions). The page only ever sees metadata; weights stay in the worker and IndexedDB. */
import type { CheckpointMeta, EpochPoint, RunRecord, StepPoint } from '../engine/storage/types'
import type { Settings } from '../settings/types'
import type { Metrics } from './protocol'

export type { CheckpointMeta, EpochPoint, RunRecord, StepPoint }

/** A run as the runs view lists it: its series thinned for the overlay chart. */
export type RunInfo = RunRecord

export interface InterruptedRun {
  runId: string
  name: string
  checkpointId: string
  epoch: number // epochs the checkpoint holds
  epochs: number // epochs the run was set to
  datasetName: string
}

/** Test-only storage faults (see CheckpointHost): 'quota' makes the storage estimate say the
 *  disk is full, so the next checkpoint write is refused as a real full disk would be. */
export type StorageFault = 'none' | 'quota'

/** Commands that only read or write IndexedDB: answered at once, even during training. */
export type StorageCommand =
  | { type: 'listCheckpoints' }
  | { type: 'renameCheckpoint'; id: string; name: string }
  | { type: 'deleteCheckpoint'; id: string }
  | { type: 'storageEstimate' }
  | { type: 'listRuns' }
  | { type: 'deleteRun'; id: string }
  | { type: 'renameRun'; id: string; name: string }
  | { type: 'findInterrupted' }
  | { type: 'dismissInterrupted'; runId: string }
  | { type: 'freeSpace'; runId: string } // quota hit: delete older checkpoints, retry the save, continue
  | { type: 'storageFault'; fault: StorageFault } // test hook

/** Commands that change the model in the session: queued like training. */
export type ModelStateCommand =
  | { type: 'restoreCheckpoint'; id: string } // load its weights so evaluate / playground use them
  | { type: 'resumeRun'; checkpointId: string; runId: string } // continue its run (runId, the checkpoint's) from there

export type CheckpointCommand = StorageCommand | ModelStateCommand

export type CheckpointEvent =
  | { type: 'checkpoints'; items: CheckpointMeta[] }
  | { type: 'runs'; items: RunInfo[] }
  | { type: 'storage'; usage: number | null; quota: number | null; checkpointBytes: number }
  | { type: 'storageFull'; runId: string; message: string }
  | { type: 'interrupted'; run: InterruptedRun | null }
  | { type: 'restored'; checkpoint: CheckpointMeta; metrics: Metrics | null; baseline: Metrics | null; baselineNote: string; baselineName?: string }
  | { type: 'runSeries'; runId: string; settings: Settings; steps: StepPoint[]; epochs: EpochPoint[]; baseline: Metrics | null; baselineName?: string }

const STORAGE_COMMANDS: ReadonlySet<string> = new Set<StorageCommand['type']>([
  'listCheckpoints',
  'renameCheckpoint',
  'deleteCheckpoint',
  'storageEstimate',
  'listRuns',
  'deleteRun',
  'renameRun',
  'findInterrupted',
  'dismissInterrupted',
  'freeSpace',
  'storageFault',
])

export function isStorageCommand(msg: { type: string }): msg is StorageCommand {
  return STORAGE_COMMANDS.has(msg.type)
}
