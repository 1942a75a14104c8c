// The WebAssembly backend (the studio's pick on machines without a GPU) runs the Hugging Face
// forward passes with the cpu backend's logits, and LoRA training there gives the cpu backend's
// loss and gradients (LoRA needs no gradient of the embedding gather, which wasm lacks).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it } from 'vitest'
import { Lora } from '../tuning/lora'
import { buildHfModel } from './hfModel'
import { parseSafetensors } from './safetensors'

const DIR = path.join(__dirname, 'fixtures')
const REF = JSON.parse(readFileSync(path.join(DIR, 'reference.json'), 'utf8')) as Record<string, { ids: number[][]; logits?: number[] }>

async function run(name: string, full = false): Promise<{ logits: Float32Array; loss: number; grads: Float32Array[] }> {
  const model = buildHfModel(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'), parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))).tensors)
  const lora = new Lora(model, { rank: 2, alpha: 4, layers: model.linearLayers, seed: 9 })
  for (const p of lora.params) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 13))
  const ids = tf.tensor2d(REF[name]!.ids, undefined, 'int32')
  const logits = tf.tidy(() => model.logits(model.forward(ids)))
  // full fine-tuning differentiates every weight, the embedding table included (its gradient
  // is a scatter-add the wasm backend gets from models/embeddingLookup.ts)
  const vars = full ? model.entries().map(([, v]) => v) : lora.params.map((p) => p.variable)
  const { value, grads } = tf.variableGrads(() => {
    const l = model.logits(model.forward(ids, full ? {} : { hooks: lora.hooks }))
    return tf.mean(tf.square(l)) as tf.Scalar
  }, vars)
  const out = { logits: (await logits.data()) as Float32Array, loss: (await value.data())[0]!, grads: await Promise.all(vars.map(async (v) => (await grads[v.name]!.data()) as Float32Array)) }
  tf.dispose([ids, logits, value, ...Object.values(grads)])
  lora.dispose()
  model.dispose()
  return out
}

describe.each(['gpt2', 'llama-gqa-tied'])('%s on the wasm backend', (name) => {
  it('gives the reference logits, and LoRA’s loss and gradients match the cpu backend', async () => {
    await tf.setBackend('cpu')
    const cpu = await run(name)
    expect(await tf.setBackend('wasm')).toBe(true)
    const wasm = await run(name)
    const ref = REF[name]!.logits!
    let worst = 0
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(wasm.logits[i]! - ref[i]!))
    expect(worst).toBeLessThan(1e-4)
    expect(wasm.loss).toBeCloseTo(cpu.loss, 3)
    cpu.grads.forEach((g, k) => {
      const w = wasm.grads[k]!
      const scale = Math.max(1e-3, ...g.map(Math.abs))
      expect(Math.max(...g.map((v, i) => Math.abs(v - w[i]!))) / scale).toBeLessThan(1e-3)
    })
    await tf.setBackend('cpu')
  })

  it('full fine-tuning: every weight’s gradient, embeddings included, matches the cpu backend', async () => {
    await tf.setBackend('cpu')
    const cpu = await run(name, true)
    await tf.setBackend('wasm')
    const wasm = await run(name, true)
    expect(wasm.grads.length).toBe(cpu.grads.length)
    cpu.grads.forEach((g, k) => {
      const w = wasm.grads[k]!
      const scale = Math.max(1e-3, ...g.map(Math.abs))
      expect(Math.max(...g.map((v, i) => Math.abs(v - w[i]!))) / scale).toBeLessThan(1e-3)
    })
    await tf.setBackend('cpu')
  })
})
