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
 * trains its MLP; switching back to a text dataset finds the loaded model as it was.
 *
 * It knows nothing of workers or messages: worker/handler.ts turns commands into these calls
 * and their results into events; Node tests call it directly.
 */
import { getBackend } from '@tensorflow/tfjs'
import { explainEngineError } from '../engineErrors'
import { ModelLoadError } from '../models/modelLoadError'
import { headNeedOf, type Encoded } from '../train/encoded'
import { FeatureCache } from '../train/featureCache'
import { evaluate, fineTune, Tuning, type FineTuneCallbacks, type ParallelOptions } from '../train/fineTune'
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
import type { HeldModel, SessionData } from './family'
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
  /** Starts recording the run; its callbacks wrap `events`. */
  record(settings: Settings, control: RunControl, events: FineTuneCallbacks): Promise<RunRecording>
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
  private blend: TunedBlend | null = null // interpolation state of the current model's last run
  private seed = DEFAULTS.seed // of the last plan or run: the initialisation a model built for the data starts from

  constructor(readonly data: SessionData) {}

  /** The model the data trains: the one built for it when the data asks for one, else the loaded one. */
  current(): HeldModel | null {
    const built = modelForData(this.data, this.seed, this.builtForData)
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
    const s = family.runSettings(settings)
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
   *  resume and stop reach it through `run.control`. `resume` continues a checkpointed run. */
  async train(runId: string, settings: Settings, hooks: RunHooks, resume?: ResumeInput): Promise<{ result: RunResult } | RunRefused> {
    if (this.run) throw new Error('A run is already in progress: stop it first.')
    this.seed = settings.seed
    const held = this.current()
    if (!held) throw new Error('Load a dataset and a model before training.')
    const { family, body } = held
    const misfit = family.fitProblem(held, this.data)
    if (misfit) throw new ModelLoadError(misfit, `model ${held.summary.title}`)
    const s = family.runSettings(settings)
    const data = family.encode(held, s, this.data)
    if (data.train.n === 0 || data.val.n === 0) {
      throw new Error(`The split left ${data.train.n} training and ${data.val.n} validation ${family.examples}. Add ${family.examples === 'images' ? 'images' : 'data'}, or change the validation split.`)
    }
    const refused = [...validateSettings(s, { trainSize: data.train.n, nLayers: body.config.nLayers, dModel: body.config.dModel, hasHead: headNeedOf(data.train) !== null, ...family.checkContext(held) }), ...family.extraProblems(held, s, this.data)]
    if (refused.length) return { refused, totalParams: body.parameterCount() }
    // A new run starts from the base weights: drop what the last run added.
    held.tuning?.dispose()
    held.tuning = null
    if (held.base) resetWeights(body, held.base)
    await family.syncWeights?.(held)
    family.beforeRun?.(held, s)
    const tuning = new Tuning(body, s, headNeedOf(data.train), data.train.kind === 'classification' ? data.train.tasks : undefined)
    held.tuning = tuning
    held.validationSplit = data.val
    const control = new RunControl()
    this.run = { id: runId, control }
    hooks.started()
    try {
      const zs = resume ? null : await family.zeroShot(held, data.val, (label) => hooks.events.onProgress?.('baseline', 0, 1, label))
      const recorder = await hooks.record(s, control, hooks.events)
      const result = await fineTune(body, tuning, { ...data, zeroShot: zs?.metrics ?? null, ...(zs?.note ? { zeroShotNote: zs.note } : {}) }, s, control, recorder.callbacks(), resume, hooks.parallel?.(s)).catch(async (e: unknown) => {
        await recorder.fail(errorText(e, 'training'))
        throw e
      })
      result.message += family.endNote(s)
      await recorder.finish(result)
      return { result }
    } finally {
      this.run = null
    }
  }

  /** Validation metrics of the current model's last run. */
  async evaluate(): Promise<Metrics> {
    const held = this.current()
    if (!held?.tuning || !held.validationSplit) throw new Error('Train a model before evaluating it.')
    return this.evaluateWith(held, held.tuning, held.validationSplit)
  }

  /** Validation metrics of `tuning` on `val`, with the model's weights as they are now. */
  async evaluateWith(held: HeldModel, tuning: Tuning, val: Encoded): Promise<Metrics> {
    await held.family.syncWeights?.(held)
    return evaluate(held.body, tuning, val, new FeatureCache(0, false, { train: 0, val: val.n }), 'val')
  }

  /** The data's train/validation split, encoded for `held`. */
  encodeFor(held: HeldModel, settings: Settings): { train: Encoded; val: Encoded } {
    return held.family.encode(held, held.family.runSettings(settings), this.data)
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
    const swept = await sweepBlend(b, points, async () => lean(await this.measure()), progress)
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
    const held = input.kind === 'row' && dataHasOwnModel(this.data) ? this.current() : this.loaded
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

  private async measure(): Promise<Metrics> {
    const held = this.current()
    if (!held?.tuning || !held.validationSplit || held.validationSplit.n === 0) throw new Error('There is no validation split to measure: train first.')
    return this.evaluateWith(held, held.tuning, held.validationSplit)
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

/** A message for a person: the error's own text, or an engine failure explained (engineErrors.ts). */
export function errorText(e: unknown, doing?: string): string {
  return explainEngineError(e, { ...(doing ? { doing } : {}), backend: backendName() }).message
}

export function backendName(): string | undefined {
  try {
    return getBackend()
  } catch {
    return undefined
  }
}
