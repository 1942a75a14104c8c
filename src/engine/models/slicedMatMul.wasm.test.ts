import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { matMulFast, swapLast } from './matMulFast'
import { SLICED_MATMUL, batchMatMul, takesSlicedPath } from './slicedMatMul'
import { benchSwitch, oldKernels } from '../benchSwitches'
import { kernelsOf, relErr, tinyLmWholeSteps } from './wasmKernelChecks'

const root = resolve(__dirname, '../../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))
const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k + 0.3) + 0.1 * Math.cos(i * 0.017))

/** a[..., M, K] · b[..., K, N] by a plain triple loop per slice, in float64. */
function tripleLoop(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(batch * m * n)
  for (let s = 0; s < batch; s++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0
        for (let p = 0; p < k; p++) sum += a[s * m * k + i * k + p]! * b[s * k * n + p * n + j]!
        out[s * m * n + i * n + j] = sum
      }
  return out
}



beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
})
const setOld = (on: boolean) => {
  for (const k of Object.keys(oldKernels) as (keyof typeof oldKernels)[]) oldKernels[k] = on
}
afterEach(() => setOld(false))

// Odd sizes, single rows and columns, rank 3 and 4, and attention's own shapes.
const SHAPES: [string, number[], number, number, number][] = [
  ['rank 3, odd sizes', [3], 5, 7, 2],
  ['rank 4, M = 1', [2, 3], 1, 9, 4],
  ['rank 4, N = 1', [2, 2], 6, 5, 1],
  ['rank 4, K = 1', [3, 1], 4, 1, 6],
  ['attention scores, 8 × 4 heads × 32 tokens', [8, 4], 32, 32, 32],
  ['attention at 64 tokens, odd batch', [3, 4], 64, 32, 64],
  ['odd everything', [5, 3], 17, 13, 11],
]

