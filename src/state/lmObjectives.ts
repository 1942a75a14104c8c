/** The page's side of the language-model objectives (issue 17): which objective, the checked
 *  data with its mask preview, DPO's β and SFT term, the chat playground, the TRL recipe and
 *  learning without labels. Runs themselves go through the studio's run state (startRun):
 *  the live charts, the run bar and the line to beat follow them like any run. */
import type { FromWorker, Metrics } from '../worker/protocol'
import type { LmChatMessage } from '../worker/lmProtocol'
import { sendLm } from './actions'
import { forgetRestored } from './checkpoints'
import type { DpoPoint, LmChoice, LmState } from './parts'
import { exportForOtherWeights } from './parts'
import { sliceHook } from './sliceHook'
import { runActive, useStudio } from './store'
export type { ChatTurn, DpoPoint, LmChoice } from './parts'

export const useLm = sliceHook('lm')

let lmRunId: string | null = null
/** What the panel's last run trained on, as it started (the file checked may change after). */
let lmRunFacts: LmRunFacts | null = null

/** An objectives-panel run's objective and files, for the training report. */
export interface LmRunFacts {
  objective: LmChoice
  file: string
  rows: number
  rejected: number
  validation: { file: string; rows: number } | null
  /** DPO's β and SFT term, SFT's packing: what the run trained with beyond step 3's settings. */
  options: Record<string, number | boolean | string>
}

const OBJECTIVE_WORDS: Record<LmChoice, string> = { sft: 'instruction tuning (SFT)', dpo: 'preference tuning (DPO)', pseudo: 'learning without labels' }
export const objectiveWords = (o: LmChoice): string => OBJECTIVE_WORDS[o]

/** The facts of the run the page shows when it is one of this panel's runs; null for the
 *  studio's other runs (the training report then describes the step-1 dataset). */
export function currentLmRun(): LmRunFacts | null {
  const runId = useStudio.getState().runId
  return lmRunId && runId === lmRunId ? lmRunFacts : null
}

function factsAtStart(): LmRunFacts | null {
  const { objective, data, beta, sftWeight, pack, pseudo, threshold, rounds, balance } = useLm.getState()
  if (objective === 'pseudo') {
    if (!pseudo) return null
    return { objective, file: pseudo.name, rows: pseudo.rows, rejected: 0, validation: pseudo.validationName ? { file: pseudo.validationName, rows: 0 } : null, options: { classes: pseudo.classes.join(', '), threshold, rounds, balance } }
  }
  if (!data || data.objective !== objective) return null
  return {
    objective,
    file: data.name,
    rows: data.rows,
    rejected: data.problemCount,
    validation: data.validationName ? { file: data.validationName, rows: data.validationRows } : null,
    options: objective === 'dpo' ? { beta, sftWeight } : { pack },
  }
}
let lastFiles: { file: File; validation?: File } | null = null
/** What the labels shown were made from (null when they came from a restored job), so a fresh
 *  worker after a crash can make them again; whether that labelling is still on its way; and
 *  whether the labels on their way are the shown ones made again (the rounds' rows stay). */
let labelledFrom: { file: File; validation: File | null; classes: string[] } | null = null
let labelling = false
let relabelling = false
const point = (epoch: number, m: Metrics): DpoPoint | null =>
  m.preference && m.accuracy !== undefined ? { epoch, preferenceAccuracy: m.accuracy, rewardAccuracy: m.preference.rewardAccuracy, rewardMargin: m.preference.rewardMargin, chosenLogProb: m.preference.chosenLogProb, rejectedLogProb: m.preference.rejectedLogProb } : null
// A DPO run's baseline and epoch metrics reach the studio's run state (bridge.ts); the
// preference charts keep their own series from them.
useStudio.subscribe((st, prev) => {
  if (!lmRunId || st.runId !== lmRunId) return
  if (st.baseline !== prev.baseline && st.baseline) {
    const p = point(0, st.baseline.metrics)
    if (p) useLm.setState({ dpoEpochs: [p] })
  }
  if (st.lastVal !== prev.lastVal && st.lastVal && st.epochs.length) {
    const p = point(st.epochs.length, st.lastVal)
    if (p) useLm.setState((l) => ({ dpoEpochs: [...l.dpoEpochs.filter((q) => q.epoch !== p.epoch), p] }))
  }
})

