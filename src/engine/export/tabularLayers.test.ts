/** The exported tabular model, loaded by plain TensorFlow.js from the zip, reads raw feature
 *  values and answers what the studio answers on standardised ones. */
import * as tf from '@tensorflow/tfjs'
import { strFromU8, unzipSync } from 'fflate'
import { describe, expect, it } from 'vitest'
import { fitStandardizer, standardizeFeatures, type TargetScale } from '../data/numericEncode'
import type { Dataset } from '../data/types'
import { TabularMlp } from '../models/tabularMlp'
import { Head } from '../tuning/heads'
import { tabularLayersZip } from './tabularLayers'

const F = 3
const rows = [
  ['1', '200', '-3'],
  ['2', '150', '0.5'],
  ['7', '90', '4'],
  ['4', '310', '1'],
]
const d = { name: 't.csv', columns: ['a', 'b', 'c'], rows } as unknown as Dataset

async function roundTrip(head: Head, scale?: TargetScale) {
  const model = new TabularMlp({ inputDim: F, hidden: 8, nLayers: 2 }, 3)
  // Non-zero biases everywhere, so folding is tested on them too.
  for (const p of model.params) p.variable.assign(tf.add(p.variable, tf.randomUniform(p.variable.shape, -0.3, 0.3, 'float32', 9)))
  for (const p of head.params) p.variable.assign(tf.add(p.variable, tf.randomUniform(p.variable.shape, -0.3, 0.3, 'float32', 10)))
  const st = fitStandardizer(d, ['a', 'b', 'c'], [0, 1, 2, 3])
  const z = standardizeFeatures(d, st, [0, 1, 2, 3])
  const studio = tf.tidy(() => {
    const out = head.apply(model.pool(model.forwardFrom(model.prefix(tf.tensor2d(z, [4, F]), 0), 0)), false)
    return scale ? out.mul(scale.std).add(scale.mean) : tf.softmax(out)
  })
  const zip = await tabularLayersZip({ model, head, standardizer: st, ...(scale ? { scale } : { classes: ['x', 'y', 'z'] }), card: { title: 'test' } })
  const files = unzipSync(zip)
  expect(Object.keys(files).sort()).toEqual(['README.md', 'card.json', 'model.json', 'weights.bin'])
  const json = JSON.parse(strFromU8(files['model.json']!))
  const loaded = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: files['weights.bin']!.slice().buffer }))
  const raw = tf.tensor2d(rows.map((r) => r.map(Number)))
  const exported = loaded.predict(raw) as tf.Tensor
  const [a, b] = [await studio.data(), await exported.data()]
  tf.dispose([studio, exported, raw])
  loaded.dispose()
  model.dispose()
  head.dispose()
  return { a: Array.from(a), b: Array.from(b), json }
}

describe('tabular export as a TensorFlow.js layers model', () => {
  it('classification: the same probabilities from raw values', async () => {
    const { a, b, json } = await roundTrip(new Head({ name: 'task', kind: 'classification', inputDim: 8, numClasses: 3 }, 4))
    b.forEach((v, i) => expect(v).toBeCloseTo(a[i]!, 5))
    expect(json.userDefinedMetadata.classes).toEqual(['x', 'y', 'z'])
  })

  it('regression: the same number, in the target units', async () => {
    const scale = { name: 'price', mean: 22.5, std: 9.2 }
    const { a, b, json } = await roundTrip(new Head({ name: 'task', kind: 'regression', inputDim: 8 }, 4), scale)
    expect(a).toHaveLength(4)
    b.forEach((v, i) => expect(v).toBeCloseTo(a[i]!, 3))
    expect(json.userDefinedMetadata.target).toBe('price')
  })
})
