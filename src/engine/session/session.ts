/**
 * One session of the studio's engine: the models it holds, their base weights, what their
 * last run trained and was measured on, the data, and the run in progress. Plan, train,
 * evaluate, interpolate, sweep, predict, generate and export are written here once for every
 * kind of model; what differs per kind is asked of the held model's family (family.ts,
 * families/), what differs per objective of the Task module the loop picks (engine/tasks/),
 * and what the loop needs of the network of its Body adapter (engine/bodies/).
 *
 * A session holds more than one model: the one a person loaded (the built-in LM, the emoji
 * CNN, a layers model) and one built for the data's own columns (the tabular MLP). A table
 * trains its MLP — or the loaded model, when that reads rows of numbers itself (a person's
 * own Keras MLP, families/layersRows.ts); switching back to a text dataset finds the loaded
 * model as it was.
 *
 * It knows nothing of workers or messages: worker/handler.ts turns commands into these calls
 * and their results into events; Node tests call it directly.
 */
import * as tf from '@tensorflow/tfjs'
import { explainEngineError } from '../engineErrors'
import { ModelLoadError } from '../models/modelLoadError'
import { headNeedOf, type Encoded } from '../train/encoded'
import { FeatureCache } from '../train/featureCache'
import { evaluate, fineTune, splitRun, Tuning, type FineTuneCallbacks, type ParallelOptions } from '../train/fineTune'
import type { DataParallel, GradientPeer } from '../train/dataParallel'
import { evaluationSplit, refresh } from '../train/evaluationSplit'
import type { ResumeInput } from '../train/loopState'
import { RunControl } from '../train/runControl'
import { bestAlpha, sweepBlend, TunedBlend, type SweepPoint } from '../tuning/blend'
import { trainableBlocks } from '../tuning/freeze'
import { disposeWeights, resetWeights } from '../tuning/interpolate'
import type { ExportChoice } from '../export/tuningPack'
import type { Metrics } from '../types/metrics'
import type { ModelSummary, SettingsPlan } from '../types/model'
import type { PlaygroundAnswer, PlaygroundInput } from '../types/playground'
import type { DoneReason, RunSummary } from '../types/run'
import { validateSettings } from '../../settings/validate'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import type { ChatAnswer, ChatRequest, HeldModel, SessionData } from './family'
import { encodeObjective, objectiveRecipe, readObjectiveFiles, type ChatLm, type ObjectiveData, type ObjectiveFiles } from './lmObjectives'
import { referenceLogProbs, watchDpoBatches } from '../tasks/dpoTask'
import type { PairsEncoded } from '../tasks/lmEncoded'
import type { DpoStepPoint, LmDataSummary, ObjectiveRun } from '../types/lmObjectives'
import { dataHasOwnModel, modelForData } from './families'
import type { GenerateRequest } from './families/textPlayground'

export type RunResult = { reason: DoneReason; summary: RunSummary; message: string }

/** Where a run is recorded (and checkpointed): the worker's CheckpointHost in the app. */
export interface RunRecording {
  /** The callbacks to give the loop (the events' own, plus recording). */
  callbacks(): FineTuneCallbacks
  finish(result: RunResult): Promise<void>
  fail(message: string): Promise<void>
}

export interface RunHooks {
  /** The loop's progress as the caller reports it (protocol events in the app). */
  events: FineTuneCallbacks
  /** Called once the run is set up, before its line to beat is measured. */
  started(): void
  /** Called as the run sets the model back to its base weights (before `started`): the weights
   *  held before (a restored checkpoint's, an import's) are gone even if the run fails to start. */
  reset?(): void
  /** Starts recording the run; its callbacks wrap `events`. */
  record(settings: Settings, control: RunControl, events: FineTuneCallbacks): Promise<RunRecording>
  /** A DPO run's training batches since the last call (reward accuracy, margin, log-probabilities). */
  preferenceSteps?(points: DpoStepPoint[]): void
  /** A second engine worker for this run (train/dataParallel.ts), where the host has one. */
  parallel?(settings: Settings): ParallelOptions | undefined
}