// A restored self-training job stops being the page's restored one when something else takes
// the session's model: another model, a checkpoint, or another run once it has set the weights
// back to the base (runStart.ts runTookWeights; a run the worker refuses leaves the job's
// weights). Its words ("the model is round N's") would be wrong, and a fresh worker after a crash
// (afterWorkerRestart) would bring the round's weights and charts back over that run's. Restore
// it again from the list to continue.
useStudio.subscribe((st, prev) => {
  if (!st.lm.restored) return
  const otherModel = st.model?.id !== prev.model?.id
  const checkpoint = st.checkpoints.restoredId !== null && st.checkpoints.restoredId !== prev.checkpoints.restoredId
  if (otherModel || checkpoint) useLm.setState({ restored: null })
})

/** The panel's run asked for (trainLm, continueSelfTraining) while the worker has not started
 *  it: what the panel shows of the run before (its kind, result message, DPO charts, chat,
 *  self-training rounds, a restored job) stays until it starts, since the worker may still refuse
 *  it (settings, "Head only" for SFT or DPO, a threshold no row reaches) and a refused run leaves
 *  the page as it was (state/runStart.ts). `fresh` is what the panel empties as it starts;
 *  `lmRunId` and `lmRunFacts` are set as it is asked for (its events carry its id), and the ones
 *  before come back when it is refused. */
let asked: { runId: string; fresh: Partial<LmState>; before: { lmRunId: string | null; lmRunFacts: LmRunFacts | null } } | null = null

function askLmRun(runId: string, fresh: Partial<LmState>) {
  const before = { lmRunId, lmRunFacts }
  useStudio.getState().startRun(runId)
  lmRunId = runId
  lmRunFacts = factsAtStart()
  asked = { runId, fresh, before }
}

// A run asked for has started (runStart.ts runTookWeights: the store's `unstarted` run gone, its
// run id kept, the run under way) or was refused (the run id before it is back, or none after a
// dead worker). Only a started run changes the panel: its own run empties what `fresh` names;
// another run (of step 1's dataset, a checkpoint continued) is not this panel's, so its result
// message and the DPO charts under the panel's Train button, which would describe the wrong run, go.
useStudio.subscribe((st, prev) => {
  const was = prev.unstarted
  if (!was || st.unstarted?.runId === was.runId) return
  const started = st.runId === was.runId && runActive(st.status)
  const mine = asked?.runId === was.runId ? asked : null
  if (mine) asked = null
  if (mine && started) useLm.setState(mine.fresh)
  else if (mine) ({ lmRunId, lmRunFacts } = mine.before)
  else if (started && useLm.getState().runObjective !== null) useLm.setState({ runObjective: null })
})

/** Sends the checked training file (and held-out file, and a CSV's chosen columns) to the
 *  worker again: when another model is loaded, and to a fresh worker that replaced one that
 *  ended (actions.ts restartEngine), which holds no file; false when none is checked. */
export function resendCheckedFile(): boolean {
  const { objective, data } = useLm.getState()
  if (!lastFiles || objective === 'pseudo' || !data || data.objective !== objective) return false
  useLm.setState({ loading: true, error: null })
  sendLm({ type: 'lmData', objective, file: lastFiles.file, ...(lastFiles.validation ? { validation: lastFiles.validation } : {}), seqLen: useStudio.getState().settings.seqLen, ...(data.csv ? { columns: { prompt: data.csv.prompt, completion: data.csv.completion } } : {}) })
  return true
}

// Another model loaded (a Hugging Face model after the built-in one): the checked file is read
// again, so the preview shows this model's tokens and chat template.
useStudio.subscribe((st, prev) => {
  if (!st.model || st.model.id === prev.model?.id) return
  resendCheckedFile()
  labelAgainForModel()
})