describe('sliced batched product on the wasm backend', () => {
  it('equals a plain triple loop on several shapes, and takes the sliced path', async () => {
    for (const [name, batchShape, m, k, n] of SHAPES) {
      const batch = batchShape.reduce((x, y) => x * y, 1)
      const av = wave(batch * m * k, 0.37)
      const bv = wave(batch * k * n, 0.71)
      const a = tf.tensor(av, [...batchShape, m, k])
      const b = tf.tensor(bv, [...batchShape, k, n])
      expect(takesSlicedPath(a, b), name).toBe(batch > 1)
      const before = tf.memory().numTensors
      const y = batchMatMul(a, b)
      expect(y.shape, name).toEqual([...batchShape, m, n])
      expect(tf.memory().numTensors, name).toBe(before + 1)
      expect(relErr(await y.data(), tripleLoop(av, bv, batch, m, k, n)), name).toBeLessThan(1e-6)
      if (batch > 1) expect(await kernelsOf(() => batchMatMul(a, b)), name).toContain(SLICED_MATMUL)
      tf.dispose([a, b, y])
    }
  })

  it('falls back to tf.matMul where it does not apply, and behind the bench switch', async () => {
    const a = tf.tensor(wave(2 * 3 * 4, 0.2), [2, 3, 4])
    const b2 = tf.tensor(wave(4 * 5, 0.3), [4, 5])
    const bBroadcast = tf.tensor(wave(1 * 4 * 5, 0.3), [1, 4, 5])
    const b = tf.tensor(wave(2 * 4 * 5, 0.4), [2, 4, 5])
    expect(takesSlicedPath(tf.tensor(wave(12, 0.1), [3, 4]), b2)).toBe(false) // 2-D: XNNPACK already
    expect(takesSlicedPath(a, bBroadcast)).toBe(false) // broadcast batch: tfjs' own
    const want = tf.matMul(a, bBroadcast)
    expect(relErr(await batchMatMul(a, bBroadcast).data(), await want.data())).toBe(0)
    oldKernels.batchMatMul = true
    expect(takesSlicedPath(a, b)).toBe(false)
    const names = await kernelsOf(() => batchMatMul(a, b))
    expect(names).toContain('BatchMatMul')
    expect(names).not.toContain(SLICED_MATMUL)
    await tf.setBackend('cpu')
    expect(takesSlicedPath(a, b)).toBe(false)
    await tf.setBackend('wasm')
    tf.dispose([a, b2, bBroadcast, b, want])
  })

  it("gives matMulFast's gradients (the transposed products) as the cpu backend does, with flat tensor counts", async () => {
    // sum(matMulFast(a, b) · r): da = r · bᵀ and db = aᵀ · r, both batched products of transposes.
    const grads = async () => {
      const a = tf.tensor(wave(3 * 4 * 19 * 8, 0.31), [3, 4, 19, 8])
      const b = tf.tensor(wave(3 * 4 * 8 * 23, 0.53), [3, 4, 8, 23])
      const r = tf.tensor(wave(3 * 4 * 19 * 23, 0.11), [3, 4, 19, 23])
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMulFast(x, y), r)) as tf.Scalar
      const g = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)
      tf.dispose(g([a, b])) // warm up
      const before = tf.memory().numTensors
      const [da, db] = g([a, b])
      expect(tf.memory().numTensors).toBe(before + 2)
      const out = { da: (await da!.data()) as Float32Array, db: (await db!.data()) as Float32Array }
      tf.dispose([a, b, r, da!, db!])
      return out
    }
    await tf.setBackend('cpu')
    const cpu = await grads()
    await tf.setBackend('wasm')
    const wasm = await grads()
    expect(relErr(wasm.da, cpu.da)).toBeLessThan(1e-6)
    expect(relErr(wasm.db, cpu.db)).toBeLessThan(1e-6)
    // Independently: da = r · bᵀ by the triple loop on a transposed copy.
    const bT = tf.tidy(() => swapLast(tf.tensor(wave(3 * 4 * 8 * 23, 0.53), [3, 4, 8, 23])))
    const want = tripleLoop(wave(3 * 4 * 19 * 23, 0.11), (await bT.data()) as Float32Array, 12, 19, 23, 8)
    expect(relErr(wasm.da, want)).toBeLessThan(1e-6)
    bT.dispose()
  })

  it("takes a 2-D product's weight gradient as (dyᵀ·a)ᵀ where a is the wide operand: the cpu backend's and a triple loop's numbers, a never transposed", async () => {
    for (const [n, k, m] of [
      [64, 40, 8], // a wide: the (dyᵀ·a)ᵀ form
      [37, 9, 21], // dy wide: aᵀ·dy as before
    ] as const) {
      const av = wave(n * k, 0.41)
      const wv = wave(k * m, 0.23)
      const rv = wave(n * m, 0.17)
      const grads = async () => {
        const a = tf.tensor2d(av, [n, k])
        const w = tf.tensor2d(wv, [k, m])
        const r = tf.tensor2d(rv, [n, m])
        const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMulFast(x, y), r)))
        tf.dispose(g([a, w]))
        const before = tf.memory().numTensors
        const names = (await tf.profile(() => tf.dispose(g([a, w])))).kernels.map((kk) => `${kk.name} ${kk.inputShapes.map((s) => `[${s}]`).join('')}`)
        const [da, dw] = g([a, w])
        expect(tf.memory().numTensors).toBe(before + 2)
        const out = { dw: (await dw!.data()) as Float32Array, names }
        tf.dispose([a, w, r, da!, dw!])
        return out
      }
      await tf.setBackend('cpu')
      const cpu = await grads()
      await tf.setBackend('wasm')
      // The form before 2026-12-07 (heapTranspose.wasm.test.ts checks the packing choice that replaced it).
      benchSwitch.widePacking = true
      benchSwitch.tfjsTranspose = true
      const wasm = await grads().finally(() => {
        benchSwitch.widePacking = false
        benchSwitch.tfjsTranspose = false
      })
      // dw = aᵀ · r by the loop: aᵀ [k, n] built by hand.
      const aT = new Float32Array(k * n)
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) aT[j * n + i] = av[i * k + j]!
      expect(relErr(wasm.dw, tripleLoop(aT, rv, 1, k, n, m)), `${n}×${k}·${k}×${m}`).toBeLessThan(1e-6)
      expect(relErr(wasm.dw, cpu.dw)).toBeLessThan(1e-6)
      const wide = n * k > n * m + k * m
      expect(wasm.names.includes(`Transpose [${n},${k}]`), `${n}×${k}: a transposed`).toBe(!wide)
      expect(wasm.names.includes(`Transpose [${n},${m}]`), `${n}×${m}: dy transposed`).toBe(wide)
    }
  })

  it("gives the built-in tiny-lm's full fine-tuning step the cpu backend's loss and gradients, and the old kernels'", async () => {
    const step = async (backend: string, tfjsKernel = false) => {
      await tf.setBackend(backend)
      setOld(tfjsKernel) // the step as before: tfjs' batched product, tanh GELU, Sum bias gradients
      return tinyLmWholeSteps(fileFetch, backend)
    }
    const cpu = await step('cpu')
    const sliced = await step('wasm')
    const old = await step('wasm', true)
    for (let c = 0; c < cpu.length; c++) {
      expect(sliced[c]!.kernels).toContain(SLICED_MATMUL)
      expect(old[c]!.kernels).not.toContain(SLICED_MATMUL)
      expect(Number.isFinite(cpu[c]!.loss)).toBe(true)
      expect(Math.abs(sliced[c]!.loss - cpu[c]!.loss) / Math.abs(cpu[c]!.loss)).toBeLessThan(1e-5)
      expect(Math.abs(sliced[c]!.loss - old[c]!.loss) / Math.abs(old[c]!.loss)).toBeLessThan(1e-6)
      expect(cpu[c]!.grads.length).toBe(52) // 2 embeddings + 4 blocks × 12 weights + the final norm's 2
      let worstCpu = 0
      let worstOld = 0
      cpu[c]!.grads.forEach((g, i) => {
        worstCpu = Math.max(worstCpu, relErr(sliced[c]!.grads[i]!, g))
        worstOld = Math.max(worstOld, relErr(sliced[c]!.grads[i]!, old[c]!.grads[i]!))
      })
      expect(worstCpu).toBeLessThan(1e-4)
      expect(worstOld).toBeLessThan(1e-4)
    }
  }, 120_000)
})
