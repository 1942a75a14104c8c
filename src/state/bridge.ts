import { onLmError, onLmEvent } from './lmObjectives'
import type { EngineClient } from '../worker/client'
import type { FromWorker } from '../worker/protocol'
import { useStudio, type StepPoint, type Studio } from './store'
import { checkedProblems } from './settingsCheck'
import { epochPoint } from '../shared/epochPoint'

const STEP_FLUSH_MS = 500
import { onDataEvent } from './datasets'
import { forgetRestored, onCheckpointEvent, replacesRestored } from './checkpoints'
import { endPending, forgetAnswers, onPlaygroundEvent, replacesAnswers } from './playground'
import { endExportPending, forgetWeights, onExportEvent } from './exportState'
import { holdRunSeries, refusesUnstarted, runRefused, runTookWeights } from './runStart'
import { onHfError, onHfEvent } from './hfModels'

/** Worker events → store updates. The only place that knows both. */
export function connectBridge(client: EngineClient): () => void {
  const set = useStudio.setState
  const get = useStudio.getState
  const mine = (runId: string | undefined) => runId !== undefined && runId === get().runId

  // Step events are batched: redrawing the charts for every message made main-thread
  // tasks of a few hundred ms on slow machines (bench: longestMainThreadTaskMs).
  let pendingSteps: StepPoint[] = []
  let pendingProgress: Studio['progress'] = null
  let flushTimer: ReturnType<typeof setTimeout> | null = null
  const flushSteps = () => {
    if (flushTimer) clearTimeout(flushTimer)
    flushTimer = null
    if (!pendingSteps.length) return
    const add = pendingSteps
    const progress = pendingProgress
    pendingSteps = []
    set((st) => ({ status: st.status === 'starting' ? 'running' : st.status, busy: null, steps: [...st.steps, ...add], progress }))
  }

  return client.on((e: FromWorker) => {
    if (replacesRestored(e)) forgetRestored()
    if (replacesAnswers(e)) forgetAnswers()
    switch (e.type) {
      case 'ready':
        set({ busy: null })
        break
      case 'backend':
        set({ backend: e.info })
        // A backend that failed the self-test is worth a message, not only the badge's tooltip.
        if (e.info.selfTestFailed?.length) get().notify({ kind: 'info', text: `${e.info.reason[0]!.toUpperCase()}${e.info.reason.slice(1)}.` })
        break
      case 'progress':
        set({ busy: e.done >= e.total && e.task !== 'features' ? null : { task: e.task, done: e.done, total: e.total, label: e.label } })
        break
      case 'dataset':
        set({ dataset: e.summary, busy: null })
        break
      case 'model':
        set({ model: e.summary, busy: null })
        if (e.loaded) forgetWeights()
        break
      case 'plan':
        set({ trainableParams: e.trainableParams, totalParams: e.totalParams, trainExamples: e.trainExamples ?? null, planProblems: e.problems, problems: checkedProblems({ ...get(), planProblems: e.problems }) })
        break
      case 'baseline':
        if (mine(e.runId)) set({ baseline: { metrics: e.metrics, note: e.note, name: e.name }, busy: null })
        break
      case 'weightsReset':
        // other weights than a restored checkpoint's (replacesRestored above). Without a run, an
        // adapter-only .zip's import set the model back to its base weights: nothing tuned is held
        // until its 'imported' event (which may not come). This page's run did the same as it
        // starts: an import's weights (adapter, head) are gone, also if the run then fails to
        // start, so its record and what it opened go; the first reset of a run asked for also
        // takes the evaluation and α state of the weights before (runStart.ts runTookWeights), a
        // later one (self-training's next round) keeps the running run's state (forgetWeights).
        if (e.runId === undefined) forgetWeights()
        else if (mine(e.runId)) {
          if (get().unstarted?.runId === e.runId) runTookWeights()
          else forgetWeights()
        }
        break
      case 'state':
        if (!mine(e.runId)) break
        runTookWeights() // it reset them first: a run that reports its state has them
        // Steps sent before the pause belong on the chart before the page says "Paused".
        flushSteps()
        set({ status: e.state })
        break
      case 'step':
        if (!mine(e.runId)) break
        pendingSteps.push({ step: e.step, loss: e.loss, lr: e.lr })
        pendingProgress = { step: e.step, totalSteps: e.totalSteps, epoch: e.epoch, epochs: e.epochs, samplesPerSec: e.samplesPerSec, etaSec: e.etaSec }
        // The first point shows at once; after that the charts redraw at most every STEP_FLUSH_MS.
        if (get().steps.length === 0) flushSteps()
        else flushTimer ??= setTimeout(flushSteps, STEP_FLUSH_MS)
        break
      case 'epoch':
        if (!mine(e.runId)) break
        flushSteps()
        set((st) => ({
          lastVal: e.val,
          epochs: [
            ...st.epochs,
            epochPoint(e),
          ],
        }))
        break
      case 'done':
        if (mine(e.runId)) {
          flushSteps()
          set({ status: 'done', result: { reason: e.reason, summary: e.summary, message: e.message }, busy: null, unstarted: null })
          get().notify({ kind: 'info', text: e.message })
        }
        break
      case 'prediction':
      case 'generation':
      case 'playground':
        onPlaygroundEvent(e)
        break
      case 'datasets':
      case 'augmentPreview':
        onDataEvent(e)
        break
      case 'interpolation':
      case 'sweep':
      case 'exported':
      case 'imported':
        onExportEvent(e)
        break
      case 'checkpoints':
      case 'runs':
      case 'storage':
      case 'storageFull':
      case 'interrupted':
      case 'restored':
        onCheckpointEvent(e)
        break
      case 'runSeries':
        if (!holdRunSeries(e)) onCheckpointEvent(e)
        break
      case 'hfProbe':
      case 'hfStored':
      case 'hfLoaded':
        onHfEvent(e)
        break
      case 'lmData':
      case 'lmChat':
      case 'lmRecipe':
      case 'pseudoLabels':
      case 'pseudoRound':
      case 'pseudoSaved':
      case 'pseudoRestored':
      case 'pseudoStopped':
      case 'pseudoPaused':
      case 'lmSteps':
      case 'lmError':
        onLmEvent(e)
        break
      case 'evaluation':
        set({ lastVal: e.metrics })
        break
      case 'error': {
        const st = get()
        // A failed run (or a dead worker) ends the run, but the page and its data stay.
        // A run the worker refused before it took the weights (a refused "continue training" may
        // carry no run id) leaves the page as it was before the run was asked for.
        if (refusesUnstarted(e)) runRefused()
        else if (e.where === 'worker' || (e.runId && e.runId === st.runId && st.status !== 'done') || (e.where === 'resumeRun' && st.status === 'starting')) set({ status: 'idle', runId: null, unstarted: null })
        set({ busy: null })
        endPending()
        endExportPending()
        onLmError(e)
        onHfError(e)
        st.notify({ kind: 'error', text: e.message, ...(e.where ? { where: e.where } : {}) })
        break
      }
      default: {
        const never: never = e
        void never
      }
    }
  })
}
