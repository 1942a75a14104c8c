/**
 * A person's own TensorFlow.js layers model that reads rows of numbers (a Keras MLP, input
 * [null, F]) fine-tuned on a table: the session trains this model, not the MLP the studio
 * builds for a table's columns (families/index.ts). Its hidden dense layers are the blocks
 * ("Head only", "Freeze early blocks", "Custom" and "Full" choose which train); its own
 * output layer is kept as the head when it fits the table (as many outputs as classes, a
 * sigmoid unit for two classes, one linear unit for a number) and the model as loaded is
 * measured before training: the line to beat when it beats the trivial predictor (the
 * training mean, the majority class), named "<title> as loaded"; otherwise a new head is trained from scratch and the page says why.
 *
 * What it is fed: the table's numeric feature columns in file order, each standardised with
 * the training split's mean and standard deviation (train/encodeNumeric.ts), the same as the
 * studio's own MLP. A studio tabular export loaded back (its file names its columns, and its
 * first layer undoes the standardisation) is fed the raw values its file says it reads.
 * Export writes the same network back (engine/export/layersRowsExport.ts).
 */
import * as tf from '@tensorflow/tfjs'
import { standardizeFeatures, type Standardizer } from '../../data/numericEncode'
import { parseRow } from '../../data/rowInput'
import { rowsModelZip, type OwnOutput } from '../../export/layersRowsExport'
import type { LayersBody } from '../../models/layersBody'
import { FILES_BASE } from '../../models/filesFetch'
import { modelLimits } from '../../models/limits'
import { fileName } from '../../models/modelLoadError'
import { encodeTabular } from '../../train/encodeNumeric'
import { headNeedOf, type Encoded, type TabularEncoded } from '../../train/encoded'
import { Tuning } from '../../train/fineTune'
import type { Head } from '../../tuning/heads'
import { disposeWeights, resetWeights, snapshotWeights } from '../../tuning/interpolate'
import type { LayerSummary, ModelInput, ModelSummary, TaskKind } from '../../types/model'
import type { PlaygroundAnswer } from '../../types/playground'
import type { HeldModel, ModelFamily, SessionData } from '../family'
import { isTabularTask } from './tabular'
import { typedRow } from './typedRow'

/** The model's own output layer: one Dense after the feature layer (a Dropout or an
 *  Activation/Softmax after it allowed), its weights as loaded. */
export type OwnHead = OwnOutput

/** Whether the run keeps the model's own output layer as its head, and why in words. */
export type HeadChoice = { keep: true; why: string } | { keep: false; why: string }

export interface HeldRows extends HeldModel {
  readonly body: LayersBody
  /** Its output layer, when it is one that can be kept as a head; null otherwise. */
  readonly own: OwnHead | null
  /** Why there is no usable output layer (when `own` is null). */
  readonly ownWhy: string
  /** The loaded summary, before the data adds what the model is fed. */
  readonly loadedSummary: ModelSummary
  /** What the data of the last plan or encode asks of the head (kept or new). */
  headChoice: HeadChoice | null
}

/** Whether a layers model reads rows of numbers: one input of fixed width, not token ids. */
export function readsRows(body: LayersBody): boolean {
  if (body.kind === 'image' || body.inputShape.length !== 1 || !(body.inputShape[0]! > 0)) return false
  const first = body.full.layers.find((l) => l.getClassName() !== 'InputLayer')
  return first?.getClassName() !== 'Embedding'
}

/** The width of a row the model reads. */
export const rowWidth = (body: LayersBody): number => body.inputShape[0]!

/** A studio tabular export loaded back: its file names the columns it reads, as raw values. */
const readsRawValues = (body: LayersBody): boolean => !!body.meta.features && body.meta.features.length === rowWidth(body)