/** Whether the labels on their way were asked for because another model was loaded. */
let labellingForModel = false

/** Another model loaded while zero-shot labels are shown: they were the last model's (its
 *  scores, its accuracy on the labelled file), and "Train on the confident rows" would have
 *  trained the new model on them. The same file is labelled again with the same class names by
 *  the new model; a model that cannot label (an encoder) says so in the panel. Labels that came
 *  from a restored job, whose files the page does not hold, go, with what to do. */
function labelAgainForModel() {
  const { pseudo } = useLm.getState()
  if (!pseudo && !labelling) return
  if (labelledFrom) {
    const { file, validation, classes } = labelledFrom
    labelling = true
    relabelling = false
    labellingForModel = true
    useLm.setState({ loading: true, error: null, pseudo: null, roundResults: [], pseudoNote: null })
    sendLm({ type: 'pseudoLabel', file, ...(validation ? { validation } : {}), classes })
  } else useLm.setState({ pseudo: null, roundResults: [], pseudoNote: null, error: 'Another model was loaded, so the labels shown (the restored job’s) are gone: label the texts again with this model, or restore the job under Saved self-training.' })
}

// The sequence length changed in step 3: the checked file is read again at the new length, so
// the summary ("sequence length N tokens"), the rows counted as cut and the mask preview describe
// the rows the run will train on (a run encodes them at the settings' length). Typing "128" is
// three changes: the file is read once the typing pauses.
let seqLenTimer: ReturnType<typeof setTimeout> | null = null
useStudio.subscribe((st, prev) => {
  if (st.settings.seqLen === prev.settings.seqLen) return
  if (seqLenTimer) clearTimeout(seqLenTimer)
  seqLenTimer = setTimeout(() => {
    seqLenTimer = null
    const data = useLm.getState().data
    if (data && data.seqLen !== useStudio.getState().settings.seqLen) resendCheckedFile()
  }, 400)
})

const LM_WHERE = new Set(['lmData', 'lmTrain', 'lmChat', 'lmRecipe', 'pseudoLabel', 'pseudoTrain', 'pseudoSaved', 'pseudoRestore', 'pseudoDelete'])

export function onLmEvent(e: Extract<FromWorker, { type: 'lmData' | 'lmChat' | 'lmRecipe' | 'pseudoLabels' | 'pseudoRound' | 'pseudoSaved' | 'pseudoRestored' | 'pseudoStopped' | 'pseudoPaused' | 'lmSteps' | 'lmError' }>): void {
  switch (e.type) {
    case 'lmSteps':
      if (e.runId === lmRunId) useLm.setState((st) => ({ dpoSteps: [...st.dpoSteps, ...e.points] }))
      break
    case 'lmData':
      useLm.setState({ data: e.summary, loading: false, error: null })
      break
    case 'lmChat': {
      const st = useLm.getState()
      if (st.chatPending !== e.requestId) return
      const chat = st.chat.slice()
      const last = chat.at(-1)
      if (last) chat[chat.length - 1] = { ...last, base: e.base, tuned: e.tuned }
      useLm.setState({ chat, chatPending: null })
      break
    }
    case 'lmRecipe':
      for (const f of e.files) download(f.name, f.text)
      break
    case 'pseudoLabels':
      labelling = false
      if (relabelling) {
        relabelling = false
        useLm.setState({ pseudo: e.summary, loading: false, error: null, pseudoNote: 'The training worker was restarted, so it labelled the texts again (the same file and class names, the base model): you can train on them as before.' })
      } else if (labellingForModel) {
        labellingForModel = false
        useLm.setState({ pseudo: e.summary, loading: false, error: null, roundResults: [], restored: null, pseudoNote: `Another model (${useStudio.getState().model?.title ?? 'the loaded one'}) was loaded, so it labelled the texts again (the same file and class names): these are its zero-shot labels.` })
      } else useLm.setState({ pseudo: e.summary, loading: false, error: null, roundResults: [], restored: null })
      break
    case 'pseudoRound':
      useLm.setState((st) => ({ roundResults: [...st.roundResults, e.round] }))
      break
    case 'pseudoSaved':
      // a restored (or stopped) job deleted here or in another tab can no longer be continued
      useLm.setState((st) => ({ saved: e.jobs, restored: st.restored && e.jobs.some((j) => j.id === st.restored!.id) ? st.restored : null }))
      break
    case 'pseudoRestored':
      labelledFrom = null // the kept job's labels: a fresh worker restores the job again
      useLm.setState({ pseudo: e.summary, roundResults: e.rounds, threshold: e.threshold, balance: e.balance, rounds: e.roundsPlanned, restored: { id: e.id, next: e.next, settings: e.settings, message: e.message }, loading: false, error: null })
      // the rounds' charts as they were drawn while they trained
      if (useStudio.getState().status !== 'running') useStudio.setState({ steps: e.charts.steps, epochs: e.charts.epochs, baseline: e.charts.baseline, lastVal: null, result: null, progress: null })
      // the round's weights replaced a restored checkpoint's: that one is no longer "in use", nor
      // offered for export. What described the weights before goes too, as on a checkpoint's
      // restore (checkpoints.ts): an import's record, the α, sweep and best α ("Keep best α"
      // would apply an old sweep's α to the rounds' weights).
      forgetRestored()
      useStudio.setState((st) => ({ exporting: exportForOtherWeights(st.exporting) }))
      break
    case 'pseudoStopped':
      // the stopped round's job is kept up to the round before it: it can be trained again
      if (e.runId === lmRunId) useLm.setState({ restored: { id: e.id, next: e.next, settings: e.settings, message: '' } })
      break
    case 'pseudoPaused':
      if (e.runId === lmRunId) useLm.setState({ pausedBefore: e.next })
      break
    case 'lmError':
      useLm.setState({ error: e.message, loading: false, chatPending: null })
      break
  }
}

