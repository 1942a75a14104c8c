import type { CheckpointEvent } from '../worker/checkpointProtocol'
export type { CheckpointsState } from './parts'
import { sliceHook } from './sliceHook'
import { useStudio } from './store'

export const useCheckpoints = sliceHook('checkpoints')

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
      // One update: Evaluate compares the restored weights with the base model of that run.
      useStudio.setState((st) => ({
        checkpoints: { ...st.checkpoints, restoredId: e.checkpoint.id },
        baseline: e.baseline ? { metrics: e.baseline, note: e.baselineNote, ...(e.baselineName ? { name: e.baselineName } : {}) } : null,
        lastVal: e.metrics,
        result: null,
        busy: null,
      }))
      useStudio.getState().notify({ kind: 'info', text: `Restored "${e.checkpoint.name}" (epoch ${e.checkpoint.epoch}): evaluation and the playground now use these weights.` })
      break
    case 'runSeries':
      // A resumed run: the chart continues from the stored series.
      if (useStudio.getState().runId !== e.runId) break
      useStudio.getState().replaceSettings(e.settings) // the settings panel shows what the run uses
      useStudio.setState((st) => ({
        steps: e.steps,
        epochs: e.epochs,
        ...(e.baseline ? { baseline: { metrics: e.baseline, note: 'the base model, as measured when this run started', ...(e.baselineName ? { name: e.baselineName } : {}) } } : {}),
        checkpoints: { ...st.checkpoints, interrupted: null, storageFull: null },
      }))
      break
    default: {
      const never: never = e
      void never
    }
  }
}