/** The layers after the feature layer, as one keepable output layer, or why not. */
export function ownHeadOf(body: LayersBody): { own: OwnHead | null; why: string } {
  if (body.features === body.full) return { own: null, why: 'it has no output layer after its last hidden layer' }
  const inBody = new Set(body.features.layers.map((l) => l.name))
  const tail = body.full.layers.filter((l) => !inBody.has(l.name) && l.getClassName() !== 'InputLayer')
  const dense = tail[0]
  const names = tail.map((l) => `${l.name} (${l.getClassName()})`).join(', ')
  if (!dense || dense.getClassName() !== 'Dense' || tail.filter((l) => l.getClassName() === 'Dense').length !== 1 || body.full.outputs.length !== 1) {
    return { own: null, why: `its output layers (${names}) are not one dense layer` }
  }
  const config = dense.getConfig() as { activation?: string; useBias?: boolean; units?: number }
  let activation = config.activation ?? 'linear'
  for (const l of tail.slice(1)) {
    const cls = l.getClassName()
    if (cls === 'Dropout') continue
    const act = cls === 'Softmax' ? 'softmax' : cls === 'Activation' ? String((l.getConfig() as { activation?: string }).activation) : null
    if (!act || (act !== 'linear' && activation !== 'linear')) return { own: null, why: `its output layers (${names}) are not one dense layer with a softmax, sigmoid or linear output` }
    if (act !== 'linear') activation = act
  }
  if (activation !== 'softmax' && activation !== 'sigmoid' && activation !== 'linear') return { own: null, why: `its output layer ${dense.name} ends in ${activation}, not softmax, sigmoid or a linear output` }
  if (config.useBias === false) return { own: null, why: `its output layer ${dense.name} has no bias` }
  const [k, b] = dense.getWeights()
  if (!k || !b || k.shape.length !== 2) return { own: null, why: `its output layer ${dense.name} has no kernel and bias` }
  return {
    own: { layer: dense.name, units: k.shape[1]!, activation, inDim: k.shape[0]!, kernel: Float32Array.from(k.dataSync()), bias: Float32Array.from(b.dataSync()) },
    why: '',
  }
}

/** A loaded layers model that reads rows, as the session holds it; its weights are the base
 *  every run starts from. */
export function holdRows(body: LayersBody, url: string): HeldRows {
  const { own, why } = ownHeadOf(body)
  const summary = rowsSummary(body, url, own, why)
  return { family: rowsFamily as ModelFamily, body, own, ownWhy: why, loadedSummary: summary, headChoice: null, summary, card: {}, base: snapshotWeights(body.params), tuning: null, validationSplit: null }
}

const outputWords = (own: OwnHead): string => (own.activation === 'softmax' ? `${own.units} class probabilities (softmax)` : own.activation === 'sigmoid' ? `${own.units === 1 ? 'one probability' : `${own.units} probabilities`} (sigmoid)` : `${own.units} raw value${own.units === 1 ? '' : 's'} (linear)`)

function rowsSummary(body: LayersBody, url: string, own: OwnHead | null, ownWhy: string): ModelSummary {
  const n = rowWidth(body)
  const from = url.startsWith(FILES_BASE) ? 'chosen files' : url
  const head = own ? `Its output layer ${own.layer} gives ${outputWords(own)}: it is kept as the head when the table's classes (or its number) fit it, and a new head is trained from scratch when they do not.` : `A new head is trained from scratch, since ${ownWhy}.`
  const fed = readsRawValues(body)
    ? `The studio feeds it the raw values of the columns its file names (${body.meta.features!.join(', ')}), as its export reads them.`
    : `The studio feeds it the table's numeric feature columns in file order, each standardised with the training split's mean and standard deviation — not your own preprocessing, so its score before training shows how well it reads them.`
  return {
    id: url,
    title: body.meta.title ?? (body.full.name || fileName(url)),
    description: `Your TensorFlow.js layers model from ${from}; it reads rows of ${n} numbers, and a table with ${n} numeric feature columns fine-tunes it (not the studio's own MLP). ${fed} Its hidden layers are the blocks the method freezes or trains. ${head}`,
    pretrained: true,
    card: {},
    layers: body.describeLayers(new Set()),
    totalParams: body.parameterCount(),
    trainableParams: 0,
    nLayers: body.config.nLayers,
    dModel: body.featureDim,
    seqLen: 0,
    vocabSize: 0,
    input: body.describeInput(),
    limits: modelLimits(body),
  }
}

