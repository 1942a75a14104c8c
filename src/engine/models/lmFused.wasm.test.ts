import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { GATHER_ROWS, gatherRowsFused, CAUSAL_SOFTMAX, GELU, HEADS_TO_ROWS, MERGE_HEADS, ROWS_TO_HEADS, ROW_SUM, SOFTMAX_GRAD, SPLIT_HEADS, GELU_GRAD, causalSoftmaxFused, geluFused, headsToRowsFused, layerNormFused, rowSumFused, splitHeadsFused } from './lmFused'
import { CHANNEL_NORM, CHANNEL_NORM_GRAD } from './cnnFused'
import { benchSwitch } from '../benchSwitches'
import { causalMask, gelu } from './tinyGpt'
import { biasAdd } from './biasAdd'
import { embeddingLookup } from './embeddingLookup'
import { kernelsOf, relErr, tinyLmWholeSteps } from './wasmKernelChecks'

const root = resolve(__dirname, '../../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))
const wave = (n: number, k: number, amp = 1) => Float32Array.from({ length: n }, (_, i) => amp * (Math.sin(i * k + 0.3) + 0.1 * Math.cos(i * 0.017)))

const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]))


beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
})
afterEach(() => {
  benchSwitch.lmOpPath = false
})

/** Value and gradients of sum(f(inputs) · r) on a backend, with the kernels that ran. */
async function valueAndGrads(backend: string, make: () => tf.Tensor[], f: (...xs: tf.Tensor[]) => tf.Tensor, rSeed = 0.23) {
  await tf.setBackend(backend)
  const xs = make()
  const shape = tf.tidy(() => f(...xs).shape)
  const r = tf.tensor(wave(shape.reduce((a, d) => a * d, 1), rSeed), shape)
  const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)))
  tf.dispose(g(xs)) // warm up
  const before = tf.memory().numTensors
  const kernels = await kernelsOf(() => [tf.tidy(() => f(...xs)), ...g(xs)])
  const y = tf.tidy(() => f(...xs))
  const gs = g(xs)
  const out = { y: (await y.data()) as Float32Array, grads: await Promise.all(gs.map(async (t) => (await t.data()) as Float32Array)), kernels }
  tf.dispose([y, ...gs])
  expect(tf.memory().numTensors, `${backend}: tensors flat`).toBe(before)
  tf.dispose([...xs, r])
  return out
}

