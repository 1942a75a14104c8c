/**
 * A person's own row-reading layers model (session/families/layersRows.ts), fine-tuned, leaves
 * as the same TensorFlow.js layers model: its own network with the tuned weights, and either
 * its own output layer with the tuned head written back into it (in the layer's own terms: a
 * sigmoid unit, a linear unit in the target's units, or its softmax or logits) or, where a
 * new head was trained, that head as a Dense layer on its last hidden layer. model.json +
 * weights.bin, with a card and a README that say which columns it reads and how the studio
 * standardised them (userDefinedMetadata.studioInput holds the same numbers).
 */
import * as tf from '@tensorflow/tfjs'
import { strToU8, zipSync } from 'fflate'
import type { LayersBody } from '../models/layersBody'
import type { TabularEncoded } from '../train/encoded'
import type { Head } from '../tuning/heads'
import { layersModelFiles, titleOf } from './layersExport'

/** The model's output layer as loaded (families/layersRows.ts OwnHead). */
export interface OwnOutput {
  layer: string
  units: number
  activation: 'softmax' | 'sigmoid' | 'linear'
  inDim: number
  kernel: Float32Array
  bias: Float32Array
}

export interface RowsExport {
  body: LayersBody
  head: Head
  /** The output layer the head was kept in, or null: the head is a new layer. */
  own: OwnOutput | null
  /** The validation split the run was measured on: columns, their scale, classes or target. */
  val: TabularEncoded
  card: Record<string, unknown>
}

/** Reads the head's output kernel [D, C] and bias [C]. */
async function headValues(head: Head): Promise<{ kernel: Float32Array; bias: Float32Array }> {
  const k = head.params.find((p) => p.name.endsWith('.kernel') && !p.name.includes('.pre.'))
  const b = head.params.find((p) => p.name.endsWith('.bias') && !p.name.includes('.pre.'))
  if (!k || !b) throw new Error('The tuned head has no kernel and bias to export.')
  return { kernel: (await k.variable.data()) as Float32Array, bias: (await b.variable.data()) as Float32Array }
}

/** The head in the output layer's own terms (the inverse of layersRows.ts assignOwnHead). */
export function ownLayerValues(own: OwnOutput, head: { kernel: Float32Array; bias: Float32Array }, scale: { mean: number; std: number } | null): { kernel: Float32Array; bias: Float32Array } {
  if (own.activation === 'sigmoid' && own.units === 1) {
    // softmax over logits [z0, z1] is σ(z1 − z0)
    const kernel = new Float32Array(own.inDim)
    for (let i = 0; i < own.inDim; i++) kernel[i] = head.kernel[i * 2 + 1]! - head.kernel[i * 2]!
    return { kernel, bias: Float32Array.from([head.bias[1]! - head.bias[0]!]) }
  }
  if (scale) return { kernel: head.kernel.map((w) => w * scale.std), bias: head.bias.map((b) => b * scale.std + scale.mean) }
  return { kernel: Float32Array.from(head.kernel), bias: Float32Array.from(head.bias) }
}

/** The tuned model's files (model.json + weights.bin). The body's layers stay the session's:
 *  a written-back output layer gets its loaded weights again afterwards. */
export async function rowsModelFiles(x: RowsExport): Promise<Record<string, Uint8Array>> {
  const { body, own, val } = x
  const values = await headValues(x.head)
  const scale = val.scale ?? null
  const meta = metadata(x)
  if (own) {
    const layer = body.full.getLayer(own.layer)
    const tuned = ownLayerValues(own, values, scale)
    const set = (k: Float32Array, b: Float32Array) => {
      const t = [tf.tensor2d(k, [own.inDim, own.units]), tf.tensor1d(b)]
      layer.setWeights(t)
      tf.dispose(t)
    }
    set(tuned.kernel, tuned.bias)
    try {
      return await layersModelFiles(body.full, meta)
    } finally {
      set(own.kernel, own.bias)
    }
  }
  // a new head: classes as softmax probabilities, a number in the target's units
  const units = scale ? 1 : x.head.outputDim
  const taken = new Set(body.full.layers.map((l) => l.name))
  let name = 'studio_head'
  for (let i = 2; taken.has(name); i++) name = `studio_head_${i}`
  const dense = tf.layers.dense({ units, activation: scale ? 'linear' : 'softmax', name })
  const out = dense.apply(body.features.outputs[0]!) as tf.SymbolicTensor
  const model = tf.model({ inputs: body.features.inputs, outputs: out, name: `${body.full.name}_finetuned` })
  const w = scale ? values.kernel.map((v) => v * scale.std) : values.kernel
  const b = scale ? values.bias.map((v) => v * scale.std + scale.mean) : values.bias
  const t = [tf.tensor2d(w, [body.featureDim, units]), tf.tensor1d(b)]
  dense.setWeights(t)
  tf.dispose(t)
  try {
    return await layersModelFiles(model, meta)
  } finally {
    for (const v of dense.weights) v.dispose()
  }
}

/** userDefinedMetadata: title, classes or target, and how the columns were fed. */
function metadata({ body, val, card }: RowsExport): Record<string, unknown> {
  const st = val.standardizer
  const raw = !!body.meta.features
  return {
    ...titleOf(card),
    ...(val.classes ? { classes: val.classes } : {}),
    ...(val.scale ? { target: val.scale.name } : {}),
    // a studio export loaded back keeps reading raw values, as its file said
    ...(raw ? { features: body.meta.features, ...(body.meta.typical ? { typical: body.meta.typical } : {}) } : {}),
    studioInput: { columns: st.columns, standardised: !raw, mean: Array.from(st.mean), std: Array.from(st.std) },
  }
}

/** The files above in one zip with card.json and a README. */
export async function rowsModelZip(x: RowsExport): Promise<Uint8Array> {
  const files = await rowsModelFiles(x)
  return zipSync({ ...files, 'card.json': strToU8(JSON.stringify(x.card, null, 2)), 'README.md': strToU8(readme(x)) })
}

function readme({ body, own, val, card }: RowsExport): string {
  const st = val.standardizer
  const raw = !!body.meta.features
  const title = typeof card.title === 'string' ? card.title : body.full.name
  const input = raw
    ? `rows of ${st.columns.length} raw values, in this order: ${st.columns.join(', ')}.`
    : `rows of ${st.columns.length} numbers, in this order, each standardised as the studio fed them in fine-tuning — (value − mean) / std:\n\n| column | mean | std |\n|---|---|---|\n${st.columns.map((c, j) => `| ${c} | ${st.mean[j]} | ${st.std[j]} |`).join('\n')}\n\n(also in model.json, userDefinedMetadata.studioInput). Feed it your own preprocessing only if it is the same.`
  const output = val.scale ? `${val.scale.name}, in its own units` : `${own?.activation === 'sigmoid' ? `the probability of ${val.classes?.[1]}` : `${own?.activation === 'linear' ? 'logits' : 'probabilities'} of ${JSON.stringify(val.classes)}`}`
  const head = own ? `its own output layer ${own.layer}, fine-tuned` : 'a new head trained in the studio'
  return `# ${title}\n\nThe same TensorFlow.js layers network as the model you loaded, with the weights fine-tuned in the studio; output layer: ${head}.\n\nInput: ${input}\n\nOutput: ${output}.\n\n\`\`\`js\nconst model = await tf.loadLayersModel('model.json')\n\`\`\`\n`
}