/** What the model is fed from this table, for the page. */
function inputFor(held: HeldRows, data: SessionData): ModelInput {
  const d = data.dataset!
  const n = rowWidth(held.body)
  const cols = d.roles.features
  if (readsRawValues(held.body)) return { ...held.loadedSummary.input!, kind: 'tabular' }
  return { kind: 'tabular', shape: `[B, ${n}]`, description: `${n} numbers per row, fed by the studio: ${d.name}'s numeric feature columns in file order (${cols.join(', ')}), each standardised with the training split's mean and standard deviation`, features: [...cols] }
}

const list = (xs: readonly string[]) => xs.join(', ')

/** The facts of a table the fit check reads (the session's Dataset, or the page's summary). */
export interface TableFacts {
  name: string
  task: string
  columns: readonly string[]
  roles: { text?: string; labels: readonly string[]; features?: readonly string[]; target?: string }
}

/** The session's data as TableFacts (null without a dataset). */
export function tableFacts(data: SessionData): TableFacts | null {
  const d = data.dataset
  const facts = data.facts
  if (!facts) return null
  return { name: facts.name, task: facts.task, columns: d?.columns ?? [], roles: d?.roles ?? { labels: [], features: [] } }
}

/** Why the model cannot train on this table at all (the run is refused, the page stays), or null. */
export function rowsFitProblem(held: { body: LayersBody; summary: Pick<ModelSummary, 'title'> }, table: TableFacts | null): string | null {
  if (!table) return null
  const { title } = held.summary
  const n = rowWidth(held.body)
  const keep = 'The model stays loaded.'
  const named = held.body.meta.features
  const reads = readsRawValues(held.body) ? `rows of ${n} raw numbers: ${list(named!)}` : `rows of ${n} numbers`
  if (!isTabularTask(table.task as TaskKind)) return `${title} reads ${reads}, and ${table.name} is a ${table.task} dataset: load a table (CSV) with ${n} numeric feature columns and a label or numeric target to fine-tune it. ${keep} Try it in the playground.`
  const cols = table.roles.features ?? []
  if (readsRawValues(held.body) && named && list(named) !== list(cols)) {
    return `${title} reads the columns ${list(named)} (in this order, as its file names them), and ${table.name}'s feature columns are ${list(cols) || 'none'}. Choose those columns as features in the dataset panel (step 1), or load the table it was trained on. ${keep}`
  }
  if (cols.length === n) return null
  const { roles } = table
  const used = new Set([...roles.labels, ...cols, ...(roles.target ? [roles.target] : []), ...(roles.text ? [roles.text] : [])])
  const unused = table.columns.filter((c) => !used.has(c))
  const fed = `The studio feeds a model the numeric columns chosen as features, in file order, each standardised: ${table.name} has ${cols.length} (${list(cols) || 'none'}).`
  const notFed = unused.length ? ` Not fed: ${list(unused)} (columns not chosen as features, or not numbers: the studio does not one-hot encode categories).` : ''
  const todo =
    cols.length > n
      ? `Untick ${cols.length - n} of the feature columns in the dataset panel (step 1) so that the ${n} your model was trained on remain`
      : `Tick ${n - cols.length} more numeric column${n - cols.length === 1 ? '' : 's'} as features in the dataset panel (step 1)${unused.length ? '' : ', or add them to the table'}`
  return `${title} reads rows of ${n} numbers, but ${table.name} gives it ${cols.length} feature column${cols.length === 1 ? '' : 's'}. ${fed}${notFed} ${todo}, or load a model whose input is [null, ${cols.length}]. ${keep}`
}

