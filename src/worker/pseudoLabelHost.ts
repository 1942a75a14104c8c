/**
 * Learning without labels in the worker: a CSV of texts with no labels and class names the
 * user typed → the pretrained LM's zero-shot pseudo-labels with a confidence (engine/tasks/
 * pseudoLabel/), a histogram of confidence, and self-training through the one loop: the rows
 * at or above the threshold train, with "Head only", a classifier head on pooled features
 * (classification task); with any other method the model's own label scores (the zero-shot
 * prompt with the pseudo-label as its answer, SFT task), whose labels are averaged with the
 * zero-shot ones. Each further round re-labels every row with the tuned model and trains again
 * from the base model. With a labelled validation file the page gets the accuracy of the
 * zero-shot labels, of each round and of the base model side by side. Each finished round is
 * kept in IndexedDB (engine/storage/selfTraining.ts: its figures, its weights and the labels the
 * next round trains on), so a closed tab loses no finished round: pseudoRestore brings the rounds
 * and the last round's model back, and pseudoTrain with `resume` goes on with the next round.
 */
import * as tf from '@tensorflow/tfjs'
import { readTexts, type Texts } from '../engine/tasks/pseudoLabel/readTexts'
import { averageLabels, balanceClasses, confidenceHistogram, labelPromptExamples, pseudoLabelAccuracy, pseudoLabelsFromScores, selectConfident, zeroShotPseudoLabels, type PseudoLabels } from '../engine/tasks/pseudoLabel/pseudoLabel'
import { sftEncoded } from '../engine/tasks/lmObjectiveData'
import { zeroShotTextTokens } from '../engine/train/zeroShot'
import type { ForwardHooks } from '../engine/models/tinyGpt'
import { BatchSource } from '../engine/train/batchSource'
import { FeatureCache } from '../engine/train/featureCache'
import { Tuning, type Encoded } from '../engine/train/fineTune'
import { trainableVariables } from '../engine/tuning/freeze'
import { assignTensors, readTensors, stableNames } from '../engine/train/loopState'
import { openStudioDb, type StudioDb } from '../engine/storage/db'
import { deleteSelfTraining, listSelfTraining, loadSelfTraining, packSeries, saveSelfTrainingRound, selfTrainingBytes, unpackSeries, type RoundCharts, type SelfTrainingRecord, type StoredLabels } from '../engine/storage/selfTraining'
import { gatherBatch, headLogits, range } from '../engine/train/forward'
import { disposeWeights, resetWeights, snapshotWeights } from '../engine/tuning/interpolate'
import type { Settings } from '../settings/types'
import type { RunSummary } from '../engine/types/run'
import { epochPoint } from '../shared/epochPoint'
import type { TinyGpt } from '../engine/models/tinyGpt'
import type { TokenizerLike } from '../engine/data/textBatches'
import type { WeightMap } from '../engine/tuning/interpolate'
import type { RunHooks, Session } from '../engine/session/session'
import type { LmCommand, PseudoRound, PseudoSummary, SavedSelfTraining } from './lmProtocol'
import type { FromWorker } from './protocol'
import { runEvents } from './runEvents'

type Post = (e: FromWorker) => void
type ClassificationSet = Extract<Encoded, { kind: 'classification' }>

/** Tokens each text is scored and trained on (BOS included). */
const TEXT_TOKENS = 32

/** What learning without labels reads of the session's held built-in LM: the model, its base
 *  weights (zero-shot labels come from the model before tuning) and the last round's tuning. */
export interface HeldLm {
  /** The model (the built-in LM, or a Hugging Face decoder through the same forward/lmLogits)
   *  and its tokenizer. */
  readonly loaded: { model: TinyGpt; tokenizer: TokenizerLike } | null
  readonly base: WeightMap | null
  readonly tuning: Tuning | null
}

export class PseudoLabelHost {
  private unlabelled: Texts | null = null
  private validation: Texts | null = null
  private zeroShot: PseudoLabels | null = null
  private zeroShotVal: PseudoLabels | null = null
  /** The labels some rows of the unlabelled file carry ('' where none). */
  private given: string[] | null = null
  private summary: PseudoSummary | null = null
  /** The saved job pseudoRestore brought back, which pseudoTrain's `resume` continues. */
  private restored: SelfTrainingRecord | null = null
  private dbPromise: Promise<StudioDb | null> | null = null
  /** The self-training job in progress, and whether Stop came while no round was training (in
   *  the re-labelling between rounds), so the next round stops as it starts; whether it is
   *  paused, so the next round waits for Resume (wake: the wait's end). */
  private job: { runId: string; stop: boolean; paused: boolean; wake: (() => void) | null } | null = null

