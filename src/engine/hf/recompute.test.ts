// Recomputing blocks in the backward pass (recompute.ts) must change memory, never the
// numbers: the loss and every gradient with recomputation equal those of the ordinary tape, on
// GPT-2, Llama (grouped-query attention, rotary) and BERT fixtures, for full fine-tuning and for
// LoRA with dropout (the recomputed block must draw the same masks, from the pass's seed), with
// a frozen block below (no gradient asked of it) and the tensor count back where it started.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { HfBody } from '../bodies/hfBody'
import { Lora } from '../tuning/lora'
import { buildHfModel } from './hfModel'
import { parseSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
function body(name: string): HfBody {
  const model = buildHfModel(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'), parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))).tensors)
  return new HfBody(model)
}

const IDS = [
  [5, 17, 3, 42, 8, 1, 29, 11],
  [60, 2, 2, 33, 14, 7, 50, 9],
]
const MASK = [
  [1, 1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 0, 0],
]

/** A loss that reads every position of the final hidden states (a fixed probe, so the
 *  expected gradients come from tfjs's own tape, not from the code under test). */
function lossOf(b: HfBody, opts: Parameters<HfBody['forward']>[1]): tf.Scalar {
  const ids = tf.tensor2d(IDS, undefined, 'int32')
  const mask = tf.tensor2d(MASK, undefined, 'int32')
  const hidden = b.forward(ids, { ...opts, attentionMask: mask as tf.Tensor2D })
  const d = hidden.shape[2]
  const probe = tf.tensor1d(new Float32Array(d).map((_, i) => Math.cos(i * 0.7)))
  return tf.sum(tf.square(tf.sub(tf.sum(tf.mul(hidden, probe), 2), 0.5))) as tf.Scalar
}

async function gradsOf(b: HfBody, recompute: boolean, trainable: Map<tf.Variable, string>, hooks?: Lora['hooks']): Promise<{ loss: number; grads: Float32Array[] }> {
  b.recompute = recompute
  const vars = [...trainable.keys()]
  const { value, grads } = tf.variableGrads(() => lossOf(b, { training: true, trainable, seed: '7:3:0', ...(hooks ? { hooks } : {}) }), vars)
  const out = { loss: (await value.data())[0]!, grads: await Promise.all(vars.map((v) => grads[v.name]!.data() as Promise<Float32Array>)) }
  value.dispose()
  tf.dispose(grads)
  return out
}

function worstRelative(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0
  let scale = 0
  for (const g of b) for (const x of g) scale = Math.max(scale, Math.abs(x))
  a.forEach((g, k) => g.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - b[k]![i]!) / scale))))
  return worst
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe.each(['gpt2', 'llama-gqa-tied', 'bert'])('recomputing blocks on %s', (name) => {
  it('full fine-tuning of every block but the first (block 0 frozen): same loss and gradients', async () => {
    const b = body(name)
    const before = tf.memory().numTensors
    // block 0 frozen (not trainable), blocks 1.. and the final norm train
    const trainable = new Map(b.params.filter((p) => p.block >= 1).map((p) => [p.variable, p.name] as const))
    expect(trainable.size).toBeGreaterThan(4)
    const plain = await gradsOf(b, false, trainable)
    const again = await gradsOf(b, true, trainable)
    expect(Math.abs(again.loss - plain.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(plain.loss)))
    expect(worstRelative(again.grads, plain.grads)).toBeLessThan(1e-5)
    // the gradients are not all zero (a check that would pass on zeros proves nothing)
    expect(plain.grads.some((g) => g.some((x) => Math.abs(x) > 1e-6))).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
    b.dispose()
  })

  it('LoRA with dropout on every projection: the recomputed blocks draw the same masks', async () => {
    const b = body(name)
    const lora = new Lora(b, { rank: 2, alpha: 4, dropout: 0.3, layers: b.model.linearLayers, seed: 5 })
    // B starts at zero, so A would get no gradient: give B values first
    for (const p of lora.params) if (p.name.endsWith('lora_B')) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 11))
    const before = tf.memory().numTensors
    const trainable = new Map(lora.params.map((p) => [p.variable, p.name] as const))
    const plain = await gradsOf(b, false, trainable, lora.hooks)
    const again = await gradsOf(b, true, trainable, lora.hooks)
    expect(Math.abs(again.loss - plain.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(plain.loss)))
    expect(worstRelative(again.grads, plain.grads)).toBeLessThan(1e-5)
    // dropout is really on: another seed gives another loss
    const other = tf.tidy(() => lossOf(b, { training: true, trainable, seed: '8:3:0', hooks: lora.hooks }).dataSync()[0]!)
    expect(Math.abs(other - plain.loss)).toBeGreaterThan(1e-6)
    expect(tf.memory().numTensors).toBe(before)
    lora.dispose()
    b.dispose()
  })
})