/** A refusal naming the control to change ('method', 'loraRank', …, or 'dataset'). */
export type SettingProblem = { field: string; message: string }

/** A run that did not start because of its settings: each problem names its control. */
export interface RunRefused {
  refused: SettingProblem[]
  totalParams: number
}

export class Session {
  /** The model a person loaded (pretrained LM, image CNN, layers model); null before one. */
  loaded: HeldModel | null = null
  /** A model built for the data's own columns (the tabular MLP), kept beside `loaded`. */
  builtForData: HeldModel | null = null
  /** The run in progress; pause, resume and stop reach it while the run's command waits. */
  run: { id: string; control: RunControl } | null = null
  /** The checked instruction or preference file (lmObjectives.ts) SFT and DPO runs train on. */
  objectiveData: ObjectiveData | null = null
  private blend: TunedBlend | null = null // interpolation state of the current model's last run
  /** The other engine workers for whole-validation-set passes outside a run (the blend, an
   *  evaluation: train/evaluationSplit.ts), none where passes run on one worker; the host sets it. */
  passPeers: (() => readonly GradientPeer[]) | null = null
  private seed = DEFAULTS.seed // of the last plan or run: the initialisation a model built for the data starts from

  constructor(readonly data: SessionData) {}

  /** The model the data trains: the one built for it when the data asks for one, else the loaded one. */
  current(): HeldModel | null {
    const built = modelForData(this.data, this.seed, this.builtForData, this.loaded)
    if (!built) return this.loaded
    if (built !== this.builtForData) {
      if (this.builtForData) this.dispose(this.builtForData)
      this.builtForData = built
    }
    return built
  }

  /** Makes `held` the loaded model, disposing the one before (and its run's pieces). */
  hold(held: HeldModel): void {
    if (this.loaded) this.dispose(this.loaded)
    this.loaded = held
  }

  /** Forgets the loaded model (another kind of model, held elsewhere, replaced it). */
  drop(): void {
    if (this.loaded) this.dispose(this.loaded)
    this.loaded = null
  }

  /** Parameter counts, problems (each naming its control) and the layer table for these
   *  settings, before anything trains; null while no model is current. */
  plan(settings: Settings): { plan: SettingsPlan; summary: ModelSummary } | null {
    this.seed = settings.seed
    const held = this.current()
    if (!held) return null
    const { family, body } = held
    const s = family.runSettings(settings, held)
    // A model that does not fit the data at all: say that alone, not "no examples left".
    const misfit = family.fitProblem(held, this.data)
    const shape = family.planShape(held, s, this.data)
    const problems: SettingProblem[] = misfit ? [] : validateSettings(s, { trainSize: shape.trainSize, nLayers: body.config.nLayers, dModel: body.config.dModel, hasHead: shape.need !== null, ...family.checkContext(held) })
    problems.push(...family.extraProblems(held, s, this.data))
    let counts = { total: body.parameterCount(), trainable: 0 }
    if (!problems.length) {
      try {
        const t = new Tuning(body, s, shape.need, shape.tasks)
        counts = t.counts(0)
        t.dispose()
      } catch (e) {
        problems.push({ field: 'method', message: errorText(e) })
      }
    }
    if (misfit) problems.unshift({ field: 'dataset', message: misfit }) // counts stay meaningful
    const layers = family.describe(held, trainableBlocks(body.config.nLayers, s, 0))
    return {
      plan: { trainableParams: counts.trainable, totalParams: counts.total, problems, ...(shape.trainExamples === undefined ? {} : { trainExamples: shape.trainExamples }) },
      summary: { ...held.summary, layers, trainableParams: counts.trainable, totalParams: counts.total },
    }
  }

