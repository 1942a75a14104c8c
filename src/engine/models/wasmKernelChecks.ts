/**
 * Test support for the wasm kernel tests (slicedMatMul, biasAdd, lmFused): the relative error
 * they compare by, the kernels a function runs, and the built-in tiny-lm's whole full
 * fine-tuning step (loss and all 52 gradients) on whatever backend and kernel switches the caller
 * has set. Not used by the studio; the file fetch comes from the test (engine code reads no files).
 */
import * as tf from '@tensorflow/tfjs'
import { expect } from 'vitest'
import { loadTinyGpt } from './modelFile'
import { softmaxCrossEntropy } from '../train/losses'

/** Largest |got − want| relative to the largest |want|. */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length)
  let d = 0
  let s = 0
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - want[i]!))
    s = Math.max(s, Math.abs(want[i]!))
  }
  return d / Math.max(s, 1e-30)
}

/** The names of the kernels f runs, in order (its outputs disposed). */
export async function kernelsOf(f: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  const p = await tf.profile(() => {
    tf.dispose(f())
  })
  return p.kernels.map((k) => k.name)
}

export interface WholeStep {
  loss: number
  grads: Float32Array[]
  kernels: string[]
}

/** The built-in tiny-lm's full fine-tuning step through a 3-class head at 3 × 17 and 2 × 32
 *  tokens, on the current backend: loss, every weight's gradient and the kernels that ran; the
 *  tensor count (and with `flatBytes` the bytes, after one more step) checked flat. */
export async function tinyLmWholeSteps(fileFetch: (url: string) => Promise<Response>, label: string, flatBytes = false): Promise<WholeStep[]> {
  const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k + 0.3) + 0.1 * Math.cos(i * 0.017))
  const { model } = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
  const { vocabSize, dModel } = model.config
  const results: WholeStep[] = []
  for (const [B, T] of [
    [3, 17],
    [2, 32],
  ] as const) {
    const tokens = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i * 7919 + 13) % vocabSize), [B, T], 'int32')
    const mask = tf.tensor2d(Float32Array.from({ length: B * T }, (_, i) => (i % T < T - 2 || i < T ? 1 : 0)), [B, T])
    const head = tf.tensor2d(wave(dModel * 3, 0.29), [dModel, 3])
    const labels = tf.tensor1d(Int32Array.from({ length: B }, (_, i) => i % 3), 'int32')
    const vars = model.params.map((p) => p.variable)
    const run = () =>
      tf.tidy(() => {
        const r = tf.variableGrads(() => softmaxCrossEntropy(tf.matMul(model.pool(model.forward(tokens, { training: true }), mask), head), labels), vars)
        return [r.value, ...vars.map((v) => r.grads[v.name]!)]
      })
    tf.dispose(run()) // warm up (the causal mask is cached per length)
    const before = tf.memory().numTensors
    const bytes = tf.memory().numBytes
    const kernels = await kernelsOf(run)
    const out = run()
    const loss = (await out[0]!.data())[0]!
    const grads = await Promise.all(out.slice(1).map(async (g) => (await g.data()) as Float32Array))
    tf.dispose(out)
    if (flatBytes) tf.dispose(run())
    expect(tf.memory().numTensors, `${label} ${B}×${T}`).toBe(before)
    if (flatBytes) expect(tf.memory().numBytes, `${label} ${B}×${T}`).toBe(bytes)
    results.push({ loss, grads, kernels })
    tf.dispose([tokens, mask, head, labels])
  }
  model.dispose()
  return results
}
