import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, describe, expect, it } from 'vitest'
import { biasAdd, scaleShift } from './biasAdd'
import { gelu } from './tinyGpt'
import { benchSwitch, oldKernels } from '../benchSwitches'
import { relErr } from './wasmKernelChecks'

const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => 3 * Math.sin(i * k + 0.3) + 0.5 * Math.cos(i * 0.013))

afterEach(() => {
  oldKernels.sumBiasGrad = false
  oldKernels.tanhGelu = false
})


describe('the dense bias gradient as a ones-row product', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`on ${backend}: value y + bias, gradients dy and the column sums of dy, tensor counts flat`, async () => {
      expect(await tf.setBackend(backend)).toBe(true)
      for (const [n, m] of [
        [1, 1],
        [7, 3],
        [1024, 512],
        [33, 129],
      ] as const) {
        const yv = wave(n * m, 0.37)
        const bv = wave(m, 0.71)
        const rv = wave(n * m, 0.11) // dy: d sum(out · r) / d out = r
        const y = tf.tensor2d(yv, [n, m])
        const bias = tf.tensor1d(bv)
        const r = tf.tensor2d(rv, [n, m])
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(biasAdd(a as tf.Tensor2D, b), r)))
        tf.dispose(g([y, bias]))
        const before = tf.memory().numTensors
        const [dy, db] = g([y, bias])
        expect(tf.memory().numTensors).toBe(before + 2)
        const out = biasAdd(y, bias)
        const outV = await out.data()
        for (let i = 0; i < n * m; i += 97) expect(outV[i]).toBeCloseTo(yv[i]! + bv[i % m]!, 5)
        expect(relErr(await dy!.data(), rv)).toBe(0)
        const colSums = new Float64Array(m)
        for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) colSums[j]! += rv[i * m + j]!
        expect(db!.shape).toEqual([m])
        expect(relErr(await db!.data(), colSums), `${n}×${m}`).toBeLessThan(1e-5) // float32 sums of up to 1024 rows
        tf.dispose([y, bias, r, dy!, db!, out])
      }
    })
  }

  it('takes one row-sum kernel on wasm (lmFused.ts), not a Sum; the ones-row product and tfjs’ Sum behind the bench switches', async () => {
    await tf.setBackend('wasm')
    const y = tf.tensor2d(wave(64 * 32, 0.2), [64, 32])
    const bias = tf.tensor1d(wave(32, 0.3))
    const kernels = async () => {
      const p = await tf.profile(() => tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(biasAdd(a as tf.Tensor2D, b)))([y, bias])))
      return p.kernels.map((k) => `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('')}`)
    }
    const now = await kernels()
    expect(now).toContain('StudioRowSum [64,32]')
    expect(now.some((k) => k.startsWith('BatchMatMul'))).toBe(false)
    expect(now.filter((k) => k.startsWith('Sum')).length).toBe(1) // the loss's own tf.sum only
    benchSwitch.lmOpPath = true
    const product = await kernels()
    benchSwitch.lmOpPath = false
    expect(product).toContain('BatchMatMul [1,64][64,32]')
    expect(product).not.toContain('StudioRowSum [64,32]')
    oldKernels.sumBiasGrad = true
    const old = await kernels()
    expect(old.some((k) => k.startsWith('BatchMatMul'))).toBe(false)
    expect(old.some((k) => k.startsWith('Sum [64,32]'))).toBe(true)
    tf.dispose([y, bias])
  })
})

describe('GELU as x·σ(2u)', () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`on ${backend}: equals 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) in float64, value and derivative`, async () => {
      expect(await tf.setBackend(backend)).toBe(true)
      const xv = Float32Array.from({ length: 2001 }, (_, i) => -10 + i * 0.01) // −10 … 10
      const x = tf.tensor1d(xv)
      const c = Math.sqrt(2 / Math.PI)
      const ref = (t: number) => 0.5 * t * (1 + Math.tanh(c * (t + 0.044715 * t ** 3)))
      const dref = (t: number) => {
        const u = c * (t + 0.044715 * t ** 3)
        const th = Math.tanh(u)
        return 0.5 * (1 + th) + 0.5 * t * (1 - th * th) * c * (1 + 3 * 0.044715 * t * t)
      }
      const want = Array.from(xv, ref)
      const dwant = Array.from(xv, dref)
      const got = await gelu(x).data()
      const dgot = await tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x).data()
      expect(relErr(got, want)).toBeLessThan(2e-7)
      expect(relErr(dgot, dwant)).toBeLessThan(2e-6)
      for (let i = 0; i < xv.length; i++) expect(Math.abs(got[i]! - want[i]!), `gelu(${xv[i]})`).toBeLessThan(3e-6 * Math.max(1, Math.abs(want[i]!)))
      oldKernels.tanhGelu = true // the old formula: the same numbers to float rounding
      expect(relErr(await gelu(x).data(), got)).toBeLessThan(2e-7)
      const names = (await tf.profile(() => tf.dispose(gelu(x)))).kernels.map((k) => k.name)
      expect(names).toContain('Tanh')
      oldKernels.tanhGelu = false
      const names2 = (await tf.profile(() => tf.dispose(gelu(x)))).kernels.map((k) => k.name)
      expect(names2).toContain('Sigmoid')
      expect(names2).not.toContain('Tanh')
      tf.dispose(x)
    })
  }
})

describe("a layer norm's gain and shift with row-sum gradients", () => {
  for (const backend of ['wasm', 'cpu']) {
    it(`on ${backend}: value x·γ + β and the gradients of x, γ and β as tfjs' own ops give them, and as plain loops do`, async () => {
      expect(await tf.setBackend(backend)).toBe(true)
      for (const shape of [
        [3, 5, 7],
        [16, 64, 128],
        [9, 4],
      ]) {
        const m = shape[shape.length - 1]!
        const n = shape.reduce((a, b) => a * b, 1) / m
        const xv = wave(n * m, 0.37)
        const gv = wave(m, 0.71)
        const bv = wave(m, 0.53)
        const rv = wave(n * m, 0.11)
        const x = tf.tensor(xv, shape)
        const gamma = tf.tensor1d(gv)
        const beta = tf.tensor1d(bv)
        const r = tf.tensor(rv, shape)
        const grads = (f: (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) => tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, g, b), r)))([x, gamma, beta])
        tf.dispose(grads(scaleShift))
        const before = tf.memory().numTensors
        const mine = grads(scaleShift)
        expect(tf.memory().numTensors).toBe(before + 3)
        const theirs = grads((a, g, b) => tf.add(tf.mul(a, g), b))
        const value = await scaleShift(x, gamma, beta).data()
        for (let i = 0; i < n * m; i += 53) expect(value[i]).toBeCloseTo(xv[i]! * gv[i % m]! + bv[i % m]!, 5)
        const dG = new Float64Array(m)
        const dB = new Float64Array(m)
        for (let i = 0; i < n; i++)
          for (let j = 0; j < m; j++) {
            dG[j]! += rv[i * m + j]! * xv[i * m + j]!
            dB[j]! += rv[i * m + j]!
          }
        expect(relErr(await mine[0]!.data(), await theirs[0]!.data())).toBe(0) // dx = dy·γ
        expect(relErr(await mine[1]!.data(), dG), `${shape} dγ`).toBeLessThan(1e-5)
        expect(relErr(await mine[2]!.data(), dB), `${shape} dβ`).toBeLessThan(1e-5)
        expect(relErr(await mine[1]!.data(), await theirs[1]!.data())).toBeLessThan(1e-5)
        tf.dispose([x, gamma, beta, r, ...mine, ...theirs])
      }
    })
  }
})
