import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SWAP_LAST, heapTransposeSimd, swapLastAxes, swapModule } from './heapTranspose'
import { matMulFast } from './matMulFast'
import { benchSwitch } from '../benchSwitches'
import { kernelsOf, relErr } from './wasmKernelChecks'

const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k + 0.3) + 0.1 * Math.cos(i * 0.017))

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
})
afterEach(() => {
  benchSwitch.jsTranspose = false
  benchSwitch.tfjsTranspose = false
  benchSwitch.widePacking = false
})

/** The bit patterns of x's values. */
async function bits(x: tf.Tensor): Promise<Int32Array> {
  const v = await x.data()
  return new Int32Array(v.buffer, v.byteOffset, v.length)
}

describe('StudioSwapLast (heapTranspose.ts) on the wasm backend', () => {
  it('runs the SIMD module in Node (the WebAssembly memory is not shared)', () => {
    expect(heapTransposeSimd()).toBe(true)
  })

  it('the module on a shared memory (the threaded backend’s) swaps as on the plain one', () => {
    for (const shared of [false, true]) {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared })
      const swap = swapModule(memory)!
      expect(swap, shared ? 'shared' : 'plain').not.toBeNull()
      const heap = new Int32Array(memory.buffer)
      const [R, C] = [32, 12]
      for (let i = 0; i < R * C; i++) heap[i] = i * 7 + 1
      swap(0, 4096, R, C, 32, 12)
      const out = new Int32Array(memory.buffer, 4096, R * C)
      let wrong = 0
      for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) if (out[c * R + r] !== r * C * 7 + c * 7 + 1) wrong++
      expect(wrong).toBe(0)
    }
  })

  it('equals tf.transpose bit for bit, NaN payloads and int32 included, SIMD and JavaScript alike', async () => {
    const shapes = [
      [1, 1],
      [5, 7],
      [16, 4],
      [17, 5],
      [33, 130],
      [1024, 128],
      [128, 512],
      [3, 2, 19, 21],
      [2, 4, 64, 32],
    ]
    for (const js of [false, true]) {
      benchSwitch.jsTranspose = js
      for (const shape of shapes) {
        const n = shape.reduce((a, d) => a * d, 1)
        const raw = new Int32Array(wave(n, 0.37).buffer)
        raw[n >> 1] = 0x7fc01234 // a NaN with a payload
        raw[n - 1] = -0x80000000 // −0
        const perm = shape.map((_, i) => i)
        perm[shape.length - 2] = shape.length - 1
        perm[shape.length - 1] = shape.length - 2
        for (const dtype of ['float32', 'int32'] as const) {
          const x = dtype === 'float32' ? tf.tensor(new Float32Array(raw.buffer.slice(0)), shape) : tf.tensor(raw.slice(), shape, 'int32')
          // want: the transpose by index, independent of any backend
          const R = shape[shape.length - 2]!
          const C = shape[shape.length - 1]!
          const want = new Int32Array(n)
          for (let s = 0; s < n; s += R * C) for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) want[s + c * R + r] = raw[s + r * C + c]!
          const before = tf.memory().numTensors
          const y = swapLastAxes(x)
          expect(y.shape, `${shape}`).toEqual(perm.map((p) => shape[p]))
          expect(y.dtype).toBe(dtype)
          expect(Array.from(await bits(y)), `${js ? 'js' : 'simd'} ${dtype} [${shape}]`).toEqual(Array.from(want))
          const t = tf.transpose(x, perm)
          expect(Array.from(await bits(t)), `tf.transpose ${dtype} [${shape}]`).toEqual(Array.from(want))
          tf.dispose([y, t])
          expect(tf.memory().numTensors).toBe(before)
          x.dispose()
        }
      }
    }
  })

  it('its gradient swaps dy back; tf.transpose behind the switch', async () => {
    const x = tf.tensor(wave(2 * 5 * 7, 0.3), [2, 5, 7])
    const r = tf.tensor(wave(2 * 7 * 5, 0.11), [2, 7, 5])
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(swapLastAxes(a), r)))
    const k = await kernelsOf(() => g(x))
    expect(k).toContain(SWAP_LAST)
    expect(k).not.toContain('Transpose')
    const got = g(x)
    expect(Array.from(await got.data())).toEqual(Array.from(await tf.transpose(r, [0, 2, 1]).data()))
    benchSwitch.tfjsTranspose = true
    const old = await kernelsOf(() => g(x))
    expect(old).toContain('Transpose')
    expect(old).not.toContain(SWAP_LAST)
    tf.dispose([x, r, got])
  })
})

describe("matMulFast's weight gradient packs the narrower operand (widePacking switch: as before)", () => {
  it('a [N, K]·b [K, M]: the value bit for bit both ways, gradients within float32 rounding of float64', async () => {
    for (const [N, K, M] of [
      [37, 5, 11],
      [37, 11, 5],
      [29, 8, 8],
      [1024, 128, 512],
      [1024, 512, 128],
      [1024, 128, 384],
    ] as const) {
      const av = wave(N * K, 0.37)
      const bv = wave(K * M, 0.23)
      const rv = wave(N * M, 0.19)
      // float64 references: db = aᵀ·r, da = r·bᵀ
      const db = new Float64Array(K * M)
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) db[k * M + m]! += av[n * K + k]! * rv[n * M + m]!
      const da = new Float64Array(N * K)
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) da[n * K + k]! += rv[n * M + m]! * bv[k * M + m]!
      const a = tf.tensor2d(av, [N, K])
      const b = tf.tensor2d(bv, [K, M])
      const r = tf.tensor2d(rv, [N, M])
      const f = tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(matMulFast(x as tf.Tensor2D, w as tf.Tensor2D), r)))
      const runs: { y: Float32Array; ga: Float32Array; gb: Float32Array; kernels: string[] }[] = []
      for (const old of [false, true]) {
        benchSwitch.widePacking = old
        tf.dispose(f([a, b]))
        const before = tf.memory().numTensors
        const kernels = await kernelsOf(() => f([a, b]))
        const y = matMulFast(a, b)
        const [ga, gb] = f([a, b])
        runs.push({ y: (await y.data()) as Float32Array, ga: (await ga!.data()) as Float32Array, gb: (await gb!.data()) as Float32Array, kernels })
        tf.dispose([y, ga!, gb!])
        expect(tf.memory().numTensors, `${N}×${K}×${M} tensors flat`).toBe(before)
      }
      const [now, old] = runs as [(typeof runs)[0], (typeof runs)[0]]
      expect(now.y.every((v, i) => Object.is(v, old.y[i])), `${N}×${K}×${M} forward`).toBe(true)
      for (const run of runs) {
        expect(relErr(run.ga, da), `${N}×${K}×${M} da`).toBeLessThan(1e-5)
        expect(relErr(run.gb, db), `${N}×${K}×${M} db`).toBeLessThan(1e-5)
        expect(run.kernels).not.toContain('Transpose')
      }
      // The form: the product that packs a ([M, N]·[N, K]) where K < M, else aᵀ·dy ([K, N]·[N, M]).
      benchSwitch.widePacking = false
      const prods = (await tf.profile(() => tf.dispose(f([a, b])))).kernels.filter((k) => k.name === 'BatchMatMul').map((k) => k.inputShapes.map((s) => `[${s}]`).join('·'))
      expect(prods, `${N}×${K}×${M}`).toContain(K < M ? `[${M},${N}]·[${N},${K}]` : `[${K},${N}]·[${N},${M}]`)
      tf.dispose([a, b, r])
    }
  })
})