  /** One fine-tuning run of the current model on the data, from its base weights; pause,
   *  resume and stop reach it through `run.control`. `resume` continues a checkpointed run.
   *  With `objective` the loaded causal LM trains on the checked instruction or preference
   *  file (`objectiveData`) instead of the dataset: the same steps, the sft or dpo Task.
   *  With `sets` the loaded model trains on sets its caller encoded (each round of learning
   *  without labels, engine/tasks/pseudoLabel/): the same steps, no line to beat measured. */
  async train(runId: string, settings: Settings, hooks: RunHooks, resume?: ResumeInput, objective?: ObjectiveRun, sets?: { train: Encoded; val: Encoded }): Promise<{ result: RunResult } | RunRefused> {
    if (this.run) throw new Error('A run is already in progress: stop it first.')
    this.seed = settings.seed
    const ownData = !!objective || !!sets // trains on something other than the dataset
    const held = ownData ? this.loaded : this.current()
    if (!held) throw new Error(objective ? NO_CAUSAL_LM : 'Load a dataset and a model before training.')
    const { family, body } = held
    const misfit = ownData ? null : family.fitProblem(held, this.data)
    if (misfit) throw new ModelLoadError(misfit, `model ${held.summary.title}`)
    const s = family.runSettings(settings, held)
    // SFT and DPO read the objective's file; the settings check reads it as language modelling.
    const runData = ownData ? asLanguageModelling(this.data) : this.data
    let data = sets ?? (objective ? this.objectiveSets(this.chatLmOf(held), s, objective) : family.encode(held, s, this.data))
    if (data.train.n === 0 || data.val.n === 0) {
      if (objective) throw new Error(`After checking the rows, ${data.train.n} training and ${data.val.n} held-out examples are left: fix the rows the preview names, or add data.`)
      throw new Error(`The split left ${data.train.n} training and ${data.val.n} validation ${family.examples}. Add ${family.examples === 'images' ? 'images' : 'data'}, or change the validation split.`)
    }
    const refused = [...validateSettings(s, { trainSize: data.train.n, nLayers: body.config.nLayers, dModel: body.config.dModel, hasHead: headNeedOf(data.train) !== null, ...family.checkContext(held) }), ...family.extraProblems(held, s, runData)]
    if (objective && s.method === 'head') refused.push({ field: 'method', message: '"Head only" trains a new classifier head, and instruction and preference tuning have none: choose LoRA, adapters, "Freeze early blocks" or full fine-tuning.' })
    if (refused.length) return { refused, totalParams: body.parameterCount() }
    // A new run starts from the base weights: drop what the last run added.
    held.tuning?.dispose()
    held.tuning = null
    if (held.base) resetWeights(body, held.base)
    hooks.reset?.()
    await family.syncWeights?.(held)
    family.beforeRun?.(held, s)
    if (data.train.kind === 'pairs' && data.val.kind === 'pairs') {
      // DPO's reference policy: the model before tuning (with LoRA, the same weights with the
      // adapter off), scored once here, so no second copy is held.
      hooks.events.onProgress?.('baseline', 0, 1, 'Scoring the answers with the model before tuning (the DPO reference)')
      data = { train: await referenceLogProbs(body, data.train, s), val: await referenceLogProbs(body, data.val, s) }
    }
    const tuning = new Tuning(body, s, headNeedOf(data.train), data.train.kind === 'classification' ? data.train.tasks : undefined)
    try {
      if (!resume && family.startRun) data = family.startRun(held, tuning, data)
    } catch (e) {
      tuning.dispose()
      throw e
    }
    held.tuning = tuning
    held.validationSplit = data.val
    const control = new RunControl()
    this.run = { id: runId, control }
    hooks.started()
    const steps = data.train.kind === 'pairs' && hooks.preferenceSteps ? new PreferenceSteps(data.train, hooks.preferenceSteps) : null
    let split: ReturnType<typeof splitRun> | undefined
    try {
      // On two workers the zero-shot baseline's passes are halved too: the split is made here.
      const parallel = hooks.parallel?.(s)
      split = parallel && parallel.passes !== false ? splitRun(body, tuning, data.train, s, parallel) : undefined
      const zs = resume || sets ? null : await family.zeroShot(held, data.val, (label) => hooks.events.onProgress?.('baseline', 0, 1, label), split)
      const recorder = await hooks.record(s, control, steps ? steps.wrap(hooks.events) : hooks.events)
      const result = await fineTune(body, tuning, { ...data, zeroShot: zs?.metrics ?? null, ...(zs?.note ? { zeroShotNote: zs.note } : {}) }, s, control, recorder.callbacks(), resume, parallel && { ...parallel, ...(split !== undefined ? { split } : {}) }).catch(async (e: unknown) => {
        await recorder.fail(errorText(e, 'training'))
        throw e
      })
      await steps?.drain()
      result.message += family.endNote(s)
      await recorder.finish(result)
      return { result }
    } finally {
      split?.dispose()
      steps?.dispose()
      this.run = null
    }
  }