/** Whether the run keeps the model's output layer as its head on this data. */
export function headFit(held: Pick<HeldRows, 'own' | 'ownWhy' | 'body'>, data: SessionData): HeadChoice {
  const d = data.dataset
  const own = held.own
  if (!d) return { keep: false, why: 'no table is loaded' }
  if (!own) return { keep: false, why: `A new head is trained from scratch: ${held.ownWhy}.` }
  const label = d.roles.labels[0]
  if (!label) {
    return own.units === 1 && own.activation === 'linear'
      ? { keep: true, why: `Its output layer ${own.layer} (one linear unit) is kept as the head predicting ${d.roles.target}; its RMSE before training is the line to beat when lower than that of always predicting the training mean.` }
      : { keep: false, why: `Its output layer ${own.layer} gives ${outputWords(own)}, and ${d.name} has a number to predict (${d.roles.target}): a new head with one output is trained from scratch.` }
  }
  const classes = (d.classes[label] ?? []).map((c) => c.label)
  const c = classes.length
  const named = held.body.meta.classes
  if (named && named.length === own.units && list(named) !== list(classes)) {
    return { keep: false, why: `Its output layer ${own.layer} names its classes ${list(named)}, and ${d.name}'s ${label} has ${list(classes)}: a new head of ${c} outputs is trained from scratch.` }
  }
  const order = `output i read as the i-th of ${label}'s classes in sorted order (${list(classes)})`
  if (own.activation !== 'linear' || own.units > 1) {
    if (own.units === c && own.activation !== 'sigmoid') return { keep: true, why: `Its output layer ${own.layer} (${outputWords(own)}) is kept as the head, ${order}; its score before training is the line to beat when better than always answering the majority class.` }
    if (own.units === 1 && own.activation === 'sigmoid' && c === 2) return { keep: true, why: `Its output layer ${own.layer} (one sigmoid unit) is kept as the head: its output is the probability of ${classes[1]} (the second of ${list(classes)} in sorted order); its score before training is the line to beat when better than always answering the majority class.` }
  }
  return { keep: false, why: `Its output layer ${own.layer} gives ${outputWords(own)}, and ${d.name}'s ${label} has ${c} classes (${list(classes)}): a new head of ${c} outputs is trained from scratch.` }
}

/**
 * The model's own output layer as the studio's head (which outputs logits, or for a number
 * standardised values): softmax and linear outputs as they are; a sigmoid unit σ(z) as the
 * two logits [0, z]; a linear unit y as (y − mean) / std.
 */
export function assignOwnHead(head: Head, own: OwnHead, scale: { mean: number; std: number } | null): void {
  const kernel = head.params.find((p) => p.name.endsWith('.kernel') && !p.name.includes('.pre.'))
  const bias = head.params.find((p) => p.name.endsWith('.bias') && !p.name.includes('.pre.'))
  if (!kernel || !bias) throw new Error(`The head has no kernel and bias to start from ${own.layer}.`)
  const d = own.inDim
  let k = own.kernel
  let b = own.bias
  if (own.activation === 'sigmoid' && own.units === 1) {
    k = new Float32Array(d * 2)
    for (let i = 0; i < d; i++) k[i * 2 + 1] = own.kernel[i]!
    b = Float32Array.from([0, own.bias[0]!])
  } else if (scale) {
    k = own.kernel.map((w) => w / scale.std)
    b = own.bias.map((x) => (x - scale.mean) / scale.std)
  }
  if (k.length !== kernel.variable.size || b.length !== bias.variable.size) throw new Error(`${own.layer} has ${k.length} + ${b.length} weights, the head ${kernel.variable.size} + ${bias.variable.size}.`)
  tf.tidy(() => {
    kernel.variable.assign(tf.tensor(k, kernel.variable.shape))
    bias.variable.assign(tf.tensor(b, bias.variable.shape))
  })
}

/** Runs whose head started from the model's own output layer (export writes it back there). */
const keptHeads = new WeakSet<Tuning>()

/** Whether `tuning`'s head is the model's own output layer, tuned: marked so by the run, or
 *  (a restored or resumed run, whose head came from a checkpoint) the data keeps that layer
 *  and the head has its outputs. */
export function keepsOwnHead(held: Pick<HeldRows, 'own' | 'headChoice'>, tuning: Tuning | null): boolean {
  if (!tuning?.head || !held.own) return false
  if (keptHeads.has(tuning)) return true
  const outputs = held.own.activation === 'sigmoid' && held.own.units === 1 ? 2 : held.own.units
  return held.headChoice?.keep === true && tuning.head.outputDim === outputs
}

/** The regression target's scale of a set (for a kept linear head), or null. */
const scaleOf = (set: Encoded): { mean: number; std: number } | null => (set.kind === 'tabular' && set.scale ? set.scale : null)

