/** The built-in language model (TinyGpt) with its tokenizer: reads text datasets (classes,
 *  several label columns, a number, or plain text to model), scores class names zero-shot
 *  as a line to beat, answers text and generates in the playground, exports in the studio's
 *  TinyGpt format. */
import type { Dataset } from '../../data/dataset'
import { datasetTexts, encodeClassification, encodeLanguageModel, type TokenizerLike } from '../../data/textBatches'
import { describeLayers } from '../../models/layerTable'
import { textModelFitProblem } from '../../models/dataFit'
import { modelLimits } from '../../models/limits'
import { serializeTinyGpt, type LoadedTinyGpt } from '../../models/modelFile'
import type { TinyGpt } from '../../models/tinyGpt'
import { encodeTextRegression } from '../../train/encodeNumeric'
import type { Encoded } from '../../train/encoded'
import { tasksOf } from '../../train/multitaskData'
import { zeroShotClassify } from '../../train/zeroShot'
import { snapshotWeights } from '../../tuning/interpolate'
import type { ModelSummary, TaskKind } from '../../types/model'
import type { Settings } from '../../../settings/types'
import { studioZip } from './studioZip'
import type { HeldModel, ModelFamily, PlanShape, SessionData } from '../family'
import { generate, predictText, type PlaygroundSession } from './textPlayground'
import { textChat } from './textChat'
import { fineTunedFromCard } from '../../export/modelCard'
import { tinyLmChatFormat } from '../../tasks/sft/data'

export interface HeldText extends HeldModel {
  readonly body: TinyGpt
  readonly tokenizer: LoadedTinyGpt['tokenizer']
}

/** `loaded` as the session holds it; its weights become the base every run starts from. */
export function holdText(loaded: LoadedTinyGpt, id: string): HeldText {
  const { model, card } = loaded
  const { config } = model
  const from = fineTunedFromCard(card) // a studio export's card says it is fine-tuned, from which base
  const summary: ModelSummary = {
    id,
    title: String(card.title ?? card.name ?? 'TinyGpt model'),
    ...(from ? { finetunedFrom: from } : {}),
    description: String(card.description ?? card.intendedUse ?? ''),
    pretrained: true,
    card,
    layers: describeLayers(model, new Set(Array.from({ length: config.nLayers + 2 }, (_, i) => i - 1))),
    totalParams: model.parameterCount(),
    trainableParams: model.parameterCount(),
    nLayers: config.nLayers,
    dModel: config.dModel,
    seqLen: config.seqLen,
    vocabSize: config.vocabSize,
    limits: modelLimits(model),
  }
  return { family: textFamily as ModelFamily, body: model, tokenizer: loaded.tokenizer, summary, card, base: snapshotWeights(model.params), tuning: null, validationSplit: null }
}

/** The playground's view of the text model and its last run. */
function playground(held: HeldText): PlaygroundSession {
  const val = held.validationSplit
  const classes = val?.kind === 'classification' ? val.classes : null
  const scale = val?.kind === 'regression' ? val.scale : null
  return { model: held.body, tokenizer: held.tokenizer, base: held.base, tuning: held.tuning, classes, scale, seqLen: held.tuning?.settings.seqLen ?? held.body.config.seqLen }
}

const lmWindows = new WeakMap<Dataset, Map<string, number>>() // token windows per (rows, length, tokenizer)

/** Examples one epoch steps over, as the run will encode them: the training split's rows, or
 *  token windows for language modelling (the page's learning-rate preview counts from it). */
function trainExamples(held: HeldText, settings: Settings, data: SessionData): number | undefined {
  if (!data.dataset || !data.facts) return undefined
  try {
    const split = data.split(settings)
    if (data.facts.task !== 'language-modelling') return split.trainIdx.length
    const seqLen = Math.min(settings.seqLen, held.body.config.seqLen)
    const key = `${held.summary.id}|${seqLen}|${split.trainIdx.length}|${split.trainIdx.reduce((a, i) => (a * 31 + i) % 1_000_000_007, 0)}`
    const known = lmWindows.get(split.train) ?? new Map<string, number>()
    lmWindows.set(split.train, known)
    let n = known.get(key)
    if (n === undefined) {
      n = encodeLanguageModel(datasetTexts(split.train, split.trainIdx), held.tokenizer, seqLen).n
      known.set(key, n)
    }
    return n
  } catch {
    return undefined // no split yet (the split's own message reaches the page elsewhere)
  }
}

/** The plan of a text model: rows left for training (all of them for language modelling,
 *  whose examples are token windows) and what the head outputs. */
