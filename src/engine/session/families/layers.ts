/** A loaded TensorFlow.js layers model (LayersBody): an image model with a fixed square input
 *  fine-tunes with a new head (and its last blocks); any other one, such as a studio tabular
 *  export loaded back, is tried in the playground as it was saved. Also the loader's side of
 *  reading any model by URL or chosen files. */
import * as tf from '@tensorflow/tfjs'
import { dataFitProblem } from '../../models/dataFit'
import { FILES_BASE, filesFetch } from '../../models/filesFetch'
import { defaultMemoryBudget, mb } from '../../models/layersLoader'
import type { LayersBody } from '../../models/layersBody'
import { loadAnyModel, type AnyLoaded } from '../../models/loadAnyModel'
import { fileName } from '../../models/modelLoadError'
import { softmax } from '../../infer/sampling'
import { layersRunZip } from '../../export/layersExport'
import { modelLimits } from '../../models/limits'
import type { ModelCache } from '../../storage/modelCache'
import { snapshotWeights } from '../../tuning/interpolate'
import type { ModelSummary } from '../../types/model'
import type { PlaygroundAnswer } from '../../types/playground'
import { classesOf, type DataFacts, type HeldModel, type ModelFamily } from '../family'
import { encodeImages, imagePlanShape, layersPixels, predictPicture } from './image'
import { holdRows, readsRows, rowsFitProblem, type TableFacts } from './layersRows'
import { isTabularTask } from './tabular'

type Progress = (done: number, total: number, label: string) => void

export interface HeldLayers extends HeldModel {
  readonly body: LayersBody
}

/** A loaded layers model as the session holds it; its weights are the base every run starts
 *  from. One that reads rows of numbers (a Keras MLP) is held by layersRows.ts: a table
 *  fine-tunes it. */
export function holdLayers(body: LayersBody, url: string): HeldLayers {
  if (readsRows(body)) return holdRows(body, url)
  return { family: layersFamily as ModelFamily, body, summary: layersSummary(body, url, new Set()), card: {}, base: snapshotWeights(body.params), tuning: null, validationSplit: null }
}

/** Reads any model.json by URL or chosen files (loadAnyModel), reporting progress. */
export async function loadFromSource(
  source: { kind: 'url'; url: string } | { kind: 'files'; files: File[] },
  fetchFn: (url: string) => Promise<Response>,
  cache: ModelCache | null,
  progress: Progress,
): Promise<AnyLoaded> {
  const { url, fetch } = source.kind === 'url' ? { url: source.url, fetch: fetchFn } : (({ url: u, fetchFn: f }) => ({ url: u, fetch: f }))(filesFetch(source.files))
  const name = url.startsWith(FILES_BASE) ? decodeURIComponent(url.slice(FILES_BASE.length)) : url
  progress(0, 1, `Reading ${fileName(name)}`)
  return loadAnyModel(url, {
    fetchFn: fetch,
    cache,
    budgetBytes: defaultMemoryBudget(),
    onProgress: (done, total) => progress(done, Math.max(total, 1), `Downloading the weights of ${fileName(name)}: ${mb(done)} of ${mb(total)}`),
  })
}

export function layersSummary(body: LayersBody, url: string, trainable: Set<number>): ModelSummary {
  const total = body.parameterCount()
  return {
    id: url,
    title: body.meta.title ?? (body.full.name || fileName(url)),
    description: `A TensorFlow.js layers model from ${url.startsWith(FILES_BASE) ? 'chosen files' : url}. The studio cuts it at its feature layer (${body.features.outputs[0]!.shape.length === 2 ? 'pooled' : 'last'} features, width ${body.featureDim}) and trains a new head on top; "freeze" and "full" fine-tune its last blocks too.`,
    pretrained: true,
    layers: body.describeLayers(trainable),
    totalParams: total,
    trainableParams: 0,
    nLayers: body.config.nLayers,
    dModel: body.featureDim,
    seqLen: 0,
    vocabSize: 0,
    input: body.describeInput(),
    limits: modelLimits(body),
  }
}

/** Why the current layers model cannot be fine-tuned on the dataset, or null when it can
 *  (an image model with a fixed square input, on an image dataset; a model reading rows, on a
 *  table with as many feature columns; none loaded yet is fine). */
export function layersFitProblem(cur: { body: LayersBody; summary: ModelSummary }, dataset: (Pick<DataFacts, 'name' | 'task'> & { columns?: readonly string[]; details?: { roles: TableFacts['roles'] } }) | null): string | null {
  const { title } = cur.summary
  // A model reading rows: a table with as many feature columns fine-tunes it (layersRows.ts).
  if (readsRows(cur.body) && dataset) {
    if (isTabularTask(dataset.task) && !dataset.details) return null // the plan checks the columns
    return rowsFitProblem(cur, { name: dataset.name, task: dataset.task, columns: dataset.columns ?? [], roles: dataset.details?.roles ?? { labels: [] } })
  }
  const fit = dataFitProblem({ title, input: cur.summary.input!, hasTokenizer: false }, dataset)
  if (fit) return fit
  const keep = 'The model stays loaded: try it in the playground.'
  if (cur.body.kind !== 'image') return `${title} reads ${cur.summary.input!.description}; only image layers models (input [B, H, W, 3]) can be fine-tuned here. ${keep}`
  const [h, w] = cur.body.inputShape
  if (!(h! > 0 && w! > 0)) return `${title} accepts images of any size; the studio fine-tunes image models at one fixed, square input size. Re-save the model with a fixed input shape (e.g. [224, 224, 3]). ${keep}`
  if (h !== w) return `${title} reads ${w}×${h} images; the studio fine-tunes image models on square inputs only. ${keep}`
  if (dataset && dataset.task !== 'image-classification') return `${title} needs an image dataset (a zip of class folders) to fine-tune; ${dataset.name} is a ${dataset.task} dataset. ${keep}`
  return null
}

