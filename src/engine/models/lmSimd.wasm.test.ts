import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { causalSoftmaxFused, geluFused, headsToRowsFused, rowSumFused, splitHeadsFused } from './lmFused'
import { causalMask } from './tinyGpt'
import { channelNormFused, normGradRow } from './cnnFused'
import { lmSimd, lmSimdModule } from './lmSimd'
import { benchSwitch } from '../benchSwitches'
import { relErr } from './wasmKernelChecks'

const wave = (n: number, k: number, amp = 1) => Float32Array.from({ length: n }, (_, i) => amp * (Math.sin(i * k + 0.3) + 0.1 * Math.cos(i * 0.017)))
const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
})
afterEach(() => {
  benchSwitch.jsLmKernels = false
  benchSwitch.scalarNormGrad = false
  benchSwitch.tfjsNormForward = false
})

/** f's outputs with the SIMD module and with lmFused.ts's JavaScript, tensor count flat. */
async function bothWays(f: () => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const out: Float32Array[][] = []
  for (const js of [false, true]) {
    benchSwitch.jsLmKernels = js
    const before = tf.memory().numTensors
    const ts = f()
    out.push(await Promise.all(ts.map(async (t) => (await t.data()) as Float32Array)))
    tf.dispose(ts)
    expect(tf.memory().numTensors).toBe(before)
  }
  return out as [Float32Array[], Float32Array[]]
}

