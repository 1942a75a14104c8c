import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import type { FromWorker, ToWorker } from '../worker/protocol'
import { DEFAULTS } from '../settings/schema'
import { train } from './actions'
import { modelSummary } from './bridgeChannel.testing'
import { continueSelfTraining, currentLmRun, onLmEvent, trainLm, useLm } from './lmObjectives'
import { useStudio } from './store'

// The objectives panel's runs (Train with instruction or preference tuning, Train on the
// confident rows, Continue with round N) may be refused by the worker before it sets the weights
// back to the base, as step 4's runs may (refusedRun.test.ts): "Head only" for SFT or DPO
// (engine/session/session.ts), a round no row reaches or a job not restored
// (worker/pseudoLabelHost.ts), settings it refuses. The session still holds the weights the
// panel described, so the panel describes them still; once a run has taken them, it describes
// that run. The page's commands go through actions.ts to a Worker; Node has none, so a stand-in
// takes the messages and hands the worker's events to the page's real client and bridge.
const sent: ToWorker[] = []
let toPage: ((e: FromWorker) => void) | null = null
class StandInWorker {
  onmessage: ((m: { data: FromWorker }) => void) | null = null
  onerror: unknown = null
  onmessageerror: unknown = null
  constructor() {
    toPage = (e) => this.onmessage?.({ data: e })
  }
  postMessage(msg: ToWorker) {
    sent.push(msg)
  }
  terminate() {}
}
beforeAll(() => vi.stubGlobal('Worker', StandInWorker))
afterAll(() => vi.unstubAllGlobals())

const post = (...events: FromWorker[]) => events.forEach((e) => toPage!(e))
/** The run id of the last run the page asked the worker for. */
const askedRunId = () => {
  const m = sent.findLast((x) => x.type === 'lmTrain' || x.type === 'pseudoTrain' || x.type === 'train') as { runId: string }
  return m.runId
}
/** Run ids are made of the clock's milliseconds: two clicks in one would share one. */
const nextMs = () => new Promise((r) => setTimeout(r, 3))

const dpoData = { objective: 'dpo', name: 'pairs.jsonl', rows: 16, problemCount: 0, validationName: 'held-out-pairs.jsonl', validationRows: 8 } as never
const sftData = { objective: 'sft', name: 'words.jsonl', rows: 24, problemCount: 0, validationName: null, validationRows: 0 } as never
const finished = (runId: string, message: string): FromWorker => ({ type: 'done', runId, reason: 'finished', summary: { epochs: 1 } as never, message })
const dpoPoint = { step: 1, rewardAccuracy: 0.75, rewardMargin: 0.2, chosenLogProb: -3, rejectedLogProb: -4 } as never
const prefMetrics = (accuracy: number) => ({ loss: 0.6, accuracy, preference: { rewardAccuracy: accuracy, rewardMargin: 0.1, chosenLogProb: -3, rejectedLogProb: -4 } }) as never

/** An objectives-panel run the worker trains to the end, its events as handler.ts posts them. */
async function finishedLmRun(message: string) {
  await nextMs()
  trainLm()
  const runId = askedRunId()
  post({ type: 'weightsReset', runId }, { type: 'state', runId, state: 'running' }, { type: 'baseline', runId, metrics: prefMetrics(0.5), note: 'the model before tuning' } as never, { type: 'lmSteps', runId, points: [dpoPoint] }, finished(runId, message))
  return runId
}

