/** What every trainer (text, image, tabular) posts for a run: one place for the events. */
import type { FineTuneCallbacks } from '../engine/train/fineTune'
import type { FromWorker } from './protocol'

type Post = (e: FromWorker) => void

/** The loop's callbacks as protocol events of run `runId`. */
export function runEvents(post: Post, runId: string): FineTuneCallbacks {
  return {
    onBaseline: (metrics, note, name) => post({ type: 'baseline', runId, metrics, note, name }),
    onStep: (e) => post({ type: 'step', runId, ...e }),
    onEpoch: (e) => post({ type: 'epoch', runId, ...e }),
    onProgress: (task, done, total, label) => post({ type: 'progress', task, done, total, label }),
    onState: (state) => post({ type: 'state', runId, state }),
  }
}

/** Settings refused before a run: an error naming the fields, and a plan with the problems. */
export function refuseSettings(post: Post, runId: string, problems: { field: string; message: string }[], totalParams: number): void {
  post({ type: 'error', runId, message: problems.map((p) => p.message).join(' '), where: `settings: ${problems.map((p) => p.field).join(', ')}` })
  post({ type: 'plan', trainableParams: 0, totalParams, problems })
}