describe("lmSimd.ts: tiny-lm's row sums and GELU gradient as WebAssembly SIMD", () => {
  it('loads on the wasm backend in Node, and on a shared memory', () => {
    expect(lmSimd(tf.backend())).not.toBeNull()
    const m = lmSimdModule(new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }))
    expect(m).not.toBeNull()
  })

  it('row sums: the JavaScript loop’s bits, and float64 column sums to float32 rounding', async () => {
    for (const [n, m] of [
      [1024, 512],
      [13, 8],
      [1, 4],
      [7, 5], // not a multiple of 4: JavaScript both ways
    ] as const) {
      const xv = wave(n * m, 0.37, 3)
      const want = new Float64Array(m)
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) want[j]! += xv[i * m + j]!
      const x = tf.tensor2d(xv, [n, m])
      const [simd, js] = await bothWays(() => [rowSumFused(x)])
      expect(sameBits(simd[0]!, js[0]!), `${n}×${m}`).toBe(true)
      expect(relErr(simd[0]!, want), `${n}×${m}`).toBeLessThan(1e-6)
      x.dispose()
    }
  })

  it('GELU gradient: the JavaScript pass’s bits (lengths with and without a tail of 1–3)', async () => {
    for (const shape of [
      [1024, 512],
      [5, 7],
      [3, 4],
    ]) {
      const n = shape[0]! * shape[1]!
      const x = tf.tensor(wave(n, 0.29, 4), shape)
      const r = tf.tensor(wave(n, 0.13), shape)
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(geluFused(a), r)))
      const [simd, js] = await bothWays(() => [g(x)])
      expect(sameBits(simd[0]!, js[0]!), `[${shape}]`).toBe(true)
      // and the derivative itself, by central differences of x·σ(2√(2/π)(x + 0.044715x³)) in float64
      const xs = await x.data()
      const rs = await r.data()
      const f = (v: number) => v / (1 + Math.exp(-2 * Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))
      let worst = 0
      for (let i = 0; i < n; i += Math.max(1, n >> 9)) worst = Math.max(worst, Math.abs(simd[0]![i]! - rs[i]! * (f(xs[i]! + 1e-6) - f(xs[i]! - 1e-6)) / 2e-6))
      expect(worst, `[${shape}]`).toBeLessThan(1e-4)
      tf.dispose([x, r])
    }
  })

  it('channel norm gradient (with and without ReLU6): the JavaScript pass’s bits for dx, dgamma and dbeta', async () => {
    for (const shape of [
      [16, 64, 128],
      [5, 7],
      [3, 4, 6, 10],
    ]) {
      const C = shape[shape.length - 1]!
      const n = shape.reduce((a, d) => a * d, 1)
      const x = tf.tensor(wave(n, 0.31, 3), shape)
      const gamma = tf.tensor1d(wave(C, 0.7, 2))
      const beta = tf.tensor1d(wave(C, 0.9, 3))
      const r = tf.tensor(wave(n, 0.17), shape)
      for (const relu6 of [false, true]) {
        const g = tf.grads((a: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor) => tf.sum(tf.mul(channelNormFused(a, gm, bt, relu6), r)))
        const [simd, js] = await bothWays(() => g([x, gamma, beta]))
        for (let i = 0; i < 3; i++) expect(sameBits(simd[i]!, js[i]!), `[${shape}] relu6 ${relu6} gradient ${i}`).toBe(true)
        // not all zero: the clip leaves some gradient through
        expect(simd[0]!.some((v) => v !== 0)).toBe(true)
      }
      tf.dispose([x, gamma, beta, r])
    }
  })

  it('channel norm gradient two rows at a time (normgrad2): the bits of one row at a time (normgrad) and of the JavaScript normGradRow, near a float64 reference', async () => {
    // rows: even, odd (the last row through the scalar path), 1; widths: emoji-cnn's channels
    // (32 … 256), tiny-lm's 128, and odd ones
    for (const [N, C] of [
      [64, 128],
      [65, 128],
      [1, 128],
      [2, 32],
      [33, 96],
      [16, 192],
      [7, 256],
      [3, 5],
      [1, 1],
    ] as const) {
      const x = tf.tensor2d(wave(N * C, 0.31, 3), [N, C])
      const gamma = tf.tensor1d(wave(C, 0.7, 2))
      const beta = tf.tensor1d(wave(C, 0.9, 3))
      const r = tf.tensor2d(wave(N * C, 0.17), [N, C])
      for (const relu6 of [false, true]) {
        const g = tf.grads((a: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor) => tf.sum(tf.mul(channelNormFused(a, gm, bt, relu6), r)))
        const ways: Float32Array[][] = []
        for (const [scalar, js] of [
          [false, false],
          [true, false],
          [false, true],
        ] as const) {
          benchSwitch.scalarNormGrad = scalar
          benchSwitch.jsLmKernels = js
          const before = tf.memory().numTensors
          const ts = g([x, gamma, beta])
          ways.push(await Promise.all(ts.map(async (t) => (await t.data()) as Float32Array)))
          tf.dispose(ts)
          expect(tf.memory().numTensors).toBe(before)
        }
        const [two, one, js] = ways as [Float32Array[], Float32Array[], Float32Array[]]
        for (let i = 0; i < 3; i++) {
          expect(sameBits(two[i]!, one[i]!), `${N}×${C} relu6 ${relu6} gradient ${i}: two rows vs one`).toBe(true)
          expect(sameBits(two[i]!, js[i]!), `${N}×${C} relu6 ${relu6} gradient ${i}: two rows vs JavaScript`).toBe(true)
        }
        // and the values: the layer norm's gradient in float64 here, from the inputs
        const [xs, gs, bs, rs] = [await x.data(), await gamma.data(), await beta.data(), await r.data()]
        const dx = new Float64Array(N * C)
        const dg = new Float64Array(C)
        const db = new Float64Array(C)
        for (let n = 0; n < N; n++) {
          const row = Array.from(xs.subarray(n * C, (n + 1) * C))
          const mu = row.reduce((a, v) => a + v, 0) / C
          const sd = Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / C + 1e-5)
          const xh = row.map((v) => (v - mu) / sd)
          // the gradient reaching z = x̂·γ + β (zero where ReLU6 clips)
          const dz = xh.map((v, c) => (relu6 && !(v * gs[c]! + bs[c]! >= 0 && v * gs[c]! + bs[c]! <= 6) ? 0 : rs[n * C + c]!))
          const e = dz.map((v, c) => v * gs[c]!)
          const m1 = e.reduce((a, v) => a + v, 0) / C
          const m2 = e.reduce((a, v, c) => a + v * xh[c]!, 0) / C
          for (let c = 0; c < C; c++) {
            dx[n * C + c] = (e[c]! - m1 - xh[c]! * m2) / sd
            dg[c]! += dz[c]! * xh[c]!
            db[c]! += dz[c]!
          }
        }
        const close = (got: Float32Array, want: Float64Array) => got.every((v, i) => Math.abs(v - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)))
        expect(close(two[0]!, dx), `${N}×${C} relu6 ${relu6} dx`).toBe(true)
        expect(close(two[1]!, dg), `${N}×${C} relu6 ${relu6} dgamma`).toBe(true)
        expect(close(two[2]!, db), `${N}×${C} relu6 ${relu6} dbeta`).toBe(true)
        if (C > 1) expect(two[0]!.some((v) => v !== 0), `${N}×${C} relu6 ${relu6}: some gradient through`).toBe(true)
      }
      tf.dispose([x, gamma, beta, r])
    }
  })

  it('normgrad2 on a memory of its own: the float64 gain and shift sums of normgrad and of normGradRow bit for bit, rows added in order', () => {
    // The kernel's float32 gradients hide most float64 differences; here the float64 sums
    // themselves: adding row r + 1's term before row r's changes some of their last bits.
    const memory = new WebAssembly.Memory({ initial: 64 })
    const m = lmSimdModule(memory)!
    expect(m).not.toBeNull()
    const sameF64 = (a: Float64Array, b: Float64Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]))
    for (const [N, C] of [
      [64, 128],
      [65, 128],
      [1, 128],
      [2, 32],
      [33, 96],
      [9, 192],
      [7, 256],
      [3, 5],
      [1, 1],
    ] as const) {
      const n = N * C
      // byte offsets: x, dy, dx, γ, β, then scratch (48·C bytes for normgrad2)
      const [ox, og, od, ogm, obt, osc] = [0, 4 * n, 8 * n, 12 * n, 12 * n + 4 * C, 8 * Math.ceil((12 * n + 8 * C) / 8)]
      const f32 = (o: number, len: number) => new Float32Array(memory.buffer, o, len)
      f32(ox, n).set(wave(n, 0.31, 3))
      f32(og, n).set(wave(n, 0.17, 1.7))
      f32(ogm, C).set(wave(C, 0.7, 2))
      f32(obt, C).set(wave(C, 0.9, 3))
      for (const clip of [0, 1]) {
        const run = (pass: 'normgrad' | 'normgrad2') => {
          f32(od, n).fill(NaN)
          new Float64Array(memory.buffer, osc, 6 * C).fill(NaN)
          m[pass](od, ox, ogm, obt, og, osc, N, C, clip, 1e-5)
          return { dx: f32(od, n).slice(), accG: new Float64Array(memory.buffer, osc, C).slice(), accB: new Float64Array(memory.buffer, osc + 8 * C, C).slice() }
        }
        const two = run('normgrad2')
        const one = run('normgrad')
        const js = { dx: new Float32Array(n), accG: new Float64Array(C), accB: new Float64Array(C) }
        const [xhat, gh] = [new Float64Array(C), new Float64Array(C)]
        for (let r = 0; r < N; r++) normGradRow(js.dx, js.accG, js.accB, xhat, gh, f32(ox, n), f32(ogm, C), f32(obt, C), f32(og, n), r * C, C, clip === 1)
        const what = `${N}×${C} clip ${clip}`
        expect(sameBits(two.dx, one.dx), `${what} dx vs normgrad`).toBe(true)
        expect(sameBits(two.dx, js.dx), `${what} dx vs normGradRow`).toBe(true)
        expect(sameF64(two.accG, one.accG), `${what} gain sums vs normgrad`).toBe(true)
        expect(sameF64(two.accG, js.accG), `${what} gain sums vs normGradRow`).toBe(true)
        expect(sameF64(two.accB, one.accB), `${what} shift sums vs normgrad`).toBe(true)
        expect(sameF64(two.accB, js.accB), `${what} shift sums vs normGradRow`).toBe(true)
        // every output written (the NaN fill gone)
        expect(two.dx.every((v) => !Number.isNaN(v)) && two.accG.every((v) => !Number.isNaN(v)), what).toBe(true)
      }
    }
  })

  it('channel norm forward four rows at a time (normfwd): the bits of the op path’s tfjs-wasm kernels (moments, sub, sqrt, div, mul, add)', async () => {
    // rows: multiples of 4, and 1–3 left for the one-row tail; widths as above
    for (const [N, C] of [
      [64, 128],
      [67, 128],
      [1, 128],
      [2, 32],
      [3, 96],
      [5, 192],
      [8, 256],
      [6, 5],
      [4, 1],
    ] as const) {
      const x = tf.tensor2d(wave(N * C, 0.31, 3), [N, C])
      const gamma = tf.tensor1d(wave(C, 0.7, 2))
      const beta = tf.tensor1d(wave(C, 0.9, 3))
      // the op path (what the fused kernel replaced), tf ops on wasm
      const ops = tf.tidy(() => {
        const { mean, variance } = tf.moments(x, -1, true)
        return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta)
      })
      const want = (await ops.data()) as Float32Array
      for (const relu6 of [false, true]) {
        const got: Float32Array[] = []
        for (const tfjs of [false, true]) {
          benchSwitch.tfjsNormForward = tfjs
          const before = tf.memory().numTensors
          const y = channelNormFused(x, gamma, beta, relu6)
          got.push((await y.data()) as Float32Array)
          y.dispose()
          expect(tf.memory().numTensors).toBe(before)
        }
        const clipped = relu6 ? want.map((v) => Math.min(Math.max(v, 0), 6)) : want
        expect(sameBits(got[0]!, got[1]!), `${N}×${C} relu6 ${relu6}: normfwd vs the tfjs kernels`).toBe(true)
        expect(sameBits(got[0]!, clipped), `${N}×${C} relu6 ${relu6}: normfwd vs tf ops`).toBe(true)
      }
      // and near the float64 normalisation of each row
      let worst = 0
      const xs = await x.data()
      const [gs, bs] = [await gamma.data(), await beta.data()]
      for (let n = 0; n < N; n++) {
        const row = Array.from(xs.subarray(n * C, (n + 1) * C))
        const mu = row.reduce((a, v) => a + v, 0) / C
        const sd = Math.sqrt(row.reduce((a, v) => a + (v - mu) ** 2, 0) / C + 1e-5)
        for (let c = 0; c < C; c++) worst = Math.max(worst, Math.abs(want[n * C + c]! - (((row[c]! - mu) / sd) * gs[c]! + bs[c]!)))
      }
      expect(worst, `${N}×${C}`).toBeLessThan(1e-4)
      tf.dispose([x, gamma, beta, ops])
    }
  })

  it('attention softmax gradient: the JavaScript pass’s bits', async () => {
    for (const [B, H, T] of [
      [2, 4, 64],
      [1, 3, 5],
    ] as const) {
      const n = B * H * T * T
      const s = tf.tensor4d(wave(n, 0.23, 3), [B, H, T, T])
      const r = tf.tensor4d(wave(n, 0.41), [B, H, T, T])
      const mask = causalMask(T)
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(causalSoftmaxFused(a as tf.Tensor4D, mask, 1 / Math.sqrt(32)), r)))
      const [simd, js] = await bothWays(() => [g(s)])
      expect(sameBits(simd[0]!, js[0]!), `${B}×${H}×${T}`).toBe(true)
      expect(simd[0]!.some((v) => v !== 0)).toBe(true)
      tf.dispose([s, r])
    }
  })

  it('heads: split, merge, to rows and back move the JavaScript’s values (forward and gradients)', async () => {
    for (const [B, H, T, hd] of [
      [2, 4, 64, 32],
      [3, 2, 5, 3],
    ] as const) {
      const D = H * hd
      const qkv = tf.tensor2d(wave(B * T * 3 * D, 0.37, 2), [B * T, 3 * D])
      const r = tf.tensor2d(wave(B * T * D, 0.11), [B * T, D])
      const f = (x: tf.Tensor) => {
        const [q, kT, v] = splitHeadsFused(x as tf.Tensor2D, B, H)
        // every head output used differently, so each gradient path carries its own values
        return headsToRowsFused(tf.add(tf.add(tf.mul(q, 3), v), tf.mul(tf.transpose(kT, [0, 1, 3, 2]), -2)) as tf.Tensor4D)
      }
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), r)))
      const [simd, js] = await bothWays(() => tf.tidy(() => [...splitHeadsFused(qkv, B, H), f(qkv), g(qkv)]))
      simd.forEach((a, i) => expect(sameBits(a, js[i]!), `${B}×${H}×${T}×${hd} output ${i}`).toBe(true))
      // and by index: kᵀ[n, h, e, t] = qkv[n·T + t, D + h·hd + e]
      const kT = simd[1]!
      const src = await qkv.data()
      let wrong = 0
      for (let n = 0; n < B; n++) for (let h = 0; h < H; h++) for (let e = 0; e < hd; e++) for (let t = 0; t < T; t++) if (kT[((n * H + h) * hd + e) * T + t] !== src[(n * T + t) * 3 * D + D + h * hd + e]) wrong++
      expect(wrong).toBe(0)
      tf.dispose([qkv, r])
    }
  })
})