describe("tiny-lm's fused kernels on the wasm backend", () => {
  it('row sums equal column sums in float64 and the cpu backend’s tf.sum; a bias gradient takes them', async () => {
    for (const [n, m] of [
      [1, 7],
      [13, 5],
      [1024, 128],
      [37, 1],
    ] as const) {
      const xv = wave(n * m, 0.37, 3)
      const want = new Float64Array(m)
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) want[j]! += xv[i * m + j]!
      const x = tf.tensor2d(xv, [n, m])
      const got = rowSumFused(x)
      expect(got.shape).toEqual([m])
      expect(relErr(await got.data(), want), `${n}×${m}`).toBeLessThan(1e-6)
      tf.dispose([x, got])
    }
    // The bias gradient of biasAdd on wasm is this kernel; behind the switch, the ones-row product.
    const run = () => {
      const y = tf.tensor2d(wave(6 * 4, 0.3), [6, 4])
      const bias = tf.tensor1d([0.1, -0.2, 0.3, 0.4])
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(biasAdd(a as tf.Tensor2D, b), tf.range(0, 24).reshape([6, 4]))))
      return kernelsOf(() => {
        const out = g([y, bias])
        tf.dispose([y, bias])
        return out
      })
    }
    expect(await run()).toContain(ROW_SUM)
    benchSwitch.lmOpPath = true
    const old = await run()
    expect(old).not.toContain(ROW_SUM)
    expect(old).toContain('BatchMatMul')
  })

  it('GELU: the op path’s forward bit for bit, its gradient as the cpu backend’s op path to float32 rounding and as the derivative in float64', async () => {
    for (const shape of [[3, 5], [1, 1], [17, 33]]) {
      const n = shape.reduce((a, b) => a * b, 1)
      const make = () => [tf.tensor(wave(n, 0.61, 4), shape)] // −4.4..4.4: both tails and the middle
      const fused = await valueAndGrads('wasm', make, (x) => geluFused(x))
      const ops = await valueAndGrads('wasm', make, (x) => gelu(x))
      const cpu = await valueAndGrads('cpu', make, (x) => gelu(x))
      await tf.setBackend('wasm')
      expect(fused.kernels).toContain(GELU)
      expect(fused.kernels).toContain(GELU_GRAD)
      expect(fused.kernels).not.toContain('Sigmoid') // only inside the fused kernel
      expect(sameBits(fused.y, ops.y), `${shape}: forward bit for bit`).toBe(true)
      expect(relErr(fused.grads[0]!, cpu.grads[0]!), `${shape}`).toBeLessThan(2e-6)
      // Independently: d/dx of 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) · r, in float64.
      const xv = wave(n, 0.61, 4)
      const rv = wave(n, 0.23)
      const c = Math.sqrt(2 / Math.PI)
      const want = Array.from(xv, (x, i) => {
        const u = c * (x + 0.044715 * x ** 3)
        const th = Math.tanh(u)
        return rv[i]! * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + 3 * 0.044715 * x * x))
      })
      expect(relErr(fused.grads[0]!, want), `${shape}: float64 derivative`).toBeLessThan(2e-6)
    }
  })

  it('causal softmax: the op path’s forward bit for bit, its gradient as the cpu backend’s op path', async () => {
    for (const [B, H, T] of [
      [1, 1, 1],
      [2, 3, 5],
      [3, 4, 17],
    ] as const) {
      const scale = 1 / Math.sqrt(7)
      const make = () => [tf.tensor(wave(B * H * T * T, 0.71, 6), [B, H, T, T])]
      const ops = (s: tf.Tensor) => tf.softmax(tf.add(tf.mul(s, scale), causalMask(T)))
      const fused = await valueAndGrads('wasm', make, (s) => causalSoftmaxFused(s as tf.Tensor4D, causalMask(T), scale))
      const opsWasm = await valueAndGrads('wasm', make, ops)
      const cpu = await valueAndGrads('cpu', make, ops)
      await tf.setBackend('wasm')
      expect(fused.kernels).toContain(CAUSAL_SOFTMAX)
      expect(fused.kernels).toContain(SOFTMAX_GRAD)
      expect(sameBits(fused.y, opsWasm.y), `${B}×${H}×${T}: forward bit for bit`).toBe(true)
      // Masked entries are exactly 0 and each row sums to 1.
      for (let r = 0; r < B * H * T; r++) {
        let s = 0
        for (let c = 0; c < T; c++) {
          if (c > r % T) expect(fused.y[r * T + c]).toBe(0)
          s += fused.y[r * T + c]!
        }
        expect(Math.abs(s - 1)).toBeLessThan(1e-6)
      }
      expect(relErr(fused.grads[0]!, cpu.grads[0]!), `${B}×${H}×${T}`).toBeLessThan(1e-5)
    }
  })

  it('the heads: split and merge move the values of tf.split and the transposes exactly, both ways', async () => {
    for (const [B, T, H, hd] of [
      [1, 1, 1, 1],
      [2, 5, 3, 2],
      [3, 17, 4, 8],
    ] as const) {
      const D = H * hd
      const make = () => [tf.tensor2d(wave(B * T * 3 * D, 0.53), [B * T, 3 * D])]
      // q·kᵀ products, then the heads back to rows: touches all three outputs and both kernels.
      const fusedF = (qkv: tf.Tensor) => {
        const [q, kT, v] = splitHeadsFused(qkv as tf.Tensor2D, B, H)
        return headsToRowsFused(tf.add(tf.matMul(tf.matMul(q, kT), v), tf.mul(q, 2)) as tf.Tensor4D)
      }
      const opsF = (qkv: tf.Tensor) => {
        const [q, k, v] = tf.split(qkv, 3, 1).map((p) => p.reshape([B, T, H, hd]).transpose([0, 2, 1, 3]))
        return tf.add(tf.matMul(tf.matMul(q!, k!, false, true), v!), tf.mul(q!, 2)).transpose([0, 2, 1, 3]).reshape([B * T, D])
      }
      const fused = await valueAndGrads('wasm', make, fusedF)
      const ops = await valueAndGrads('wasm', make, opsF)
      expect(fused.kernels).toEqual(expect.arrayContaining([SPLIT_HEADS, HEADS_TO_ROWS, MERGE_HEADS, ROWS_TO_HEADS]))
      expect(fused.kernels).not.toContain('SplitV')
      expect(relErr(fused.y, ops.y)).toBeLessThan(1e-6)
      expect(relErr(fused.grads[0]!, ops.grads[0]!)).toBeLessThan(1e-6)
      // The moves alone are exact: q, kᵀ, v against a hand-indexed copy.
      const qkvV = wave(B * T * 3 * D, 0.53)
      const qkv = tf.tensor2d(qkvV, [B * T, 3 * D])
      const [q, kT, v] = splitHeadsFused(qkv, B, H)
      const [qd, kd, vd] = [await q.data(), await kT.data(), await v.data()]
      for (let n = 0; n < B; n++)
        for (let h = 0; h < H; h++)
          for (let t = 0; t < T; t++)
            for (let e = 0; e < hd; e++) {
              const src = (n * T + t) * 3 * D + h * hd + e
              expect(qd[((n * H + h) * T + t) * hd + e]).toBe(qkvV[src])
              expect(kd[((n * H + h) * hd + e) * T + t]).toBe(qkvV[src + D])
              expect(vd[((n * H + h) * T + t) * hd + e]).toBe(qkvV[src + 2 * D])
            }
      const back = headsToRowsFused(v)
      const bd = await back.data()
      for (let i = 0; i < B * T; i++) for (let j = 0; j < D; j++) expect(bd[i * D + j]).toBe(qkvV[i * 3 * D + 2 * D + j])
      tf.dispose([qkv, q, kT, v, back])
    }
  })

  it('embedding rows: tf.gather’s values exactly, the scatter-add gradient as on the cpu backend, a clear error for an id outside the table', async () => {
    const V = 11
    const D = 5
    const idsV = Int32Array.from([3, 0, 10, 3, 7, 7, 1])
    const make = () => [tf.tensor2d(wave(V * D, 0.77), [V, D])]
    const ids = tf.tensor1d(idsV, 'int32')
    const fused = await valueAndGrads('wasm', make, (t) => embeddingLookup(t as tf.Tensor2D, ids))
    const cpu = await valueAndGrads('cpu', make, (t) => embeddingLookup(t as tf.Tensor2D, ids))
    await tf.setBackend('wasm')
    expect(fused.kernels).toContain(GATHER_ROWS)
    expect(fused.kernels).not.toContain('GatherV2')
    expect(sameBits(fused.y, cpu.y)).toBe(true)
    expect(relErr(fused.grads[0]!, cpu.grads[0]!)).toBeLessThan(1e-6)
    const tv = wave(V * D, 0.77)
    for (let i = 0; i < idsV.length; i++) for (let j = 0; j < D; j++) expect(fused.y[i * D + j]).toBe(tv[idsV[i]! * D + j])
    const table = tf.tensor2d(tv, [V, D])
    const before = tf.memory().numTensors
    expect(() => gatherRowsFused(table, tf.tensor1d([2, V], 'int32'))).toThrow(`token id ${V} at position 1 is outside the table's ${V} rows`)
    expect(tf.memory().numTensors).toBe(before + 1) // the ids only: no output left behind
    tf.dispose([table, ids])
  })

  it('layer norm: the op path’s forward bit for bit, gradients as the cpu backend’s op path', async () => {
    for (const [B, T, D] of [
      [1, 1, 3],
      [2, 5, 7],
      [3, 17, 128],
    ] as const) {
      const make = () => [tf.tensor3d(wave(B * T * D, 0.37, 2), [B, T, D]), tf.tensor1d(wave(D, 0.9, 1.5)), tf.tensor1d(wave(D, 1.3))]
      const ops = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const { mean, variance } = tf.moments(x, -1, true)
        return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b)
      }
      const fused = await valueAndGrads('wasm', make, (x, g, b) => layerNormFused(x!, g!, b!))
      const opsWasm = await valueAndGrads('wasm', make, ops)
      const cpu = await valueAndGrads('cpu', make, ops)
      await tf.setBackend('wasm')
      expect(fused.kernels).toEqual(expect.arrayContaining([CHANNEL_NORM, CHANNEL_NORM_GRAD]))
      expect(sameBits(fused.y, opsWasm.y), `${B}×${T}×${D}: forward bit for bit`).toBe(true)
      for (let i = 0; i < 3; i++) expect(relErr(fused.grads[i]!, cpu.grads[i]!), `${B}×${T}×${D} gradient ${i}`).toBeLessThan(1e-5)
    }
  })

  it("gives the built-in tiny-lm's full fine-tuning step the op path's loss and all 52 gradients (cpu backend, and wasm with the fused kernels off), fewer kernels, tensors and wasm bytes flat", async () => {
    const step = async (backend: string, opPath: boolean) => {
      await tf.setBackend(backend)
      benchSwitch.lmOpPath = opPath
      const results = await tinyLmWholeSteps(fileFetch, backend, true)
      benchSwitch.lmOpPath = false
      return results
    }
    const cpu = await step('cpu', false)
    const fused = await step('wasm', false)
    const ops = await step('wasm', true)
    for (let c = 0; c < cpu.length; c++) {
      expect(fused[c]!.kernels).toEqual(expect.arrayContaining([GATHER_ROWS, SPLIT_HEADS, CAUSAL_SOFTMAX, GELU, CHANNEL_NORM, ROW_SUM, MERGE_HEADS, SOFTMAX_GRAD, GELU_GRAD, CHANNEL_NORM_GRAD, ROWS_TO_HEADS]))
      expect(ops[c]!.kernels).not.toContain(GELU)
      expect(fused[c]!.kernels.length).toBeLessThan(ops[c]!.kernels.length * 0.6)
      expect(Math.abs(fused[c]!.loss - cpu[c]!.loss) / Math.abs(cpu[c]!.loss)).toBeLessThan(1e-5)
      expect(Math.abs(fused[c]!.loss - ops[c]!.loss) / Math.abs(ops[c]!.loss)).toBeLessThan(1e-6)
      expect(cpu[c]!.grads.length).toBe(52)
      let worstCpu = 0
      let worstOps = 0
      cpu[c]!.grads.forEach((g, i) => {
        worstCpu = Math.max(worstCpu, relErr(fused[c]!.grads[i]!, g))
        worstOps = Math.max(worstOps, relErr(fused[c]!.grads[i]!, ops[c]!.grads[i]!))
      })
      expect(worstCpu).toBeLessThan(1e-4)
      expect(worstOps).toBeLessThan(1e-4)
    }
  }, 300_000)
})
