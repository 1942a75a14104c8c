import { create, type StateCreator } from 'zustand'
import type { BackendInfo } from '../worker/protocol'
import { decodeSettings, type DecodeReport } from '../settings/codec'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import type { DatasetSummary, DoneReason, Metrics, ModelSummary, RunSummary } from '../worker/protocol'
import type { CheckpointEvent, EpochPoint, StepPoint } from '../worker/checkpointProtocol'
import { initialCheckpoints, initialDatasets, initialExport, initialHf, initialLm, initialPlayground, type CheckpointsState, type DatasetsState, type ExportState, type HfState, type LmState, type PlaygroundState } from './parts'

export interface Notice {
  id: number
  kind: 'error' | 'info'
  text: string
  where?: string
}

export interface SettingsSlice {
  settings: Settings
  linkReport: DecodeReport | null // what an opened link set and what it ignored
  problems: { field: string; message: string }[] // what the page shows: its own checks, then planProblems (state/settingsCheck.ts)
  planProblems: { field: string; message: string }[] // the worker's last plan
  setSetting: <K extends keyof Settings>(key: K, value: Settings[K]) => void
  replaceSettings: (s: Settings) => void
}

export interface AssetsSlice {
  backend: BackendInfo | null
  dataset: DatasetSummary | null
  model: ModelSummary | null
  trainableParams: number | null
  totalParams: number | null
  trainExamples: number | null // what one epoch steps over, as the worker will encode it (its plan)
  busy: { task: string; done: number; total: number; label: string } | null
}

// The chart's points are the engine's own (engine/types/run.ts), as runs store them.
export type { EpochPoint, StepPoint }

/** Whether a run is under way: from Train until it has ended (paused and stopping included). */
export const runActive = (status: RunSlice['status']): boolean => status === 'starting' || status === 'running' || status === 'paused' || status === 'stopping'

export interface RunSlice {
  runId: string | null
  status: 'idle' | 'starting' | 'running' | 'paused' | 'stopping' | 'done'
  steps: StepPoint[]
  epochs: EpochPoint[]
  progress: { step: number; totalSteps: number; epoch: number; epochs: number; samplesPerSec: number; etaSec: number } | null
  baseline: { metrics: Metrics; note: string; name?: string } | null // name: the line to beat ("majority class (ham)")
  lastVal: Metrics | null // the newest epoch's (or evaluation's) validation metrics: metrics only, never data
  result: { reason: DoneReason; summary: RunSummary; message: string } | null
  unstarted: UnstartedRun | null
  startRun: (runId: string) => void
}

/** The run asked for (startRun) while the worker has not started it: no 'weightsReset' of its id
 *  yet (the session resets the weights before anything else of a run; settings it refuses, a
 *  model that does not fit, a checkpoint of another model are refused before). `before` is what
 *  startRun replaced, put back when the worker refuses the run (state/runStart.ts): the weights,
 *  and the finished run's result, Export and blend, are still the session's. `series` is a
 *  resumed run's stored series ('runSeries'), held until the run starts: a refused "Continue
 *  training" leaves the settings, charts, line to beat and recovery offer the page showed. */
export interface UnstartedRun {
  runId: string
  before: Pick<RunSlice, 'runId' | 'status' | 'steps' | 'epochs' | 'progress' | 'result'>
  series: Extract<CheckpointEvent, { type: 'runSeries' }> | null
}

export interface NoticeSlice {
  notices: Notice[]
  notify: (n: Omit<Notice, 'id'>) => void
  dismiss: (id: number) => void
}

/** The parts worker events feed, each read through its own hook (sliceHook.ts) with its
 *  handlers beside it (datasets.ts, playground.ts, checkpoints.ts, exportState.ts,
 *  lmObjectives.ts, hfModels.ts). */
export interface PartsSlice {
  datasets: DatasetsState
  playground: PlaygroundState
  checkpoints: CheckpointsState
  exporting: ExportState
  lm: LmState
  hf: HfState
}

export type Studio = SettingsSlice & AssetsSlice & RunSlice & NoticeSlice & PartsSlice

const BACKEND_KEY = 'studio.backend'

/** Settings come from the link first, then the remembered backend, then defaults. */
function initialSettings(): { settings: Settings; report: DecodeReport | null } {
  const query = typeof location === 'undefined' ? '' : location.search
  const decoded = query.length > 1 ? decodeSettings(query) : null
  const settings = decoded ? decoded.settings : { ...DEFAULTS }
  const remembered = typeof localStorage === 'undefined' ? null : localStorage.getItem(BACKEND_KEY)
  if (remembered && !/(^|[?&])b=/.test(query) && ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'].includes(remembered)) {
    settings.backend = remembered as Settings['backend']
  }
  return { settings, report: decoded?.report ?? null }
}

const settingsSlice: StateCreator<Studio, [], [], SettingsSlice> = (set, get) => {
  const init = initialSettings()
  return {
    settings: init.settings,
    linkReport: init.report,
    problems: [],
    planProblems: [],
    setSetting: (key, value) => {
      const settings = { ...get().settings, [key]: value }
      if (key === 'backend') localStorage.setItem(BACKEND_KEY, String(value))
      set({ settings }) // the address bar follows: state/shareLink.ts writes the whole link
    },
    replaceSettings: (settings) => {
      set({ settings })
    },
  }
}

const assetsSlice: StateCreator<Studio, [], [], AssetsSlice> = () => ({
  backend: null,
  dataset: null,
  model: null,
  trainableParams: null,
  totalParams: null,
  trainExamples: null,
  busy: null,
})

const runSlice: StateCreator<Studio, [], [], RunSlice> = (set) => ({
  runId: null,
  status: 'idle',
  steps: [],
  epochs: [],
  progress: null,
  baseline: null,
  lastVal: null,
  result: null,
  unstarted: null,
  // A new run's charts start empty. What describes the weights held (the α, sweep, a restored
  // checkpoint's offer, the evaluation and line to beat) stays until the run sets the weights back
  // to the base (its 'weightsReset': runStart.ts runTookWeights); a run refused before that
  // leaves them the session's, and gets back what it replaced here (runStart.ts runRefused).
  startRun: (runId) =>
    set((st) => ({
      runId,
      status: 'starting',
      steps: [],
      epochs: [],
      progress: null,
      result: null,
      unstarted: { runId, before: { runId: st.runId, status: st.status, steps: st.steps, epochs: st.epochs, progress: st.progress, result: st.result }, series: null },
    })),
})

let nextNotice = 1
const noticeSlice: StateCreator<Studio, [], [], NoticeSlice> = (set) => ({
  notices: [],
  notify: (n) => set((st) => ({ notices: [...st.notices.slice(-4), { ...n, id: nextNotice++ }] })),
  dismiss: (id) => set((st) => ({ notices: st.notices.filter((n) => n.id !== id) })),
})

const partsSlice: StateCreator<Studio, [], [], PartsSlice> = () => ({
  datasets: initialDatasets(),
  playground: initialPlayground(),
  checkpoints: initialCheckpoints(),
  exporting: initialExport(),
  lm: initialLm(),
  hf: initialHf(),
})

/** The one store, made of slices. */
export const useStudio = create<Studio>()((...a) => ({
  ...settingsSlice(...a),
  ...assetsSlice(...a),
  ...runSlice(...a),
  ...noticeSlice(...a),
  ...partsSlice(...a),
}))