  constructor(
    private readonly post: Post,
    private readonly s: HeldLm,
    private readonly session: Pick<Session, 'train' | 'run' | 'loaded' | 'adopt'>,
    private readonly ensureBackend: (pref?: Settings['backend']) => Promise<void>,
    private readonly openDb: () => Promise<StudioDb> = () => openStudioDb(),
  ) {}

  async handle(msg: Extract<LmCommand, { type: 'pseudoLabel' | 'pseudoTrain' | 'pseudoSaved' | 'pseudoRestore' | 'pseudoDelete' }>): Promise<void> {
    switch (msg.type) {
      case 'pseudoLabel':
        return this.label(msg)
      case 'pseudoTrain':
        return this.selfTrain(msg)
      case 'pseudoSaved':
        return this.publishSaved()
      case 'pseudoRestore':
        return this.restore(msg.id)
      case 'pseudoDelete': {
        const db = await this.db()
        if (db) await deleteSelfTraining(db, msg.id)
        if (this.restored?.id === msg.id) this.restored = null
        return this.publishSaved()
      }
    }
  }

  /** Stop for the self-training job `runId` while none of its rounds is training (the handler
   *  routes a Stop here when the session has no run of that id); false when it is not this job. */
  stop(runId: string): boolean {
    if (this.job?.runId !== runId) return false
    this.job.stop = true
    this.job.wake?.()
    return true
  }

  /** Pause and Resume for the self-training job `runId` (the handler routes them here as well as
   *  to a training round's run): while paused, the next round does not start. A Pause between
   *  rounds, or one that came as a round ended, holds the job before its next round until
   *  Resume or Stop. False when it is not this job. */
  pause(runId: string): boolean {
    if (this.job?.runId !== runId) return false
    this.job.paused = true
    return true
  }

  resume(runId: string): boolean {
    if (this.job?.runId !== runId) return false
    this.job.paused = false
    this.job.wake?.()
    return true
  }

  /** Waits, paused, before round `round` until Resume or Stop; the page hears it is paused and
   *  which round waits. True when Stop came while the job was paused (held here, or paused as
   *  its last round ended and stopped before it got here): the job ends before this round. */
  private async holdIfPaused(runId: string, round: number): Promise<boolean> {
    const job = this.job
    if (!job?.paused) return false
    if (job.stop) return true
    this.post({ type: 'state', runId, state: 'paused' })
    this.post({ type: 'pseudoPaused', runId, next: round })
    while (job.paused && !job.stop) await new Promise<void>((r) => (job.wake = r))
    job.wake = null
    this.post({ type: 'pseudoPaused', runId, next: null })
    if (job.stop) return true
    this.post({ type: 'state', runId, state: 'running' })
    return false
  }

  /** Null where IndexedDB is missing or refused: self-training still runs, nothing is kept. */
  private db(): Promise<StudioDb | null> {
    this.dbPromise ??= this.openDb().catch((e: unknown) => {
      console.warn('Self-training rounds are not kept: IndexedDB could not be opened.', e)
      return null
    })
    return this.dbPromise
  }

  private async publishSaved(): Promise<void> {
    const db = await this.db()
    const jobs: SavedSelfTraining[] = []
    for (const r of db ? await listSelfTraining(db) : []) jobs.push({ id: r.id, name: r.unlabelled.name, classes: r.zeroShot.classes, roundsDone: r.finished.length, rounds: r.rounds, modelTitle: r.modelTitle, updatedAt: r.updatedAt, bytes: await selfTrainingBytes(db!, r) })
    this.post({ type: 'pseudoSaved', jobs })
  }

