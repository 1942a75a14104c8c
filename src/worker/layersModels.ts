import * as tf from '@tensorflow/tfjs'
import { dataFitProblem } from '../engine/models/dataFit'
import { FILES_BASE, filesFetch } from '../engine/models/filesFetch'
import { defaultMemoryBudget, mb } from '../engine/models/layersLoader'
import type { LayersBody } from '../engine/models/layersBody'
import { loadAnyModel, type AnyLoaded } from '../engine/models/loadAnyModel'
import { fileName } from '../engine/models/modelLoadError'
import { softmax } from '../engine/infer/sampling'
import { parseRow } from '../engine/data/rowInput'
import { layersImageBody } from './imageBodies'
import { modelLimits } from '../engine/models/limits'
import type { ModelCache } from '../engine/storage/modelCache'
import type { DatasetSummary, FromWorker, ModelSummary, ToWorker } from './protocol'

/** The handler's side of loading any model by URL or chosen files, and of a layers model
 *  being the current one (its summary, whether it fits the data, trying it on an image). */
type Post = (e: FromWorker) => void

export interface CurrentLayers {
  body: LayersBody
  summary: ModelSummary
}

export async function loadFromSource(
  source: { kind: 'url'; url: string } | { kind: 'files'; files: File[] },
  fetchFn: (url: string) => Promise<Response>,
  cache: ModelCache | null,
  post: Post,
): Promise<AnyLoaded> {
  const { url, fetch } = source.kind === 'url' ? { url: source.url, fetch: fetchFn } : (({ url: u, fetchFn: f }) => ({ url: u, fetch: f }))(filesFetch(source.files))
  const name = url.startsWith(FILES_BASE) ? decodeURIComponent(url.slice(FILES_BASE.length)) : url
  post({ type: 'progress', task: 'model', done: 0, total: 1, label: `Reading ${fileName(name)}` })
  return loadAnyModel(url, {
    fetchFn: fetch,
    cache,
    budgetBytes: defaultMemoryBudget(),
    onProgress: (done, total) => post({ type: 'progress', task: 'model', done, total: Math.max(total, 1), label: `Downloading the weights of ${fileName(name)}: ${mb(done)} of ${mb(total)}` }),
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
 *  (an image model with a fixed square input, on an image dataset; none loaded yet is fine). */
export function layersFitProblem(cur: CurrentLayers, dataset: DatasetSummary | null): string | null {
  const { title } = cur.summary
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
export async function predictImage(cur: CurrentLayers, msg: Extract<ToWorker, { type: 'predict' }>, post: Post): Promise<void> {
  if (msg.input.kind !== 'image') {
    post({ type: 'playground', requestId: msg.requestId, message: `${cur.summary.title} reads ${cur.summary.input!.description}, not text: choose an image, or load a text model.` })
    return
  }
  const { width, height, rgba, name } = msg.input
  const [h, w, c] = cur.body.inputShape
  // Square RGB models read the picture exactly as training and "after" do (bilinear resize,
  // transparency on white), so the same picture gives the same numbers on either side.
  const same = cur.body.kind === 'image' && h === w && h! > 0 && c === 3
  const out = tf.tidy(() => {
    const x = same ? tf.tensor4d(layersImageBody(cur).toInput({ width, height, data: rgba }), [1, h!, h!, 3]) : cur.body.pixelsToInput(rgba, width, height)
    return cur.body.predictOriginal(x).reshape([-1])
  })
  const values = await out.data()
  out.dispose()
  // Softmax outputs already sum to 1; raw logits are turned into probabilities.
  const sum = Array.from(values).reduce((a, b) => a + b, 0)
  const probs = Math.abs(sum - 1) < 1e-3 && Array.from(values).every((v) => v >= 0) ? Array.from(values) : Array.from(softmax(values))
  const named = cur.body.meta.classes?.length === probs.length ? cur.body.meta.classes : null
  const classes = probs.map((prob, i) => ({ name: named?.[i] ?? `class ${i}`, prob }))
  const how = named ? 'named as in its file' : 'numbered as in its training labels'
  post({ type: 'prediction', requestId: msg.requestId, which: 'before', classes, note: `${name}: the loaded model's own ${classes.length} classes (${how})` })
  post({ type: 'playground', requestId: msg.requestId, message: 'After fine-tuning appears once this model has been fine-tuned on an image dataset.' })
}

/** A typed row into a tabular layers model (a studio tabular export loaded back): raw values
 *  in, since its standardisation is folded into the first layer; a number in the target's
 *  units or named class probabilities out, as the model file describes them. */
export async function predictRow(cur: CurrentLayers, msg: Extract<ToWorker, { type: 'predict' }>, post: Post): Promise<void> {
  const features = cur.summary.input?.kind === 'tabular' ? cur.summary.input.features : undefined
  if (msg.input.kind !== 'row' || !features) {
    post({ type: 'playground', requestId: msg.requestId, message: `${cur.summary.title} does not read table rows: it reads ${cur.summary.input?.description ?? 'another kind of input'}.` })
    return
  }
  const row = parseRow(features, msg.input.values)
  if (!row.ok) {
    post({ type: 'playground', requestId: msg.requestId, message: row.message })
    return
  }
  const out = tf.tidy(() => (cur.body.full.predict(tf.tensor2d(row.x, [1, features.length])) as tf.Tensor).reshape([-1]))
  const values = Array.from(await out.data())
  out.dispose()
  const { target, classes: names } = cur.body.meta
  const note = `${cur.summary.title} as loaded from its file`
  if (target) post({ type: 'prediction', requestId: msg.requestId, which: 'before', classes: [], value: { name: target, value: values[0] ?? NaN }, note })
  else post({ type: 'prediction', requestId: msg.requestId, which: 'before', classes: values.map((prob, i) => ({ name: names?.[i] ?? `class ${i}`, prob })), note })
  post({ type: 'playground', requestId: msg.requestId, message: 'This is the exported model as it was saved. To train again, load its dataset: the studio trains tabular data on a fresh MLP built for the columns.' })
}