describe('a refused objectives-panel run leaves the panel as it was (state/lmObjectives.ts)', () => {
  beforeEach(() => {
    sent.length = 0
    useStudio.setState({ model: modelSummary('tiny-lm'), runId: null, status: 'idle', result: null, unstarted: null, notices: [] })
    useStudio.getState().replaceSettings({ ...DEFAULTS, method: 'lora' })
    useLm.setState({ objective: 'dpo', data: dpoData, chat: [], dpoEpochs: [], dpoSteps: [], roundResults: [], restored: null, runObjective: null, error: null, pausedBefore: null })
  })

  /** What the panel shows of its last run (ui/lmObjectives: the result message under the
   *  objective it belongs to, the DPO charts, the chat, the rounds' table and Continue). */
  const panel = () => {
    const lm = useLm.getState()
    const st = useStudio.getState()
    return { runObjective: lm.runObjective, result: st.status === 'done' ? st.result?.message : null, dpoSteps: lm.dpoSteps.length, dpoEpochs: lm.dpoEpochs.length, chat: lm.chat.length, rounds: lm.roundResults.map((r) => r.round), restored: lm.restored?.next ?? null, report: currentLmRun()?.file ?? null }
  }

  it('Train with preference tuning refused ("Head only") after a DPO run: its result, charts, chat and report stay; a run that starts empties them', async () => {
    await finishedLmRun('Training finished: preference accuracy 75%.')
    useLm.setState({ chat: [{ user: 'Free money', base: ' spam', tuned: ' spam' }] })
    const shown = { runObjective: 'dpo', result: 'Training finished: preference accuracy 75%.', dpoSteps: 1, dpoEpochs: 1, chat: 1, rounds: [], restored: null, report: 'pairs.jsonl' }
    expect(panel()).toEqual(shown)

    useStudio.getState().replaceSettings({ ...DEFAULTS, method: 'head' })
    await nextMs()
    trainLm()
    const refused = askedRunId()
    post({ type: 'error', runId: refused, message: '"Head only" trains a new classifier head, and instruction and preference tuning have none: choose LoRA, adapters, "Freeze early blocks" or full fine-tuning.', where: 'settings: method' })
    expect(panel()).toEqual(shown)

    useStudio.getState().replaceSettings({ ...DEFAULTS, method: 'lora' })
    await nextMs()
    trainLm()
    expect(panel()).toMatchObject({ dpoSteps: 1, chat: 1 }) // asked for, not started yet
    post({ type: 'weightsReset', runId: askedRunId() })
    expect(panel()).toEqual({ runObjective: 'dpo', result: null, dpoSteps: 0, dpoEpochs: 0, chat: 0, rounds: [], restored: null, report: 'pairs.jsonl' })
  })

  it('preference tuning refused after an SFT run: the SFT run\'s result is not shown as the DPO run\'s, and the report still names its file', async () => {
    useLm.setState({ objective: 'sft', data: sftData })
    await finishedLmRun('Training finished: best validation answer loss 1.2.')
    useLm.setState({ objective: 'dpo', data: dpoData })
    useStudio.getState().replaceSettings({ ...DEFAULTS, method: 'head' })
    await nextMs()
    trainLm()
    post({ type: 'error', runId: askedRunId(), message: '"Head only" trains a new classifier head, and instruction and preference tuning have none.', where: 'settings: method' })
    expect(panel()).toMatchObject({ runObjective: 'sft', result: 'Training finished: best validation answer loss 1.2.', report: 'words.jsonl' })
  })

  it('a run of step 1\'s dataset: refused, the panel\'s last result stays its own; started, it is no longer the panel\'s', async () => {
    useLm.setState({ objective: 'sft', data: sftData })
    await finishedLmRun('Training finished: best validation answer loss 1.2.')
    await nextMs()
    train()
    post({ type: 'error', runId: askedRunId(), message: 'Batch size must be at most 8 for this dataset.', where: 'settings: batchSize' })
    expect(panel()).toMatchObject({ runObjective: 'sft', result: 'Training finished: best validation answer loss 1.2.', report: 'words.jsonl' })

    await nextMs()
    train()
    post({ type: 'weightsReset', runId: askedRunId() })
    expect(panel()).toMatchObject({ runObjective: null, report: null })
  })

  describe('a restored self-training job', () => {
    const round = (n: number) => ({ round: n, kept: 40, keptPerClass: [20, 20], validationAccuracy: 0.8 })
    beforeEach(() => {
      useLm.setState({ objective: 'pseudo', pseudo: { name: 'passages.csv', rows: 64, classes: ['sea', 'government'], labels: [], confidence: [], zeroShotAccuracy: 0.6, validationName: 'labelled.csv' } as never })
      // as pseudoLabelHost.ts restore posts it once round 1's weights are in the session
      onLmEvent({ type: 'pseudoRestored', id: 'job-1', summary: useLm.getState().pseudo!, rounds: [round(1)], charts: { steps: [], epochs: [], baseline: null }, threshold: 0.5, balance: true, roundsPlanned: 2, next: 2, settings: DEFAULTS, message: "Restored 1 of 2 self-training rounds on passages.csv: the model is round 1's." })
    })

    it('"Continue with round 2" refused: the job stays restored with its round, and can be continued; once round 2 has started it is that run\'s', async () => {
      await nextMs()
      continueSelfTraining()
      post({ type: 'error', runId: askedRunId(), message: 'Restore those self-training rounds first (Saved self-training, Restore), then continue them.', where: 'pseudoTrain' })
      expect(panel()).toMatchObject({ rounds: [1], restored: 2 })
      expect(useLm.getState().error).toBe('Restore those self-training rounds first (Saved self-training, Restore), then continue them.')

      await nextMs()
      continueSelfTraining()
      const runId = askedRunId()
      expect(sent.at(-1)).toMatchObject({ type: 'pseudoTrain', resume: 'job-1' })
      post({ type: 'weightsReset', runId })
      expect(panel()).toMatchObject({ runObjective: 'pseudo', rounds: [1], restored: null })
      post({ type: 'pseudoRound', runId, round: round(2) })
      expect(panel().rounds).toEqual([1, 2])
    })

    it('"Train on the confident rows" refused: the restored job and its rounds stay', async () => {
      await nextMs()
      trainLm()
      post({ type: 'error', runId: askedRunId(), message: 'Round 1: no row labelled "government" reaches the threshold 0.95.', where: 'pseudoTrain' })
      expect(panel()).toMatchObject({ rounds: [1], restored: 2 })

      await nextMs()
      trainLm()
      post({ type: 'weightsReset', runId: askedRunId() })
      expect(panel()).toMatchObject({ runObjective: 'pseudo', rounds: [], restored: null })
    })

    it('the worker dying before the round started leaves the job restored, for the fresh worker to restore again', async () => {
      await nextMs()
      continueSelfTraining()
      post({ type: 'error', message: 'The training worker stopped.', where: 'worker' })
      expect(panel()).toMatchObject({ rounds: [1], restored: 2 })
    })
  })
})