  /** A saved job back: its texts and labels here, its last round's weights as the session's
   *  tuned model (on the base model it was trained from), its figures to the page. */
  private async restore(id: string): Promise<void> {
    if (this.session.run) throw new Error('A run is in progress: stop it before restoring self-training rounds.')
    const db = await this.db()
    if (!db) throw new Error('This browser refused local storage (IndexedDB), so no self-training rounds are kept here.')
    const found = await loadSelfTraining(db, id)
    if (!found) throw new Error('Those self-training rounds are no longer stored (they may have been deleted in another tab).')
    const { record: r, weights } = found
    const held = this.session.loaded
    if (!held || !this.s.loaded || held.summary.id !== r.modelId) throw new Error(`These self-training rounds were trained from ${r.modelTitle}: load it in step 2, then restore them.`)
    await this.ensureBackend(r.settings.backend)
    const s = held.family.runSettings(r.roundSettings, held)
    held.tuning?.dispose()
    held.tuning = null
    if (held.base) resetWeights(held.body, held.base)
    // The page hears that the weights held before are gone before what can still fail (stored
    // weights that do not fit the model), as an adapter's import does.
    this.post({ type: 'weightsReset' })
    await held.family.syncWeights?.(held)
    held.family.beforeRun?.(held, s)
    const tuning = new Tuning(held.body, s, r.outputs)
    try {
      assignTensors(weights, stableNames(held.body, tuning.parts))
    } catch (e) {
      tuning.dispose()
      throw e
    }
    this.session.adopt(held, tuning)
    const labels = (l: StoredLabels): PseudoLabels => ({ classes: [...l.classes], labels: [...l.labels], confidence: [...l.confidence], probs: l.probs })
    this.unlabelled = r.unlabelled
    this.validation = r.validation
    this.given = r.unlabelled.labels
    this.zeroShot = labels(r.zeroShot)
    this.zeroShotVal = r.zeroShotVal && labels(r.zeroShotVal)
    this.summary = r.summary as PseudoSummary
    this.restored = r
    const last = r.finished.at(-1)!
    const next = r.next ? last.round + 1 : null
    this.post({
      type: 'pseudoRestored',
      id: r.id,
      summary: this.summary,
      rounds: r.finished.map(({ message: _m, series: _s, weightBytes: _w, ...round }) => round),
      charts: unpackSeries(r.finished),
      threshold: r.threshold,
      balance: r.balance,
      roundsPlanned: r.rounds,
      next,
      settings: r.settings,
      message: `Restored ${r.finished.length} of ${r.rounds} self-training rounds on ${r.unlabelled.name}: the model is round ${last.round}'s${r.finished.some((f) => f.series) ? ', and the charts show the rounds\' losses' : ''}.${next ? ` Round ${next} trains on its labels when you continue.` : ''}`,
    })
  }

  private loaded() {
    if (!this.s.loaded) throw new Error('Load a language model in step 2 (the built-in text model, or a Hugging Face GPT-2 or Llama) before learning without labels.')
    return this.s.loaded
  }

  private rowsOf(texts: readonly string[]): number[][] {
    const tok = this.loaded().tokenizer
    return texts.map((t) => [tok.bosId, ...tok.encode(t).slice(0, TEXT_TOKENS - 1)])
  }

  /** The base model's zero-shot labels of texts. The weights held (a full or frozen-blocks run's,
   *  a round's) are put aside for it and put back after, so labelling does not quietly swap the
   *  run's weights for the base model's under the page's result and Export. The aside shares the
   *  variables' storage (snapshotWeights), so it costs no copy. */
  private async zeroShotOf(texts: readonly string[], classes: readonly string[]): Promise<PseudoLabels> {
    const { model, tokenizer } = this.loaded()
    const base = this.s.base
    const names = base ? new Set(base.keys()) : null
    const aside = names ? snapshotWeights(model.params.filter((p) => names.has(p.name))) : null
    try {
      if (base) resetWeights(model, base)
      return await zeroShotPseudoLabels(model, tokenizer, this.rowsOf(texts), classes, { maxTextTokens: TEXT_TOKENS })
    } finally {
      if (aside) {
        resetWeights(model, aside)
        disposeWeights(aside)
      }
    }
  }

  /** The tuned model's labels of texts, scored the zero-shot way (its own label scores). */
  private tunedLabels(texts: readonly string[], classes: readonly string[], hooks: ForwardHooks | undefined): Promise<PseudoLabels> {
    const { model, tokenizer } = this.loaded()
    return zeroShotPseudoLabels(model, tokenizer, this.rowsOf(texts), classes, { maxTextTokens: TEXT_TOKENS, ...(hooks ? { hooks } : {}) })
  }