/** The table's split, encoded as this model reads it: standardised features, or raw values
 *  for a studio export that names its columns. */
export function encodeRows(held: HeldRows, split: ReturnType<SessionData['split']>): { train: TabularEncoded; val: TabularEncoded } {
  const sets = encodeTabular(split)
  if (!readsRawValues(held.body)) return sets
  const cols = sets.train.columns
  const raw: Standardizer = { columns: [...cols], mean: new Float64Array(cols.length), std: new Float64Array(cols.length).fill(1) }
  return {
    train: { ...sets.train, features: standardizeFeatures(split.train, raw, split.trainIdx), standardizer: raw },
    val: { ...sets.val, features: standardizeFeatures(split.validation, raw, split.validationIdx), standardizer: raw },
  }
}

/** The layer table: the kept output layer trains as the head whatever the method. */
function describeRows(held: HeldRows, trainable: Set<number>): LayerSummary[] {
  const rows = held.body.describeLayers(trainable)
  const choice = held.headChoice
  if (!held.own || !choice) return rows
  return rows.map((r) => (r.name === held.own!.layer ? { ...r, type: choice.keep ? 'Dense (its own output layer: kept as the head, trains with every method)' : 'Dense (its own output layer: replaced by a new head)', trainable: choice.keep } : r))
}

/** Playground: one typed row through the model as loaded ("before": base weights, its own
 *  output layer or the new head as initialised) and as tuned ("after"). */
async function predictRows(held: HeldRows, requestId: string, values: Record<string, string>, answer: (a: PlaygroundAnswer) => void): Promise<void> {
  const { body, tuning, validationSplit: val, base } = held
  if (!tuning?.head || val?.kind !== 'tabular' || !base) {
    if (readsRawValues(body)) return predictAsSaved(held, requestId, values, answer)
    answer({ type: 'playground', requestId, message: `Train ${held.summary.title} on a table with ${rowWidth(body)} numeric feature columns first; then type a row to compare it before and after fine-tuning.` })
    return
  }
  const row = typedRow(body, val, values, requestId, answer)
  if (!row) return
  const kept = keepsOwnHead(held, tuning)
  const trained = snapshotWeights(body.params)
  const fresh = new Tuning(body, tuning.settings, headNeedOf(val))
  try {
    if (kept) assignOwnHead(fresh.head!, held.own!, scaleOf(val))
    resetWeights(body, base)
    row.send('before', await row.outputOf(fresh), kept ? `${held.summary.title} as loaded (its own output layer ${held.own!.layer})` : `${held.summary.title} as loaded, with the new head untrained`)
  } finally {
    resetWeights(body, trained)
    disposeWeights(trained)
    fresh.dispose()
  }
  row.send('after', await row.outputOf(tuning), `after fine-tuning (${tuning.settings.method})`)
}

/** A studio tabular export loaded back, before any run: raw values in, as its file describes them. */
async function predictAsSaved(held: HeldRows, requestId: string, values: Record<string, string>, answer: (a: PlaygroundAnswer) => void): Promise<void> {
  const { summary, body } = held
  const features = body.meta.features!
  const row = parseRow(features, values)
  if (!row.ok) {
    answer({ type: 'playground', requestId, message: row.message })
    return
  }
  const out = tf.tidy(() => (body.full.predict(tf.tensor2d(row.x, [1, features.length])) as tf.Tensor).reshape([-1]))
  const outputs = Array.from(await out.data())
  out.dispose()
  const { target, classes: names } = body.meta
  const note = `${summary.title} as loaded from its file`
  if (target) answer({ type: 'prediction', requestId, which: 'before', classes: [], value: { name: target, value: outputs[0] ?? NaN }, note })
  else answer({ type: 'prediction', requestId, which: 'before', classes: outputs.map((prob, i) => ({ name: names?.[i] ?? `class ${i}`, prob })), note })
  answer({ type: 'playground', requestId, message: 'This is the exported model as it was saved. To fine-tune it again, load a table with the columns it names.' })
}

