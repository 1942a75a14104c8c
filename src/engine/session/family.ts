/**
 * A model family: what the session (session.ts) needs of one kind of model beyond what the
 * training loop needs (the loop's part is the Body adapter in engine/bodies/). A family says
 * which data its model reads and how that data is encoded for it, how its layer table and
 * plan read, what the line to beat adds (the LM's zero-shot score), how the playground asks
 * it, and how it leaves as a file. The session writes plan, train, evaluate, interpolate,
 * predict and export once and asks the family of the model it holds.
 *
 * Today: text.ts (the built-in LM, TinyGpt), hf.ts (Hugging Face GPT-2, Llama, BERT
 * checkpoints), image.ts (the emoji CNN, TinyCnn), layers.ts (a loaded TensorFlow.js layers
 * model), layersRows.ts (a loaded layers model that reads rows of numbers, fine-tuned on a
 * table), tabular.ts (the MLP built for a table's columns when the loaded model reads no rows).
 * A new family is one file here; models loaded from files reach it through the
 * worker's loader (worker/handler.ts `loadModel`), a model built for the data through
 * `families/index.ts`.
 */
import type { Dataset } from '../data/dataset'
import type { ImageDecoder, ImageSetInfo } from '../data/images/types'
import type { ImageSource } from '../data/images/imageBatches'
import type { Body } from '../models/body'
import type { ModelCard } from '../models/modelFile'
import type { Encoded } from '../train/encoded'
import type { Tuning } from '../train/fineTune'
import type { PassSplit } from '../train/inferencePasses'
import type { SplitRows } from '../train/encodeNumeric'
import type { TaskLabels } from '../train/multitaskData'
import type { TunedBlend } from '../tuning/blend'
import type { WeightMap } from '../tuning/interpolate'
import type { ExportChoice, TuningJson } from '../export/tuningPack'
import type { Settings } from '../../settings/types'
import type { ValidationContext } from '../../settings/validate'
import type { LayerSummary, ModelSummary, TaskKind } from '../types/model'
import type { Metrics } from '../types/metrics'
import type { PlaygroundAnswer, PlaygroundChat, PlaygroundInput } from '../types/playground'
import type { LmChatMessage } from '../types/lmObjectives'
import type { ChatLm } from './lmObjectives'

/** The facts of the current dataset the session reads (the protocol's DatasetSummary has them). */
export interface DataFacts {
  id: string
  name: string
  task: TaskKind
  rows: number
  source: string
  classes: { name: string; count: number }[]
}

/** An image set: its labels and where the pictures are read from. */
export interface ImageData {
  info: ImageSetInfo
  source: ImageSource
}

/** The current data, as whoever stores it (worker/dataHost.ts) offers it to the session. */
export interface SessionData {
  readonly dataset: Dataset | null
  readonly facts: DataFacts | null
  readonly images: ImageData | null
  readonly decoder: ImageDecoder | null
  /** The train/validation rows for these settings (held out, or a separate validation file). */
  split(settings: Settings): SplitRows
}

/** One model the session holds, with what its last run left. */
export interface HeldModel {
  readonly family: ModelFamily
  readonly body: Body
  /** As loaded or built (the plan posts copies with its counts). */
  summary: ModelSummary
  card: ModelCard
  /** The weights every run starts from (the pretrained body, or the seeded initialisation). */
  base: WeightMap | null
  /** What the last run (or restore, or import) trained; null before any. */
  tuning: Tuning | null
  /** The validation split the last run was measured on (evaluation, interpolation, sweep). */
  validationSplit: Encoded | null
}

/** What the plan needs of the data for this model, before anything is encoded. */
export interface PlanShape {
  /** Examples the training split will hold (settings are refused when there are too few). */
  trainSize: number
  /** What the task head outputs: classes, one number, or none (language modelling). */
  need: number | 'regression' | null
  /** Label columns, when the data has several (one head each). */
  tasks?: readonly Pick<TaskLabels, 'name' | 'classes'>[]
  /** What one epoch steps over, for the learning-rate preview, when known. */
  trainExamples?: number
}

/** A request to export the held model, with the facts its card records. */
export interface ExportRequest {
  choice: ExportChoice
  alpha: number
  /** The interpolation state of the run (made when first asked: it snapshots the tuned weights). */
  blend(): TunedBlend
  data: DataFacts | null
  metrics: { base: Metrics | null; tuned: Metrics | null; baseName?: string | null }
  /** Validation metrics with α applied (then put back); null without a validation split. */
  measureAt(alpha: number): Promise<Metrics | null>
  onProgress: (done: number, total: number, label: string) => void
}