  private async label(msg: Extract<LmCommand, { type: 'pseudoLabel' }>): Promise<void> {
    await this.ensureBackend()
    const unlabelled = readTexts(msg.file.name, await msg.file.text(), false)
    const validation = msg.validation ? readTexts(msg.validation.name, await msg.validation.text(), true) : null
    this.post({ type: 'progress', task: 'baseline', done: 0, total: 1, label: `Scoring each class name for ${unlabelled.texts.length} texts (zero-shot)` })
    const p = await this.zeroShotOf(unlabelled.texts, msg.classes)
    // A handful of rows may carry a label (a "label" column, blank elsewhere): those are kept
    // as given, with confidence 1, in every round.
    let labelledRows = 0
    unlabelled.labels?.forEach((l, i) => {
      if (l === '') return
      const c = p.classes.indexOf(l)
      if (c < 0) throw new Error(`${unlabelled.name}, row ${i + 2}: the label "${l}" is not one of the class names ${p.classes.map((x) => `"${x}"`).join(', ')}: type the class names as the file spells them, or leave the label blank.`)
      p.labels[i] = c
      p.confidence[i] = 1
      labelledRows++
    })
    this.given = unlabelled.labels
    let zeroShotAccuracy: number | null = null
    if (validation) {
      const v = await this.zeroShotOf(validation.texts, p.classes)
      zeroShotAccuracy = pseudoLabelAccuracy(v, validation.labels!)
      this.zeroShotVal = v
    }
    this.unlabelled = unlabelled
    this.validation = validation
    this.zeroShot = p
    const h = confidenceHistogram(p, 10)
    const width = h.edges.length > 1 ? h.edges[1]! - h.edges[0]! : 1
    const summary: PseudoSummary = {
      name: unlabelled.name,
      rows: unlabelled.texts.length,
      classes: p.classes,
      confidence: p.confidence,
      labels: p.labels,
      histogram: h.edges.map((lo, b) => ({ lo, hi: b === h.edges.length - 1 ? 1 : lo + width, count: h.counts[b]! })),
      validationName: validation?.name ?? null,
      zeroShotAccuracy,
      labelledRows,
      examples: unlabelled.texts.slice(0, 5).map((t, i) => ({ text: t.slice(0, 120), label: p.classes[p.labels[i]!]!, confidence: p.confidence[i]! })),
    }
    this.summary = summary
    this.restored = null // new labels: a restored job's rounds no longer continue from here
    this.post({ type: 'progress', task: 'baseline', done: 1, total: 1, label: 'Zero-shot labels ready' })
    this.post({ type: 'pseudoLabels', summary })
  }

  private encode(texts: readonly string[], labels: readonly number[], classes: string[], seqLen: number): ClassificationSet {
    const { tokenizer } = this.loaded()
    const n = texts.length
    const tokens = new Int32Array(n * seqLen).fill(tokenizer.padId)
    const mask = new Float32Array(n * seqLen)
    texts.forEach((t, i) => {
      const ids = [tokenizer.bosId, ...tokenizer.encode(t)].slice(0, seqLen)
      tokens.set(ids, i * seqLen)
      mask.fill(1, i * seqLen, i * seqLen + ids.length)
    })
    return { kind: 'classification', n, seqLen, tokens, mask, labels: Int32Array.from(labels), classes }
  }

  /** The tuned classifier's labels and confidences for a set (softmax of the head). */
  private async classify(tuning: Tuning, set: ClassificationSet): Promise<PseudoLabels> {
    const { model } = this.loaded()
    const C = set.classes.length
    const source = BatchSource.host(set)
    const cache = new FeatureCache(0, false, { train: 0, val: set.n })
    const logp = new Float32Array(set.n * C)
    for (let start = 0; start < set.n; start += 32) {
      const idx = range(start, Math.min(set.n, start + 32))
      const t = tf.tidy(() => tf.logSoftmax(headLogits(model, tuning, gatherBatch(source, cache, 'val', idx), cache, tuning.settings, false)))
      logp.set(await t.data(), start * C)
      t.dispose()
    }
    source.dispose()
    return pseudoLabelsFromScores(logp, new Float32Array(C), set.classes)
  }

  /** The share of a labelled set the tuned classifier gets right. */
  private async accuracyOn(tuning: Tuning, set: ClassificationSet): Promise<number> {
    const got = await this.classify(tuning, set)
    let right = 0
    for (let i = 0; i < set.n; i++) if (got.labels[i] === set.labels[i]) right++
    return right / set.n
  }

