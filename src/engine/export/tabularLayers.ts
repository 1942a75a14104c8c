/**
 * A trained tabular MLP as a plain TensorFlow.js layers model that reads RAW feature values:
 * the standardisation is folded into the first dense layer and, for regression, the target's
 * scale into the head, so `tf.loadLayersModel(...).predict(rows)` gives probabilities or the
 * number in the target's units with no studio code. Zipped with a model card.
 *
 * Folding: z = (x − μ)/σ, so z·W + b = x·(W/σ) + (b − (μ/σ)·W) row by row; and a standardised
 * prediction p maps back as p·s + m, so the head becomes W·s, b·s + m.
 */
import * as tf from '@tensorflow/tfjs'
import { strToU8, zipSync } from 'fflate'
import { layersModelFiles, titleOf } from './layersExport'
import type { Standardizer, TargetScale } from '../data/numericEncode'
import type { TabularMlp } from '../models/tabularMlp'
import type { Head } from '../tuning/heads'

export interface TabularExportInput {
  model: TabularMlp
  head: Head
  standardizer: Standardizer
  scale?: TargetScale // regression
  classes?: string[] // classification
  card: Record<string, unknown>
}

/** The layers model; the caller disposes it. Reads the studio weights with await. */
export async function tabularLayersModel(x: TabularExportInput): Promise<tf.LayersModel> {
  const { model, head, standardizer: st, scale } = x
  const F = model.config.inputDim
  const H = model.config.hidden
  const read = async (name: string) => (await model.get(name).data()) as Float32Array
  const stemW = await read('stem.kernel') // [F, H]
  const stemB = Float32Array.from(await read('stem.bias'))
  const foldedW = new Float32Array(F * H)
  for (let i = 0; i < F; i++) {
    const s = st.std[i]!
    const shift = st.mean[i]! / s
    for (let j = 0; j < H; j++) {
      const w = stemW[i * H + j]!
      foldedW[i * H + j] = w / s
      stemB[j]! -= shift * w
    }
  }
  const [headW, headB] = await Promise.all(head.params.map(async (p) => Float32Array.from((await p.variable.data()) as Float32Array)))
  if (scale) {
    for (let k = 0; k < headW!.length; k++) headW![k]! *= scale.std
    headB![0] = headB![0]! * scale.std + scale.mean
  }

  const input = tf.input({ shape: [F], name: 'features' })
  const stem = tf.layers.dense({ units: H, activation: 'relu', name: 'stem' })
  let h = stem.apply(input) as tf.SymbolicTensor
  const blocks: tf.layers.Layer[] = []
  for (let i = 0; i < model.config.nLayers; i++) {
    const dense = tf.layers.dense({ units: H, activation: 'relu', name: `h${i}` })
    blocks.push(dense)
    h = tf.layers.add({ name: `h${i}_residual` }).apply([h, dense.apply(h) as tf.SymbolicTensor]) as tf.SymbolicTensor
  }
  const out = tf.layers.dense({ units: head.outputDim, activation: scale ? 'linear' : 'softmax', name: scale ? `predict_${scale.name}` : 'probabilities' })
  const lm = tf.model({ inputs: input, outputs: out.apply(h) as tf.SymbolicTensor, name: 'studio_tabular_mlp' })
  const set = (layer: tf.layers.Layer, w: Float32Array, b: Float32Array, shape: [number, number]) => {
    const tw = tf.tensor2d(w, shape)
    const tb = tf.tensor1d(b)
    layer.setWeights([tw, tb])
    tf.dispose([tw, tb])
  }
  set(stem, foldedW, stemB, [F, H])
  for (const [i, layer] of blocks.entries()) set(layer, await read(`h${i}.kernel`), await read(`h${i}.bias`), [H, H])
  set(out, headW!, headB!, [H, head.outputDim])
  return lm
}

/** model.json + weights.bin + card.json + README, as one zip TensorFlow.js users can unpack
 *  and load with tf.loadLayersModel('…/model.json'). */
export async function tabularLayersZip(x: TabularExportInput): Promise<Uint8Array> {
  const lm = await tabularLayersModel(x)
  try {
    const files = await layersModelFiles(lm, { ...titleOf(x.card), features: x.standardizer.columns, typical: Array.from(x.standardizer.mean), ...(x.scale ? { target: x.scale.name } : { classes: x.classes ?? [] }) })
    const cols = x.standardizer.columns.join(', ')
    const readme =
      `# ${String(x.card.title ?? 'Tabular MLP')}\n\n` +
      `A TensorFlow.js layers model. Input: rows of ${x.standardizer.columns.length} raw numbers in this order: ${cols} ` +
      '(the standardisation used in training is folded into the first layer). ' +
      (x.scale ? `Output: the predicted ${x.scale.name}, in its own units.\n` : `Output: class probabilities for ${JSON.stringify(x.classes ?? [])}.\n`) +
      "\n```js\nconst model = await tf.loadLayersModel('model.json')\nmodel.predict(tf.tensor2d([[/* one row */]])).print()\n```\n"
    return zipSync({ ...files, 'card.json': strToU8(JSON.stringify(x.card, null, 2)), 'README.md': strToU8(readme) })
  } finally {
    lm.dispose()
  }
}