  /** Reads and checks an instruction or preference file for the loaded causal LM; it is what
   *  SFT and DPO runs train on until another is read. The summary previews the loss mask. */
  readObjective(files: ObjectiveFiles): LmDataSummary {
    const held = this.loaded
    if (!held) throw new Error(NO_CAUSAL_LM)
    const { data, summary } = readObjectiveFiles(this.chatLmOf(held), files)
    this.objectiveData = data
    return summary
  }

  /** The objective file's train/held-out sets encoded for `held`, with DPO's reference
   *  log-probabilities scored by the weights the body has now (a checkpoint restore calls it
   *  with the base weights in place). */
  async encodeObjectiveFor(held: HeldModel, settings: Settings, objective: ObjectiveRun): Promise<{ train: Encoded; val: Encoded }> {
    const s = held.family.runSettings(settings, held)
    const data = this.objectiveSets(this.chatLmOf(held), s, objective)
    if (data.train.kind === 'pairs' && data.val.kind === 'pairs') return { train: data.train, val: await referenceLogProbs(held.body, data.val, s) }
    return data
  }

  /** The LM objectives' chat: the loaded model's answers before and after its last run. */
  async chat(request: ChatRequest): Promise<ChatAnswer> {
    const held = this.loaded
    if (!held?.family.chat || !held.family.chatLm?.(held)) throw new Error(NO_CAUSAL_LM)
    if (!request.messages.length || request.messages.at(-1)!.role !== 'user') throw new Error('Write a user message to send.')
    return held.family.chat(held, request)
  }

  /** The TRL recipe of the checked objective file with these settings (a Hugging Face model
   *  is named in it by its repo). */
  recipe(objective: ObjectiveRun, settings: Settings): { name: string; text: string }[] {
    const d = this.objectiveData
    if (!d) throw new Error("Choose a training file first: the recipe carries it in the trainer's format.")
    const held = this.loaded
    // a model loaded by repo id is named by it; one from files keeps the recipe's default
    const repo = held?.card.source === 'huggingface' && /^[\w.-]+\/[\w.-]+$/.test(held.summary.title) ? held.summary.title : undefined
    return objectiveRecipe(d, objective, settings, repo)
  }

  private chatLmOf(held: HeldModel): ChatLm {
    const lm = held.family.chatLm?.(held)
    if (!lm) throw new Error(`${held.summary.title} is not a causal language model. ${NO_CAUSAL_LM}`)
    return lm
  }

  private objectiveSets(lm: ChatLm, settings: Settings, objective: ObjectiveRun): { train: Encoded; val: Encoded } {
    const d = this.objectiveData
    if (!d) throw new Error('Choose a training file for this objective first.')
    const { train, val } = encodeObjective(lm, d, settings, objective)
    return { train, val }
  }

  /** Validation metrics of the current model's last run. */
  async evaluate(): Promise<Metrics> {
    const held = this.current()
    if (!held?.tuning || !held.validationSplit) throw new Error('Train a model before evaluating it.')
    return this.evaluateWith(held, held.tuning, held.validationSplit)
  }

  /** Validation metrics of `tuning` on `val`, with the model's weights as they are now; the rows
   *  halved over the two workers where there are two (`split`, else one made for this call). */
  async evaluateWith(held: HeldModel, tuning: Tuning, val: Encoded, split?: DataParallel | null): Promise<Metrics> {
    if (split === undefined) return this.withSplit(held, tuning, val, (sp) => this.evaluateWith(held, tuning, val, sp))
    await held.family.syncWeights?.(held)
    if (split) refresh(split, held.body, tuning) // the replica reads the weights as they are now
    return evaluate(held.body, tuning, val, new FeatureCache(0, false, { train: 0, val: val.n }), 'val', undefined, split)
  }

