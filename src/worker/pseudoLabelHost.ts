/**
 * Learning without labels in the worker: a CSV of texts with no labels and class names the
 * user typed → the pretrained LM's zero-shot pseudo-labels with a confidence (engine/tasks/
 * pseudoLabel/), a histogram of confidence, and self-training through the one loop: the rows
 * at or above the threshold train, with "Head only", a classifier head on pooled features
 * (classification task); with any other method the model's own label scores (the zero-shot
 * prompt with the pseudo-label as its answer, SFT task), whose labels are averaged with the
 * zero-shot ones. Each further round re-labels every row with the tuned model and trains again
 * from the base model. With a labelled validation file the page gets the accuracy of the
 * zero-shot labels, of each round and of the base model side by side.
 */
import * as tf from '@tensorflow/tfjs'
import { parseCsvText } from '../engine/data/csv'
import { averageLabels, balanceClasses, confidenceHistogram, labelPromptExamples, pseudoLabelAccuracy, pseudoLabelsFromScores, selectConfident, zeroShotPseudoLabels, type PseudoLabels } from '../engine/tasks/pseudoLabel/pseudoLabel'
import { sftEncoded } from '../engine/tasks/lmObjectiveData'
import { zeroShotTextTokens } from '../engine/train/zeroShot'
import type { ForwardHooks } from '../engine/models/tinyGpt'
import { BatchSource } from '../engine/train/batchSource'
import { FeatureCache } from '../engine/train/featureCache'
import type { Tuning, Encoded } from '../engine/train/fineTune'
import { gatherBatch, headLogits, range } from '../engine/train/forward'
import { resetWeights } from '../engine/tuning/interpolate'
import type { Settings } from '../settings/types'
import type { TinyGpt } from '../engine/models/tinyGpt'
import type { TokenizerLike } from '../engine/data/textBatches'
import type { WeightMap } from '../engine/tuning/interpolate'
import type { RunHooks, Session } from '../engine/session/session'
import type { LmCommand, PseudoSummary } from './lmProtocol'
import type { FromWorker } from './protocol'
import { runEvents } from './runEvents'

type Post = (e: FromWorker) => void
type ClassificationSet = Extract<Encoded, { kind: 'classification' }>

/** Tokens each text is scored and trained on (BOS included). */
const TEXT_TOKENS = 32

interface Texts {
  name: string
  texts: string[]
  labels: string[] | null
}