export interface ModelFamily<H extends HeldModel = HeldModel> {
  /** Recorded with runs and checkpoints (a checkpoint restores into the same family). */
  readonly name: 'text' | 'image' | 'tabular'
  /** Why the model cannot train on the data at all (the plan says this alone), or null. */
  fitProblem(held: H, data: SessionData): string | null
  /** The settings a run really uses (the tabular MLP trains every layer whatever is chosen). */
  runSettings(settings: Settings, held?: H): Settings
  /** The size and targets of the training split, for the plan. */
  planShape(held: H, settings: Settings, data: SessionData): PlanShape
  /** What the settings check needs beyond blocks, width and rows (context length, limits). */
  checkContext(held: H): Pick<ValidationContext, 'maxSeqLen' | 'limits'>
  /** Refusals only this family knows, named for their control. */
  extraProblems(held: H, settings: Settings, data: SessionData): { field: string; message: string }[]
  /** Called before each run's Tuning is built (e.g. which base kernels stay frozen). */
  beforeRun?(held: H, settings: Settings): void
  /** Called once a run's Tuning is built, before it trains: the head may start from weights
   *  the model came with (a sequence classifier's own, families/hfSeqCls.ts). Returns the sets
   *  the run trains on (a family may re-express regression targets for that head). */
  startRun?(held: H, tuning: Tuning, data: { train: Encoded; val: Encoded }): { train: Encoded; val: Encoded }
  /** Called after the session assigns the body's weights itself (a run's reset to the base
   *  weights, interpolation) and before it reads them: copies the family keeps of its weights
   *  (a Hugging Face model's tables split for a WebGPU binding) are brought up to date. */
  syncWeights?(held: H): Promise<void>
  /** The layer table with these blocks training. */
  describe(held: H, trainable: Set<number>): LayerSummary[]
  /** The data's train/validation split, encoded for this model. */
  encode(held: H, settings: Settings, data: SessionData): { train: Encoded; val: Encoded }
  /** What "examples" are for this model, in the words of an empty split. */
  readonly examples: string
  /** A line to beat measured before the body changes (the LM scoring class names), or null;
   *  `split` (a run on two workers) may halve its passes' rows (train/inferencePasses.ts). */
  zeroShot(held: H, val: Encoded, progress: (label: string) => void, split?: PassSplit | null): Promise<{ metrics: Metrics; note?: string } | null>
  /** Words added to the end-of-run message (how images were augmented), or ''. */
  endNote(settings: Settings): string
  /** Playground answers for one input, before and after fine-tuning. */
  predict(held: H, requestId: string, input: PlaygroundInput, answer: (a: PlaygroundAnswer) => void): Promise<void>
  /** Streams generated text before and after, for language models; absent elsewhere. */
  generate?(held: H, request: { requestId: string; prompt: string; maxTokens: number; temperature: number; topK: number; seed: number; chat?: PlaygroundChat }, answer: (a: PlaygroundAnswer) => void, shouldStop: () => boolean): Promise<void>
  /** The fine-tuned model as a .zip. */
  export(held: H, request: ExportRequest): Promise<{ fileName: string; bytes: Uint8Array }>
  /** The task a tuning pack (adapter-only file) records for this model's runs; null: this
   *  family does not take tuning packs. */
  packTask(held: H): TuningJson['task'] | null
  /** Validation "data" that only names an imported head's classes, so the playground can
   *  label them when no dataset is loaded to measure on; null where that is not needed. */
  classesOnly(held: H, classes: string[]): Encoded | null
  /** A causal LM's tokenizer and chat format for instruction and preference tuning
   *  (session/lmObjectives.ts); absent or null where the model is no causal LM. */
  chatLm?(held: H): ChatLm | null
  /** The LM objectives' chat playground: the base and the tuned model's answers. */
  chat?(held: H, request: ChatRequest): Promise<ChatAnswer>
}

/** One turn of the LM objectives' chat. raw: prompt/completion data, the last user message is
 *  the prompt itself, continued as training rows were. */
export interface ChatRequest {
  messages: LmChatMessage[]
  maxTokens: number
  raw: boolean
}

export interface ChatAnswer {
  /** The text the model was given (the rendered chat, or the raw prompt). */
  prompt: string
  base: string
  /** Null before any SFT or DPO run. */
  tuned: string | null
}

/** The class names a classification split is labelled with; null for other tasks. */
export function classesOf(val: Encoded): string[] | null {
  return 'classes' in val && Array.isArray(val.classes) ? val.classes : null
}