  /** `f` with the passes of `tuning` on `val` split over the two workers (or null: one worker),
   *  the split disposed after: one command's, never another's (evaluationSplit.ts). */
  private async withSplit<T>(held: HeldModel, tuning: Tuning, val: Encoded, f: (split: DataParallel | null) => Promise<T>): Promise<T> {
    const split = evaluationSplit(this.passPeers?.() ?? null, held.body, tuning, val)
    try {
      return await f(split)
    } finally {
      split?.dispose()
    }
  }

  /** The data's train/validation split, encoded for `held`. */
  encodeFor(held: HeldModel, settings: Settings): { train: Encoded; val: Encoded } {
    return held.family.encode(held, held.family.runSettings(settings, held), this.data)
  }

  /** Makes `tuning` the one evaluation, the playground and export use (disposing the one
   *  before); `val` replaces the validation split when given. */
  adopt(held: HeldModel, tuning: Tuning, val?: Encoded): void {
    if (held.tuning !== tuning) held.tuning?.dispose()
    held.tuning = tuning
    if (val) held.validationSplit = val
  }

  /** θ(α) = (1−α)·θ_base + α·θ_tuned applied to the current model (the head stays tuned),
   *  with the validation metrics at α; `keep` makes α the one export uses by default. */
  async interpolate(alpha: number, keep: boolean): Promise<{ alpha: number; kept: number; metrics: Metrics }> {
    const b = this.blendNow()
    b.apply(alpha)
    if (keep) b.kept = alpha
    return { alpha: b.alpha, kept: b.kept, metrics: await this.measure() }
  }

  /** The validation metric at `points` values of α from 0 to 1, and the best α. */
  async sweep(points: number, progress: (done: number, total: number, p: SweepPoint) => void): Promise<{ points: SweepPoint[]; best: number | null }> {
    const b = this.blendNow()
    if (!this.current()?.validationSplit) throw new Error('There is no validation split to sweep over: train first.')
    const lean = (m: Metrics) => ({ loss: m.loss, ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}), ...(m.perplexity !== undefined ? { perplexity: m.perplexity } : {}), ...(m.rmse !== undefined ? { rmse: m.rmse } : {}) })
    const held = this.current()!
    // One split for the whole sweep: the replica is set up once, then gets each α's weights.
    const swept = await this.withSplit(held, held.tuning!, held.validationSplit!, (split) => sweepBlend(b, points, async () => lean(await this.measure(split)), progress))
    return { points: swept, best: bestAlpha(swept) }
  }

  /** The current model fine-tuned, as its family writes it. */
  async export(choice: ExportChoice, alpha: number, metrics: { base: Metrics | null; tuned: Metrics | null; baseName?: string | null }, onProgress: (done: number, total: number, label: string) => void): Promise<{ fileName: string; bytes: Uint8Array }> {
    const held = this.current()
    if (!held?.tuning || !held.base) throw new Error('Train a model (or load a fine-tuned one) before interpolating or exporting it.')
    const measureAt = async (a: number): Promise<Metrics | null> => {
      if (!held.validationSplit || held.validationSplit.n === 0) return null
      const blend = this.blendNow()
      const before = blend.alpha
      blend.apply(a)
      try {
        return await this.measure()
      } finally {
        blend.apply(before)
      }
    }
    return held.family.export(held, { choice, alpha, blend: () => this.blendNow(), data: this.data.facts, metrics, measureAt, onProgress })
  }

  /** Playground: a table row goes to the model built for the data when there is one, the
   *  rest to the loaded model; each answers before and after fine-tuning. */
  async predict(requestId: string, input: PlaygroundInput, answer: (a: PlaygroundAnswer) => void): Promise<void> {
    const held = input.kind === 'row' && dataHasOwnModel(this.data, this.loaded) ? this.current() : this.loaded
    if (!held) throw new Error('Load a model before trying it.')
    return held.family.predict(held, requestId, input, answer)
  }

  /** Playground: text generated before and after fine-tuning, streamed. */
  async generate(request: GenerateRequest, answer: (a: PlaygroundAnswer) => void, shouldStop: () => boolean): Promise<void> {
    const held = this.loaded
    if (!held?.family.generate) throw new Error('Load a model before trying it.')
    return held.family.generate(held, request, answer, shouldStop)
  }

  /** The interpolation state for the current model's last run, made when first needed (the
   *  model then holds the tuned weights). */
  private blendNow(): TunedBlend {
    const held = this.current()
    if (!held?.tuning || !held.base) throw new Error('Train a model (or load a fine-tuned one) before interpolating or exporting it.')
    if (this.blend && this.blend.tuning === held.tuning && this.blend.model === held.body) return this.blend
    this.blend?.dispose()
    this.blend = new TunedBlend(held.body, held.base, held.tuning)
    return this.blend
  }

  private async measure(split?: DataParallel | null): Promise<Metrics> {
    const held = this.current()
    if (!held?.tuning || !held.validationSplit || held.validationSplit.n === 0) throw new Error('There is no validation split to measure: train first.')
    return this.evaluateWith(held, held.tuning, held.validationSplit, split)
  }

  private dispose(held: HeldModel): void {
    if (this.blend?.model === held.body) {
      this.blend.dispose()
      this.blend = null
    }
    held.tuning?.dispose()
    held.tuning = null
    if (held.base) disposeWeights(held.base)
    held.base = null
    held.body.dispose()
  }
}

