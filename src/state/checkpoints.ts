import { create } from 'zustand'
import type { CheckpointEvent, CheckpointMeta, InterruptedRun, RunInfo } from '../worker/checkpointProtocol'
import { useStudio } from './store'

/** Checkpoints, run history and storage: their own small store, fed by worker events. */
export interface CheckpointsState {
  items: CheckpointMeta[]
  runs: RunInfo[]
  storage: { usage: number | null; quota: number | null; checkpointBytes: number } | null
  persisted: boolean | null // navigator.storage.persisted(); null: unknown or unsupported
  storageFull: { runId: string; message: string } | null // a save was refused: the run is paused
  interrupted: InterruptedRun | null // a run the last visit did not see end
  restoredId: string | null // the checkpoint whose weights the session holds
}

export const useCheckpoints = create<CheckpointsState>()(() => ({
  items: [],
  runs: [],
  storage: null,
  persisted: null,
  storageFull: null,
  interrupted: null,
  restoredId: null,
}))

export function onCheckpointEvent(e: CheckpointEvent): void {
  const set = useCheckpoints.setState
  switch (e.type) {
    case 'checkpoints':
      set({ items: e.items })
      break
    case 'runs':
      set({ runs: e.items })
      break
    case 'storage':
      set({ storage: { usage: e.usage, quota: e.quota, checkpointBytes: e.checkpointBytes } })
      break
    case 'storageFull':
      set({ storageFull: { runId: e.runId, message: e.message } })
      break
    case 'interrupted':
      set({ interrupted: e.run })
      break
    case 'restored':
      set({ restoredId: e.checkpoint.id })
      // Evaluate compares the restored weights with the base model of that run.
      useStudio.setState({ baseline: e.baseline ? { metrics: e.baseline, note: e.baselineNote } : null, lastVal: e.metrics, result: null, busy: null })
      useStudio.getState().notify({ kind: 'info', text: `Restored "${e.checkpoint.name}" (epoch ${e.checkpoint.epoch}): evaluation and the playground now use these weights.` })
      break
    case 'runSeries':
      // A resumed run: the chart continues from the stored series.
      if (useStudio.getState().runId !== e.runId) break
      useStudio.getState().replaceSettings(e.settings) // the settings panel shows what the run uses
      useStudio.setState({
        steps: e.steps,
        epochs: e.epochs,
        ...(e.baseline ? { baseline: { metrics: e.baseline, note: 'the base model, as measured when this run started' } } : {}),
      })
      set({ interrupted: null, storageFull: null })
      break
    default: {
      const never: never = e
      void never
    }
  }
}
