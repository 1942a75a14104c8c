/** Does this backend compute the same training step as the cpu backend? One batch through
 *  each built-in model with a fresh head: the loss and every gradient, on cpu and on the
 *  backend, each with its own freshly loaded copy of the model (tensors are never moved
 *  between backends: reading WebGPU data synchronously gives zeros). This is how the WebGPU
 *  AddN limit (src/engine/ops/addMany.ts) was found: NaN for the emoji CNN. */
import * as tf from '@tensorflow/tfjs'
import type { Body } from '../../src/engine/models/body'
import { loadTinyCnn } from '../../src/engine/models/cnnFile'
import { loadTinyGpt } from '../../src/engine/models/modelFile'
import { inputTensors, slice, type Workload } from './workloads'

interface Step {
  loss: number
  grads: Float32Array[]
  names: string[]
}

async function oneStep(w: Workload): Promise<Step> {
  const model: Body = w.id === 'tiny-lm' ? (await loadTinyGpt('/models/tiny-lm/model.json')).model : (await loadTinyCnn('/models/emoji-cnn/model.json')).model
  const head = tf.variable(tf.randomNormal([model.featureDim, w.classes], 0, 0.05, 'float32', 3))
  const batch = inputTensors(slice(w.all, 0, 8))
  try {
    const vars = [...model.params.map((p) => p.variable), head]
    const { value, grads } = tf.variableGrads(() => {
      const feats = model.pool(model.forwardFrom(model.embed(batch.x), 0), batch.mask)
      return tf.losses.softmaxCrossEntropy(tf.oneHot(batch.labels, w.classes), tf.matMul(feats, head)) as tf.Scalar
    }, vars)
    const out = { loss: (await value.data())[0] ?? NaN, grads: await Promise.all(vars.map(async (v) => (await grads[v.name]!.data()) as Float32Array)), names: [...model.params.map((p) => p.name), 'head.kernel'] }
    tf.dispose([value, ...Object.values(grads)])
    return out
  } finally {
    tf.dispose([head, batch.x, batch.labels, ...(batch.mask ? [batch.mask] : [])])
    model.dispose()
  }
}

/** Runs the step on cpu, then on `backend` (which is current again afterwards). */
export async function gradientCheck(w: Workload, backend: string) {
  await tf.setBackend('cpu')
  const ref = await oneStep(w)
  await tf.setBackend(backend)
  await tf.ready()
  const got = await oneStep(w)
  let worst = { name: '', relError: 0 }
  let nonFinite = 0
  got.grads.forEach((g, i) => {
    const r = ref.grads[i]!
    let scale = 0
    let diff = 0
    for (let j = 0; j < r.length; j++) {
      if (!Number.isFinite(g[j]!)) nonFinite++
      scale = Math.max(scale, Math.abs(r[j]!))
      diff = Math.max(diff, Math.abs(r[j]! - g[j]!))
    }
    const rel = diff / Math.max(scale, 1e-12)
    if (!(rel <= worst.relError)) worst = { name: got.names[i]!, relError: rel }
  })
  const lossRelError = Math.abs(got.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-12)
  return { model: w.id, cpuLoss: ref.loss, loss: got.loss, lossRelError, worstGradient: worst.name, worstGradRelError: worst.relError, nonFinite, ok: nonFinite === 0 && lossRelError < 1e-3 && worst.relError < 1e-2 }
}
