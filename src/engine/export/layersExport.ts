/**
 * A fine-tuned TensorFlow.js layers model leaves as a layers model again: the original
 * network up to its feature layer (with whatever blocks were tuned, since the studio trains
 * the model's own variables in place) plus the new head as a softmax Dense layer, saved as
 * model.json + weights.bin in one zip with a card. Its input is what the original model
 * takes (the studio scales pixels the same way: 0–255 to [-1, 1] for image models).
 */
import * as tf from '@tensorflow/tfjs'
import { strToU8, zipSync } from 'fflate'
import type { LayersBody } from '../models/layersBody'
import type { Head } from '../tuning/heads'

/** Saves a layers model to model.json + weights.bin bytes, `meta` as userDefinedMetadata. */
export async function layersModelFiles(model: tf.LayersModel, meta: Record<string, unknown>): Promise<Record<string, Uint8Array>> {
  let files: Record<string, Uint8Array> = {}
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const weightData = a.weightData instanceof ArrayBuffer ? a.weightData : tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[])
      const json = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: 'fine-tuning studio',
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        userDefinedMetadata: meta,
      }
      files = { 'model.json': strToU8(JSON.stringify(json)), 'weights.bin': new Uint8Array(weightData) }
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    }),
  )
  return files
}

/** The card's title, for the model panel when the file is loaded back. */
export function titleOf(card: Record<string, unknown>): { title?: string } {
  return typeof card.title === 'string' && card.title ? { title: card.title } : {}
}

/** The tuned layers body with its classification head, as one tf.LayersModel (caller disposes
 *  only the new head layer's weights with it: the body's layers stay the studio's). */
export async function layersRunZip(body: LayersBody, head: Head, classes: string[], card: Record<string, unknown>, readme: string): Promise<Uint8Array> {
  const [w, b] = await Promise.all(head.params.map(async (p) => (await p.variable.data()) as Float32Array))
  const dense = tf.layers.dense({ units: head.outputDim, activation: 'softmax', name: 'studio_head' })
  const out = dense.apply(body.features.outputs[0]!) as tf.SymbolicTensor
  const model = tf.model({ inputs: body.features.inputs, outputs: out, name: `${body.full.name}_finetuned` })
  const tw = tf.tensor2d(w!, [body.featureDim, head.outputDim])
  const tb = tf.tensor1d(b!)
  dense.setWeights([tw, tb])
  tf.dispose([tw, tb])
  try {
    const files = await layersModelFiles(model, { ...titleOf(card), classes })
    return zipSync({ ...files, 'card.json': strToU8(JSON.stringify(card, null, 2)), 'README.md': strToU8(readme) })
  } finally {
    for (const v of dense.weights) v.dispose()
  }
}