export const rowsFamily: ModelFamily<HeldRows> = {
  name: 'tabular',
  examples: 'rows',
  fitProblem: (held, data) => rowsFitProblem(held, tableFacts(data)),
  runSettings: (s) => s,
  planShape(held, settings, data) {
    const d = data.dataset
    const rows = data.facts?.rows ?? 0
    let trainSize = rows - Math.round(rows * settings.valSplit)
    try {
      trainSize = data.split(settings).trainIdx.length
    } catch {
      // no split yet (its own message reaches the page elsewhere)
    }
    if (d && isTabularTask(data.facts?.task)) {
      // the page shows what this table feeds the model and which head trains
      held.headChoice = headFit(held, data)
      held.summary = { ...held.summary, input: inputFor(held, data), description: `${held.loadedSummary.description} On ${d.name}: ${held.headChoice.why}` }
    } else {
      held.headChoice = null
      held.summary = { ...held.loadedSummary }
    }
    const label = d?.roles.labels[0]
    return { trainSize, need: !d ? null : label ? Math.max(2, d.classes[label]?.length ?? 2) : 'regression', trainExamples: trainSize }
  },
  checkContext: (held) => ({ limits: modelLimits(held.body) }),
  extraProblems: (held, { method }) =>
    method === 'lora' || method === 'adapter'
      ? [{ field: 'method', message: `${method === 'lora' ? 'LoRA' : 'Adapters'} cannot be added to a loaded TensorFlow.js layers model (${held.summary.title}): its layers run as whole units, with no place to insert low-rank updates or adapter blocks. Choose Head only, Freeze early blocks, Custom or Full.` }]
      : [],
  describe: describeRows,
  encode(held, settings, data) {
    held.headChoice = headFit(held, data)
    return encodeRows(held, data.split(settings))
  },
  startRun(held, tuning, data) {
    if (!held.headChoice?.keep || !held.own || !tuning.head) return data
    assignOwnHead(tuning.head, held.own, scaleOf(data.train))
    keptHeads.add(tuning)
    tuning.head.origin = `${held.summary.title}'s own output layer ${held.own.layer}`
    tuning.head.baseName = `${held.summary.title} as loaded`
    return data
  },
  zeroShot: async () => null, // the kept output layer is measured as the run's "untrained" head
  endNote: () => '',
  async predict(held, requestId, input, answer) {
    if (input.kind === 'row') return predictRows(held, requestId, input.values, answer)
    answer({ type: 'playground', requestId, message: `${held.summary.title} reads rows of ${rowWidth(held.body)} numbers: type a row of the table.` })
  },
  /** The same network with the tuned weights (its own output layer written back, or the new
   *  head as a Dense layer), at the kept α for 'interpolated'. */
  async export(held, r) {
    const { tuning, validationSplit: val } = held
    if (r.choice === 'adapter') throw new Error(`${held.summary.title} is a TensorFlow.js layers model: export the merged model (it holds every tuned layer and the head).`)
    if (!tuning?.head || val?.kind !== 'tabular') throw new Error(`Fine-tune ${held.summary.title} on a table before exporting it.`)
    const blend = r.blend()
    const before = blend.alpha
    if (r.choice === 'interpolated') blend.apply(r.alpha)
    try {
      r.onProgress(0, 1, 'Building a TensorFlow.js layers model')
      const d = r.data
      const title = `${held.summary.title} fine-tuned${d ? ` on ${d.name}` : ''}`
      const card = { title, baseModel: held.summary.id, dataset: d ? { name: d.name, source: d.source, task: d.task, rows: d.rows } : null, settings: tuning.settings, metrics: r.metrics, alpha: r.choice === 'interpolated' ? r.alpha : 1, date: new Date().toISOString() }
      const bytes = await rowsModelZip({ body: held.body, head: tuning.head, own: keepsOwnHead(held, tuning) ? held.own : null, val, card })
      r.onProgress(1, 1, '')
      return { fileName: `${(held.summary.title || 'model').replace(/[^\w.-]+/g, '_')}-finetuned-tfjs.zip`, bytes }
    } finally {
      blend.apply(before)
    }
  },
  packTask: () => null,
  classesOnly: () => null,
}