/** "Before" for an image: the original model's own classes; there is no tuned image head yet. */
async function predictOriginal(held: HeldLayers, requestId: string, input: { width: number; height: number; rgba: Uint8ClampedArray; name: string }, answer: (a: PlaygroundAnswer) => void): Promise<void> {
  const { width, height, rgba, name } = input
  const { body } = held
  const [h, w, c] = body.inputShape
  // Square RGB models read the picture exactly as training and "after" do (bilinear resize,
  // transparency on white), so the same picture gives the same numbers on either side.
  const same = body.kind === 'image' && h === w && h! > 0 && c === 3
  const out = tf.tidy(() => {
    const x = same ? tf.tensor4d(layersPixels(h!).toInput({ width, height, data: rgba }), [1, h!, h!, 3]) : body.pixelsToInput(rgba, width, height)
    return body.predictOriginal(x).reshape([-1])
  })
  const values = await out.data()
  out.dispose()
  // Softmax outputs already sum to 1; raw logits are turned into probabilities.
  const sum = Array.from(values).reduce((a, b) => a + b, 0)
  const probs = Math.abs(sum - 1) < 1e-3 && Array.from(values).every((v) => v >= 0) ? Array.from(values) : Array.from(softmax(values))
  const named = body.meta.classes?.length === probs.length ? body.meta.classes : null
  const classes = probs.map((prob, i) => ({ name: named?.[i] ?? `class ${i}`, prob }))
  const how = named ? 'named as in its file' : 'numbered as in its training labels'
  answer({ type: 'prediction', requestId, which: 'before', classes, note: `${name}: the loaded model's own ${classes.length} classes (${how})` })
  answer({ type: 'playground', requestId, message: 'After fine-tuning appears once this model has been fine-tuned on an image dataset.' })
}

export const layersFamily: ModelFamily<HeldLayers> = {
  name: 'image',
  examples: 'images',
  fitProblem: (held, data) => layersFitProblem(held, data.facts),
  runSettings: (s) => s,
  planShape: (_held, settings, data) => imagePlanShape(settings, data),
  checkContext: (held) => ({ limits: modelLimits(held.body) }),
  extraProblems: (held, { method }) =>
    method === 'lora' || method === 'adapter'
      ? [{ field: 'method', message: `${method === 'lora' ? 'LoRA' : 'Adapters'} cannot be added to a loaded TensorFlow.js layers model (${held.summary.title}): its layers run as whole units, with no place to insert low-rank updates or adapter blocks. Choose Head only, Freeze early blocks, Custom or Full.` }]
      : [],
  describe: (held, trainable) => held.body.describeLayers(trainable),
  encode: (held, settings, data) => encodeImages(layersPixels(held.body.inputShape[0]!), settings, data),
  zeroShot: async () => null,
  endNote: () => '',
  async predict(held, requestId, input, answer) {
    // a model that reads rows (a studio tabular export among them) is held by layersRows.ts
    if (input.kind === 'row' || input.kind === 'text') {
      answer({ type: 'playground', requestId, message: `${held.summary.title} reads ${held.summary.input!.description}, not ${input.kind === 'row' ? 'table rows' : 'text'}: choose an image, or load a ${input.kind === 'row' ? 'model that reads rows of numbers' : 'text model'}.` })
      return
    }
    const picture = { width: input.width, height: input.height, data: input.rgba, name: input.name }
    if (held.tuning?.head) return predictPicture(held, layersPixels(held.body.inputShape[0]!), requestId, picture, answer, '')
    return predictOriginal(held, requestId, input, answer)
  },
  /** Its own network (tuned blocks included) plus the new head, as a TensorFlow.js layers
   *  model, at the kept α for 'interpolated'. */
  async export(held, r) {
    const { tuning, validationSplit } = held
    if (r.choice === 'adapter') throw new Error(`${held.summary.title} is a TensorFlow.js layers model: export the merged model (it holds the new head and any tuned blocks).`)
    const classes = validationSplit ? classesOf(validationSplit) : null
    if (!tuning?.head || !classes) throw new Error('Fine-tune the model on an image dataset before exporting it.')
    const blend = r.blend()
    const before = blend.alpha
    if (r.choice === 'interpolated') blend.apply(r.alpha)
    try {
      r.onProgress(0, 1, 'Building a TensorFlow.js layers model')
      const d = r.data
      const title = `${held.summary.title} fine-tuned${d ? ` on ${d.name}` : ''}`
      const card = { title, baseModel: held.summary.id, classes, dataset: d ? { name: d.name, source: d.source, task: d.task, rows: d.rows } : null, settings: tuning.settings, metrics: r.metrics, alpha: r.choice === 'interpolated' ? r.alpha : 1, date: new Date().toISOString() }
      const readme = `# ${title}\n\nA TensorFlow.js layers model: ${held.summary.input?.description ?? 'the original input'}; output: probabilities of ${JSON.stringify(classes)}.\n\n\`\`\`js\nconst model = await tf.loadLayersModel('model.json')\n\`\`\`\n`
      const bytes = await layersRunZip(held.body, tuning.head, classes, card, readme)
      r.onProgress(1, 1, '')
      return { fileName: `${(held.summary.title || 'model').replace(/[^\w.-]+/g, '_')}-finetuned-tfjs.zip`, bytes }
    } finally {
      blend.apply(before)
    }
  },
  packTask: () => null,
  classesOnly: () => null,
}