/** An error event of one of these commands: shown in the panel too (the page's notice has it as well). */
export function onLmError(e: Extract<FromWorker, { type: 'error' }>): void {
  if (e.where && LM_WHERE.has(e.where)) useLm.setState({ error: e.message, loading: false, chatPending: null })
  if (e.where === 'pseudoLabel') labelling = relabelling = labellingForModel = false
  // a restore that failed leaves nothing the page could continue
  if (e.where === 'pseudoRestore') useLm.setState({ restored: null })
}

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export function chooseObjective(objective: LmChoice) {
  useLm.setState({ objective, data: null, error: null, pseudo: null, roundResults: [], restored: null, pseudoNote: null })
}

export function loadLmData(file: File, validation: File | null) {
  const { objective } = useLm.getState()
  if (objective === 'pseudo') return
  useLm.setState({ loading: true, error: null, data: null })
  lastFiles = { file, ...(validation ? { validation } : {}) }
  sendLm({ type: 'lmData', objective, file, ...(validation ? { validation } : {}), seqLen: useStudio.getState().settings.seqLen })
}

/** Re-reads the CSV last checked with other prompt/completion columns. */
export function chooseColumns(prompt: string, completion: string) {
  const st = useLm.getState()
  if (!lastFiles || st.objective !== 'sft') return
  useLm.setState({ loading: true, error: null })
  sendLm({ type: 'lmData', objective: 'sft', file: lastFiles.file, ...(lastFiles.validation ? { validation: lastFiles.validation } : {}), seqLen: useStudio.getState().settings.seqLen, columns: { prompt, completion } })
}

export function trainLm() {
  const { objective, beta, sftWeight, pack, threshold, rounds, balance } = useLm.getState()
  const runId = `run-${Date.now().toString(36)}`
  askLmRun(runId, { runObjective: objective, chat: [], roundResults: [], dpoEpochs: [], dpoSteps: [], restored: null, pausedBefore: null, pseudoNote: null })
  useLm.setState({ error: null })
  const settings = useStudio.getState().settings
  if (objective === 'pseudo') sendLm({ type: 'pseudoTrain', runId, settings, threshold, rounds, balance })
  else sendLm({ type: 'lmTrain', runId, objective, settings, beta, sftWeight, pack })
}