export function textPlanShape(settings: Settings, data: SessionData, unknownTask: TaskKind): PlanShape {
  const task = data.facts?.task ?? unknownTask
  const n = data.facts?.rows ?? 0
  return {
    trainSize: task === 'language-modelling' ? Number.MAX_SAFE_INTEGER : n - Math.round(n * settings.valSplit),
    need: task === 'text-classification' ? Math.max(2, data.facts?.classes.length ?? 2) : task === 'text-regression' ? 'regression' : null,
    ...(data.dataset ? { tasks: tasksOf(data.dataset, {}) } : {}),
  }
}

/** A text dataset's train/validation split as `tok` reads it, at most `maxSeqLen` tokens:
 *  token windows for language modelling, a number, or classes (one head per label column). */
export function encodeText(tok: TokenizerLike, maxSeqLen: number, settings: Settings, data: SessionData): { train: Encoded; val: Encoded } {
  const d = data.dataset
  if (!d) throw new Error('Load a dataset and a model before training.')
  const seqLen = Math.min(settings.seqLen, maxSeqLen)
  const split = data.split(settings) // held out from the dataset, or the separate validation file
  const task = data.facts?.task
  if (task === 'language-modelling') {
    const enc = (ds: Dataset, idx: number[]): Encoded => {
      const b = encodeLanguageModel(datasetTexts(ds, idx), tok, seqLen)
      return { kind: 'lm', n: b.n, seqLen, tokens: b.blocks }
    }
    return { train: enc(split.train, split.trainIdx), val: enc(split.validation, split.validationIdx) }
  }
  if (task === 'text-regression') return encodeTextRegression(split, tok, seqLen)
  const classes = (d.classes[d.roles.labels[0] ?? ''] ?? []).map((c) => c.label)
  const enc = (ds: Dataset, idx: number[]): Encoded => {
    const a = encodeClassification(ds, tok, { seqLen, indices: idx })
    const tasks = tasksOf(d, a.labelsByColumn) // several label columns: one head each
    return { kind: 'classification', n: a.n, seqLen, tokens: a.ids, mask: a.mask, labels: a.labels, classes, ...(tasks.length ? { tasks } : {}) }
  }
  return { train: enc(split.train, split.trainIdx), val: enc(split.validation, split.validationIdx) }
}

export const textFamily: ModelFamily<HeldText> = {
  name: 'text',
  examples: 'examples',
  fitProblem: (held, data) => textModelFitProblem(held.summary.title, data.facts),
  runSettings: (s) => s,
  planShape(held, settings, data) {
    const examples = trainExamples(held, settings, data)
    return { ...textPlanShape(settings, data, 'text-classification'), ...(examples === undefined ? {} : { trainExamples: examples }) }
  },
  checkContext: (held) => ({ maxSeqLen: held.body.config.seqLen, limits: modelLimits(held.body) }),
  extraProblems: () => [],
  describe: (held, trainable) => describeLayers(held.body, trainable),
  encode: (held, settings, data) => encodeText(held.tokenizer, held.body.config.seqLen, settings, data),
  async zeroShot(held, val, progress, split) {
    // What the pretrained LM does with no training: scored before the body changes.
    progress('Scoring each class name with the pretrained LM (zero-shot baseline)')
    if (val.kind !== 'classification' || val.tasks) return null
    const zs = await zeroShotClassify(held.body, held.tokenizer, val, split ? { split } : {})
    // It reads as many text tokens as the model trains on, unless the prompt needs the room.
    return { metrics: zs.metrics, ...(zs.textTokens < val.seqLen ? { note: `reads the first ${zs.textTokens} of the ${val.seqLen} tokens the fine-tuned model reads` } : {}) }
  },
  endNote: () => '',
  async predict(held, requestId, input, answer) {
    if (input.kind === 'text') return predictText(playground(held), requestId, input.text, answer)
    if (input.kind === 'image') answer({ type: 'playground', requestId, message: `${input.name}: the loaded model reads text, not images. Load an image model to try images.` })
    else answer({ type: 'playground', requestId, message: 'Train the tabular model first; then type a row to compare the untrained model (before) with the trained one (after).' })
  },
  generate: (held, request, answer, shouldStop) => generate(playground(held), request, answer, shouldStop),
  export: (held, r) => studioZip(held, r, textFamily.packTask(held)!, (card) => serializeTinyGpt(held.body, held.tokenizer, card)),
  packTask: (held) => (held.tuning?.head?.spec.kind === 'regression' ? 'text-regression' : held.tuning?.head ? 'text-classification' : 'language-modelling'),
  classesOnly: () => null,
  chatLm: (held) => {
    const t = held.tokenizer
    const named = new Map<number, string>([[t.padId, '<pad>'], [t.eosId, '<eos>'], ...(t.bosId !== null ? [[t.bosId, '<bos>'] as [number, string]] : [])])
    return { title: held.summary.title, tokenizer: t, chat: tinyLmChatFormat(t), wholeText: false, maxSeqLen: held.body.config.seqLen, specialText: (id) => named.get(id) ?? null }
  },
  chat: textChat,
}