  /** A self-training job: its Stop is the job's from the moment it is asked for (switching the
   *  backend before the first round can take seconds, and no round is training then). */
  private async selfTrain(msg: Extract<LmCommand, { type: 'pseudoTrain' }>): Promise<void> {
    if (this.job) throw new Error('Self-training is already running: stop it before starting another.')
    this.job = { runId: msg.runId, stop: false, paused: false, wake: null }
    try {
      await this.selfTrainRounds(msg)
    } finally {
      this.job = null
    }
  }

  private async selfTrainRounds(msg: Extract<LmCommand, { type: 'pseudoTrain' }>): Promise<void> {
    const { runId } = msg
    // Continuing a restored job: its own choices, from the round after its last finished one.
    const resume = msg.resume ? this.restored : null
    if (msg.resume && resume?.id !== msg.resume) throw new Error('Restore those self-training rounds first (Saved self-training, Restore), then continue them.')
    if (resume && !resume.next) throw new Error(`All ${resume.rounds} self-training rounds of ${resume.unlabelled.name} are done: label the texts again to start new rounds.`)
    const settings = resume?.settings ?? msg.settings
    const threshold = resume?.threshold ?? msg.threshold
    const balance = resume?.balance ?? msg.balance
    const p0 = this.zeroShot
    const texts = this.unlabelled
    if (!p0 || !texts) throw new Error('Label the texts first: choose the unlabelled file and type the class names.')
    if (this.session.run) throw new Error('A run is already in progress: stop it first.')
    const { model } = this.loaded()
    await this.ensureBackend(settings.backend)
    const seqLen = Math.min(settings.seqLen, model.config.seqLen)
    const classes = p0.classes
    const valSet = this.validation ? this.encode(this.validation.texts, this.validation.labels!.map((l) => { const c = classes.indexOf(l); if (c < 0) throw new Error(`The validation label "${l}" is not one of the class names ${classes.join(', ')}: type the class names as the validation file spells them.`); return c }), classes, seqLen) : null
    const stored = (l: PseudoLabels): StoredLabels => ({ classes: l.classes, labels: [...l.labels], confidence: [...l.confidence], probs: l.probs })
    let labels = resume ? { ...resume.next!, probs: resume.next!.probs } : p0
    const rounds = resume ? resume.rounds : Math.max(1, Math.min(5, Math.round(msg.rounds)))
    const finished = resume ? [...resume.finished] : []
    const jobId = resume?.id ?? runId
    const createdAt = resume?.createdAt ?? Date.now()
    // The last round this job finished: its run's end, for a Stop between rounds.
    let lastRun: { round: number; summary: RunSummary } | null = null
    try {
      for (let round = finished.length + 1; round <= rounds; round++) {
        // Pause between rounds: this round waits for Resume. A Stop while paused ends the job
        // here, before anything of this round (its rows, its baseline, its run) is done. (No
        // round of this job finished yet, a continued job paused before its first round: that
        // round stops as it starts, as a Stop then always did; the page cannot pause then.)
        if ((await this.holdIfPaused(runId, round)) && lastRun) {
          this.stoppedBetweenRounds(runId, jobId, round, rounds, lastRun, finished.length, settings)
          return
        }
        const confident = selectConfident(labels, threshold) // refuses, by name, a threshold no row reaches
        const sel = balance ? balanceClasses(labels, confident) : confident
        if (sel.emptyClasses.length) throw new Error(`Round ${round}: no row labelled ${sel.emptyClasses.map((c) => `"${c}"`).join(', ')} reaches the threshold ${threshold.toFixed(2)}, so the classifier could not learn it: lower the threshold, or rephrase that class name.`)
        // With "Head only" the kept rows train a classifier head on the pooled features; with any
        // other method they tune the model's own label scores: "<text>\nLabel:" → " <class>",
        // the prompt zero-shot scores, with the SFT task (loss on the class name's tokens only),
        // and the tuned model labels the texts the zero-shot way, averaged with the zero-shot
        // labels (a teacher-student average: a round cannot drift far from what the model knew;
        // measured on the shipped passages, it made the last round's gain hold across seeds).
        const head = settings.method === 'head'
        // The loop watches (early stopping, restore-best) the kept rows' last share, held out by
        // valSplit: it scores the fit to the pseudo-labels only. The labelled file, when there is
        // one, is never used to choose an epoch: it only scores the finished round below, so its
        // accuracy is not picked on the data it is reported on.
        const nVal = Math.max(1, Math.round(sel.rows.length * settings.valSplit))
        const nTrain = sel.rows.length - nVal
        let trainSet: Encoded
        let val: Encoded
        let runSettings = settings
        if (head) {
          const cut = (a: number, b: number) => this.encode(sel.rows.slice(a, b).map((i) => texts.texts[i]!), sel.rows.slice(a, b).map((i) => labels.labels[i]!), classes, seqLen)
          trainSet = cut(0, nTrain)
          val = cut(nTrain, sel.rows.length)
        } else {
          const { tokenizer } = this.loaded()
          const textTokens = zeroShotTextTokens(model, tokenizer, classes, { maxTextTokens: TEXT_TOKENS })
          const ex = labelPromptExamples(tokenizer, this.rowsOf(sel.rows.map((i) => texts.texts[i]!)), sel.rows.map((i) => labels.labels[i]!), classes, textTokens)
          trainSet = sftEncoded(ex.examples.slice(0, nTrain), ex.seqLen, tokenizer.padId)
          val = sftEncoded(ex.examples.slice(nTrain), ex.seqLen, tokenizer.padId)
          runSettings = { ...settings, seqLen: ex.seqLen }
        }
        // The round trains through the session's one train path (reset to the base weights, a
        // new Tuning, RunControl, the loop). The loop's epoch checkpoints are not kept (no run
        // record); the finished round is, below, with what continuing needs.
        // The round's charts are kept with it (and drawn again when the job is restored).
        const charts: RoundCharts = { steps: [], epochs: [], baseline: null }
        const events = runEvents(this.post, runId)
        const hooks: RunHooks = {
          events: {
            ...events,
            onBaseline: (metrics, note, name) => {
              charts.baseline = { metrics, note, name }
              events.onBaseline?.(metrics, note, name)
            },
            onStep: (e) => {
              charts.steps.push({ step: e.step, loss: e.loss, lr: e.lr })
              events.onStep?.(e)
            },
            onEpoch: (e) => {
              charts.epochs.push(epochPoint(e))
              return events.onEpoch?.(e)
            },
          },
          reset: () => this.post({ type: 'weightsReset', runId }),
          started: () => {
            this.post({ type: 'state', runId, state: 'running' })
            // Stop came while the rounds were re-labelling: this round stops at its first step.
            if (this.job?.stop) this.session.run?.control.stop()
          },
          record: async (_s, _c, events) => ({ callbacks: () => events, finish: async () => {}, fail: async () => {} }),
        }
        const out = await this.session.train(runId, runSettings, hooks, undefined, undefined, { train: trainSet, val })
        if ('refused' in out) throw new Error(`Round ${round}: ${out.refused.map((p) => p.message).join(' ')}`)
        const result = out.result
        const tuning = this.s.tuning
        if (!tuning) throw new Error(`Round ${round} left no tuned model to label with.`)
        const accuracy = !valSet ? null : head ? await this.accuracyOn(tuning, valSet) : pseudoLabelAccuracy(averageLabels(this.zeroShotVal!, await this.tunedLabels(this.validation!.texts, classes, tuning.hooks)), this.validation!.labels!)
        const figures: PseudoRound = { round, kept: sel.rows.length, keptPerClass: classes.map((c) => sel.perClass[c] ?? 0), validationAccuracy: accuracy }
        let message = `${result.message}${rounds > 1 ? ` (self-training round ${round} of ${rounds})` : ''}`
        const interrupted = result.reason === 'stopped' || result.reason === 'diverged'
        const last = round === rounds || interrupted
        if (!last) {
          // The next round's labels: the tuned classifier's, for every unlabelled row.
          labels = head ? await this.classify(tuning, this.encode(texts.texts, texts.texts.map(() => 0), classes, seqLen)) : averageLabels(p0, await this.tunedLabels(texts.texts, classes, tuning.hooks))
          // Rows that came with a label keep it.
          this.given?.forEach((l, i) => {
            if (l === '') return
            labels.labels[i] = classes.indexOf(l)
            labels.confidence[i] = 1
          })
        }
        // A finished round is kept before the page hears of it, so what it shows survives a
        // closed tab; a stopped or diverged round is not (its weights are not a finished round's).
        if (!interrupted) {
          const held = this.session.loaded
          const watched = new Set<tf.Variable>()
          for (let e = 0; e < tuning.settings.epochs; e++) trainableVariables(model, tuning.settings, e, tuning.parts).forEach((v) => watched.add(v))
          const weights = await readTensors(watched, stableNames(model, tuning.parts))
          finished.push({ ...figures, message, series: packSeries(charts), weightBytes: weights.reduce((n, w) => n + w.data.byteLength, 0) })
          const record: SelfTrainingRecord = {
            id: jobId,
            createdAt,
            updatedAt: Date.now(),
            modelId: held?.summary.id ?? '',
            modelTitle: held?.summary.title ?? 'the language model',
            settings,
            roundSettings: runSettings,
            outputs: head ? classes.length : null,
            threshold,
            rounds,
            balance,
            summary: this.summary,
            unlabelled: texts,
            validation: this.validation,
            zeroShot: stored(p0),
            zeroShotVal: this.zeroShotVal && stored(this.zeroShotVal),
            finished: [...finished],
            next: last ? null : stored(labels),
          }
          await this.keep(record, weights)
        }
        if (interrupted) {
          // Said in words: the interrupted round is not kept, what is, and how to go on.
          const kept = finished.length > 0 && this.restored?.id === jobId && this.restored.finished.length === finished.length
          const stopped = result.reason === 'stopped'
          const what = stopped ? 'was stopped before its end' : 'diverged'
          const before = roundsStay(finished.length)
          message += kept
            ? ` Round ${round} ${what}, so it is not kept in this browser. ${before} saved (Saved self-training)${stopped ? `; "Continue with round ${round}" trains it again on round ${round - 1}'s labels. The stopped round's model stays in use on this page until you restore or train again` : ''}.`
            : finished.length > 0
              ? ` Round ${round} ${what}, so it is not kept in this browser (the rounds before it could not be kept either).`
              : ` Round ${round} ${what}, so it is not kept: no round of this self-training finished, and nothing of it is kept in this browser.`
          this.post({ type: 'pseudoRound', runId, round: { ...figures, notKept: result.reason as 'stopped' | 'diverged' } })
          if (kept && stopped) this.post({ type: 'pseudoStopped', runId, id: jobId, next: round, settings })
        } else this.post({ type: 'pseudoRound', runId, round: figures })
        if (last) {
          this.post({ type: 'done', runId, reason: result.reason, summary: result.summary, message })
          return
        }
        lastRun = { round, summary: result.summary }
      }
    } finally {
      this.job = null
    }
  }