export function sendChat(text: string, system: string) {
  const st = useLm.getState()
  const requestId = `chat-${Date.now().toString(36)}`
  const history: LmChatMessage[] = []
  if (system.trim()) history.push({ role: 'system', content: system.trim() })
  for (const t of st.chat) {
    history.push({ role: 'user', content: t.user })
    // The conversation continues with the tuned model's answers when there are any.
    const a = t.tuned ?? t.base
    if (a !== null) history.push({ role: 'assistant', content: a })
  }
  history.push({ role: 'user', content: text })
  // Prompt/completion data: each message is a prompt of its own, continued as the rows were.
  const raw = st.data?.objective === 'sft' && !st.data.chat ? true : st.data?.objective === 'dpo' ? !st.data.chat : false
  useLm.setState({ chat: [...st.chat, { user: text, base: null, tuned: null }], chatPending: requestId, error: null })
  sendLm({ type: 'lmChat', requestId, messages: raw ? [{ role: 'user', content: text }] : history, maxTokens: 24, raw })
}

export function downloadRecipe() {
  const { objective, beta, sftWeight, pack } = useLm.getState()
  if (objective === 'pseudo') return
  sendLm({ type: 'lmRecipe', objective, settings: useStudio.getState().settings, beta, sftWeight, pack })
}

export function labelTexts(file: File, validation: File | null, classes: string[]) {
  labelledFrom = { file, validation, classes }
  labelling = true
  relabelling = labellingForModel = false
  useLm.setState({ loading: true, error: null, pseudo: null, roundResults: [], pseudoNote: null })
  sendLm({ type: 'pseudoLabel', file, ...(validation ? { validation } : {}), classes })
}

/** Self-training jobs kept in this browser (the worker answers with pseudoSaved). */
export function listSavedSelfTraining() {
  sendLm({ type: 'pseudoSaved' })
}

/** A kept job's labelling, rounds' figures and last round's model back in the page and worker. */
export function restoreSelfTraining(id: string) {
  useLm.setState({ loading: true, error: null, pseudoNote: null })
  sendLm({ type: 'pseudoRestore', id })
}

export function deleteSavedSelfTraining(id: string) {
  sendLm({ type: 'pseudoDelete', id })
}

/** A fresh worker (actions.ts restartEngine) holds no self-training: the kept jobs are listed
 *  again (the old worker may have kept a round it never announced, and its list may be stale),
 *  and the job the page shows as restored is restored again, so "Continue with round N" and its
 *  model are the fresh worker's too. Labels the page shows (or was waiting for) that no kept job
 *  holds are made again from the same files and class names, so "Train on the confident rows"
 *  works there; the zero-shot labels come from the base model, so they are the same. */
export function afterWorkerRestart() {
  listSavedSelfTraining()
  const { restored, pseudo } = useLm.getState()
  if (restored) restoreSelfTraining(restored.id)
  else if (labelledFrom && (pseudo || labelling)) {
    const { file, validation, classes } = labelledFrom
    relabelling = pseudo !== null
    useLm.setState({ loading: true, error: null, pseudoNote: null })
    sendLm({ type: 'pseudoLabel', file, ...(validation ? { validation } : {}), classes })
  } else if (pseudo) useLm.setState({ pseudo: null, roundResults: [], error: 'The training worker was restarted, and the new one does not hold the labels that were shown: label the texts again, or restore the job under Saved self-training.' })
}

/** Trains the restored job's next round (and those after it) on its kept labels. */
export function continueSelfTraining() {
  const { restored, threshold, rounds, balance } = useLm.getState()
  if (!restored || restored.next === null) return
  const runId = `run-${Date.now().toString(36)}`
  // The finished rounds' rows stay in the table; the next ones are added below them. The job
  // stays restored until its round has started (a refused one can be continued again).
  askLmRun(runId, { runObjective: 'pseudo', restored: null, pausedBefore: null })
  useLm.setState({ error: null })
  sendLm({ type: 'pseudoTrain', runId, settings: restored.settings, threshold, rounds, balance, resume: restored.id })
}