const NO_CAUSAL_LM = 'Load a causal language model (the built-in text model, or a Hugging Face GPT-2 or Llama) before instruction or preference tuning.'

/** The data as a language-modelling run reads it (the settings check of an SFT or DPO run). */
function asLanguageModelling(data: SessionData): SessionData {
  return {
    get dataset() {
      return data.dataset
    },
    get facts() {
      return data.facts && { ...data.facts, task: 'language-modelling' as const }
    },
    get images() {
      return data.images
    },
    get decoder() {
      return data.decoder
    },
    split: (settings) => data.split(settings),
  }
}

/** A DPO run's per-batch rewards for the charts: each training batch hands its summary over
 *  (dpoTask's watchDpoBatches); they are read between the loop's step reports, never inside
 *  a step, and handed on in order. */
class PreferenceSteps {
  private pending: tf.Tensor1D[] = []
  private batch = 0
  private readonly unwatch: () => void

  constructor(
    set: PairsEncoded,
    private readonly out: (points: DpoStepPoint[]) => void,
  ) {
    this.unwatch = watchDpoBatches(set, (t) => this.pending.push(t))
  }

  wrap(events: FineTuneCallbacks): FineTuneCallbacks {
    return {
      ...events,
      onStep: (e) => {
        events.onStep?.(e)
        void this.drain()
      },
      onEpoch: async (e) => {
        await this.drain()
        await events.onEpoch?.(e)
      },
    }
  }

  async drain(): Promise<void> {
    const taken = this.pending.splice(0)
    const points: DpoStepPoint[] = []
    for (const t of taken) {
      const [rewardAccuracy, rewardMargin, chosenLogProb, rejectedLogProb] = await t.data()
      t.dispose()
      points.push({ batch: ++this.batch, rewardAccuracy: rewardAccuracy!, rewardMargin: rewardMargin!, chosenLogProb: chosenLogProb!, rejectedLogProb: rejectedLogProb! })
    }
    if (points.length) this.out(points)
  }

  dispose(): void {
    this.unwatch()
    tf.dispose(this.pending.splice(0))
  }
}

/** A message for a person: the error's own text, or an engine failure explained (engineErrors.ts). */
export function errorText(e: unknown, doing?: string): string {
  return explainEngineError(e, { ...(doing ? { doing } : {}), backend: backendName() }).message
}

export function backendName(): string | undefined {
  try {
    return tf.getBackend()
  } catch {
    return undefined
  }
}