  /** The job stopped while paused before round `next`: nothing of that round was done, the rounds
   *  before it stay as they were kept, the model is the last round's. The page hears the job
   *  stopped (the last round's figures as the run's), and, where the rounds are kept, that
   *  round `next` can be trained on from them ("Continue with round N"). */
  private stoppedBetweenRounds(runId: string, jobId: string, next: number, rounds: number, last: { round: number; summary: RunSummary }, finished: number, settings: Settings): void {
    const kept = this.restored?.id === jobId && this.restored.finished.length === finished
    const before = roundsStay(finished)
    const message = `Training stopped before self-training round ${next} of ${rounds}, which did not start; the model is round ${last.round}'s. ${kept ? `${before} saved (Saved self-training); "Continue with round ${next}" trains it on round ${last.round}'s labels.` : 'The finished rounds could not be kept in this browser.'}`
    if (kept) this.post({ type: 'pseudoStopped', runId, id: jobId, next, settings })
    this.post({ type: 'done', runId, reason: 'stopped', summary: last.summary, message })
  }

  /** Writes a finished round; a refusal is said beside the controls, and the rounds go on. */
  private async keep(record: SelfTrainingRecord, weights: Awaited<ReturnType<typeof readTensors>>): Promise<void> {
    const db = await this.db()
    if (!db) return
    const r = await saveSelfTrainingRound(db, record, weights)
    if (r.ok) {
      this.restored = record
      await this.publishSaved()
    } else this.post({ type: 'lmError', message: `Round ${record.finished.at(-1)!.round} was not kept in this browser (${r.error.message}); the rounds go on, but a closed tab would lose them.`, where: 'pseudoTrain' })
  }
}

/** "Round 1 stays" / "Rounds 1–N stay": the finished rounds kept, as the stop messages say it. */
function roundsStay(finished: number): string {
  return finished === 1 ? 'Round 1 stays' : `Rounds 1–${finished} stay`
}