/** A CSV's text column ("text", else the first) and, if present, its "label" column. */
function readTexts(name: string, csv: string, needLabels: boolean): Texts {
  const { records } = parseCsvText(csv)
  const header = (records[0]?.cells ?? []).map((c) => c.trim())
  if (records.length < 2) throw new Error(`${name} has no rows under its header: add one text per row.`)
  const ti = header.includes('text') ? header.indexOf('text') : 0
  const li = header.indexOf('label')
  if (needLabels && li < 0) throw new Error(`${name} has no "label" column (columns: ${header.join(', ')}): the validation file needs the true class of each text.`)
  const rows = records.slice(1).filter((r) => (r.cells[ti] ?? '').trim() !== '')
  return { name, texts: rows.map((r) => r.cells[ti]!), labels: li >= 0 ? rows.map((r) => (r.cells[li] ?? '').trim()) : null }
}

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

  constructor(
    private readonly post: Post,
    private readonly s: HeldLm,
    private readonly session: Pick<Session, 'train' | 'run'>,
    private readonly ensureBackend: (pref?: Settings['backend']) => Promise<void>,
  ) {}

  async handle(msg: Extract<LmCommand, { type: 'pseudoLabel' | 'pseudoTrain' }>): Promise<void> {
    if (msg.type === 'pseudoLabel') return this.label(msg)
    return this.selfTrain(msg)
  }

  private loaded() {
    if (!this.s.loaded) throw new Error('Load a language model in step 2 (the built-in text model, or a Hugging Face GPT-2 or Llama) before learning without labels.')
    return this.s.loaded
  }

  private rowsOf(texts: readonly string[]): number[][] {
    const tok = this.loaded().tokenizer
    return texts.map((t) => [tok.bosId, ...tok.encode(t).slice(0, TEXT_TOKENS - 1)])
  }

  /** The base model's zero-shot labels of texts (the tuned weights are put aside for it). */
  private async zeroShotOf(texts: readonly string[], classes: readonly string[]): Promise<PseudoLabels> {
    const { model, tokenizer } = this.loaded()
    if (this.s.base) resetWeights(model, this.s.base)
    return zeroShotPseudoLabels(model, tokenizer, this.rowsOf(texts), classes, { maxTextTokens: TEXT_TOKENS })
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

  private async selfTrain(msg: Extract<LmCommand, { type: 'pseudoTrain' }>): Promise<void> {
    const { runId, settings } = msg
    const p0 = this.zeroShot
    const texts = this.unlabelled
    if (!p0 || !texts) throw new Error('Label the texts first: choose the unlabelled file and type the class names.')
    if (this.session.run) throw new Error('A run is already in progress: stop it first.')
    const { model } = this.loaded()
    await this.ensureBackend(settings.backend)
    const seqLen = Math.min(settings.seqLen, model.config.seqLen)
    const classes = p0.classes
    const valSet = this.validation ? this.encode(this.validation.texts, this.validation.labels!.map((l) => { const c = classes.indexOf(l); if (c < 0) throw new Error(`The validation label "${l}" is not one of the class names ${classes.join(', ')}: type the class names as the validation file spells them.`); return c }), classes, seqLen) : null
    let labels = p0
    const rounds = Math.max(1, Math.min(5, Math.round(msg.rounds)))
    for (let round = 1; round <= rounds; round++) {
      const confident = selectConfident(labels, msg.threshold) // refuses, by name, a threshold no row reaches
      const sel = msg.balance ? balanceClasses(labels, confident) : confident
      if (sel.emptyClasses.length) throw new Error(`Round ${round}: no row labelled ${sel.emptyClasses.map((c) => `"${c}"`).join(', ')} reaches the threshold ${msg.threshold.toFixed(2)}, so the classifier could not learn it: lower the threshold, or rephrase that class name.`)
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
      // new Tuning, RunControl, the loop). Rounds are not checkpointed: restoring one would
      // need its selection of rows again.
      const hooks: RunHooks = {
        events: runEvents(this.post, runId),
        started: () => this.post({ type: 'state', runId, state: 'running' }),
        record: async (_s, _c, events) => ({ callbacks: () => events, finish: async () => {}, fail: async () => {} }),
      }
      const out = await this.session.train(runId, runSettings, hooks, undefined, undefined, { train: trainSet, val })
      if ('refused' in out) throw new Error(`Round ${round}: ${out.refused.map((p) => p.message).join(' ')}`)
      const result = out.result
      const tuning = this.s.tuning
      if (!tuning) throw new Error(`Round ${round} left no tuned model to label with.`)
      const accuracy = !valSet ? null : head ? await this.accuracyOn(tuning, valSet) : pseudoLabelAccuracy(averageLabels(this.zeroShotVal!, await this.tunedLabels(this.validation!.texts, classes, tuning.hooks)), this.validation!.labels!)
      this.post({ type: 'pseudoRound', runId, round: { round, kept: sel.rows.length, keptPerClass: classes.map((c) => sel.perClass[c] ?? 0), validationAccuracy: accuracy } })
      const last = round === rounds || result.reason === 'stopped' || result.reason === 'diverged'
      if (last) {
        this.post({ type: 'done', runId, reason: result.reason, summary: result.summary, message: `${result.message}${rounds > 1 ? ` (self-training round ${round} of ${rounds})` : ''}` })
        return
      }
      // The next round's labels: the tuned classifier's, for every unlabelled row.
      labels = head ? await this.classify(tuning, this.encode(texts.texts, texts.texts.map(() => 0), classes, seqLen)) : averageLabels(p0, await this.tunedLabels(texts.texts, classes, tuning.hooks))
      // Rows that came with a label keep it.
      this.given?.forEach((l, i) => {
        if (l === '') return
        labels.labels[i] = classes.indexOf(l)
        labels.confidence[i] = 1
      })
    }
  }
}
