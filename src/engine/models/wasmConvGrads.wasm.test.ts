import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it } from 'vitest'
import { LayersBody } from './layersBody'
import { tinyImageModel } from './testModels'
import { oldKernels } from '../benchSwitches'
import { registerWasmConvGrads } from './wasmConvGrads'

const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k + 0.3))

/** Gradients of sum(conv(x, w) · r) with respect to x and w, on the current backend. */
async function convGrads(kind: 'conv' | 'depthwise', xShape: [number, number, number, number], wShape: [number, number, number, number], stride: number, pad: 'same' | 'valid', dilation = 1) {
  const x = tf.tensor4d(wave(xShape.reduce((a, b) => a * b), 0.37), xShape)
  const w = tf.tensor4d(wave(wShape.reduce((a, b) => a * b), 0.71), wShape)
  const f = (xx: tf.Tensor4D, ww: tf.Tensor4D) => {
    const y = kind === 'conv' ? tf.conv2d(xx, ww, stride, pad) : tf.depthwiseConv2d(xx, ww, stride, pad, 'NHWC', dilation)
    return tf.sum(tf.mul(y, tf.tensor(wave(y.size, 0.13), y.shape))) as tf.Scalar
  }
  const [dx, dw] = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([x, w])
  const out = { dx: (await dx!.data()) as Float32Array, dw: (await dw!.data()) as Float32Array }
  tf.dispose([x, w, dx!, dw!])
  return out
}

const CASES: [string, 'conv' | 'depthwise', [number, number, number, number], [number, number, number, number], number, 'same' | 'valid', number?][] = [
  ['conv 3×3 stride 1 same', 'conv', [2, 6, 6, 3], [3, 3, 3, 4], 1, 'same'],
  ['conv 3×3 stride 2 same (odd size)', 'conv', [2, 7, 7, 2], [3, 3, 2, 5], 2, 'same'],
  ['conv 1×1 valid', 'conv', [1, 4, 4, 6], [1, 1, 6, 3], 1, 'valid'],
  ['conv 1×1 same, batch 3 (the matrix-product path, as in MobileNet pointwise convs)', 'conv', [3, 5, 5, 8], [1, 1, 8, 12], 1, 'same'],
  ['conv 1×1 stride 2 (the loops)', 'conv', [2, 6, 6, 4], [1, 1, 4, 3], 2, 'same'],
  ['depthwise 3×3 stride 1 same', 'depthwise', [2, 6, 6, 3], [3, 3, 3, 1], 1, 'same'],
  ['depthwise 3×3 stride 2 same, multiplier 2', 'depthwise', [2, 7, 7, 2], [3, 3, 2, 2], 2, 'same'],
]

describe('conv gradient kernels added to the wasm backend', () => {
  it('are missing from wasm before registration and then match the cpu backend', async () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined()
    registerWasmConvGrads()
    registerWasmConvGrads() // idempotent
    for (const [name, ...args] of CASES) {
      await tf.setBackend('cpu')
      const cpu = await convGrads(...args)
      expect(await tf.setBackend('wasm')).toBe(true)
      const wasm = await convGrads(...args)
      for (const k of ['dx', 'dw'] as const) {
        expect(wasm[k].length, `${name} ${k}`).toBe(cpu[k].length)
        const err = Math.max(...Array.from(cpu[k], (v, i) => Math.abs(v - wasm[k][i]!)))
        expect(err, `${name} ${k}`).toBeLessThan(1e-4)
      }
    }
  })

  it('lets a layers model train every conv block on wasm, with the cpu backend\'s gradients', async () => {
    registerWasmConvGrads()
    const grads = async () => {
      const body = new LayersBody(tinyImageModel(4)) // conv (stride 2) → depthwise → pointwise
      const vars = body.params.map((p) => p.variable)
      const x = tf.tensor4d(wave(2 * 16 * 16 * 3, 0.5).map((v) => 127 + 100 * v), [2, 16, 16, 3])
      const r = tf.variableGrads(() => tf.mean(tf.square(body.pool(body.forwardFrom(body.prefix(x, 0), 0), null))) as tf.Scalar, vars)
      const out = new Map<string, Float32Array>()
      for (const p of body.params) out.set(p.name, (await r.grads[p.variable.name]!.data()) as Float32Array)
      tf.dispose([r.value, x, ...Object.values(r.grads)])
      body.dispose()
      return out
    }
    await tf.setBackend('cpu')
    const cpu = await grads()
    expect(await tf.setBackend('wasm')).toBe(true)
    const wasm = await grads()
    for (const [name, g] of cpu) {
      const scale = Math.max(...Array.from(g, Math.abs))
      expect(scale, name).toBeGreaterThan(0)
      const err = Math.max(...Array.from(g, (v, i) => Math.abs(v - wasm.get(name)![i]!)))
      expect(err / scale, name).toBeLessThan(1e-3)
    }
    await tf.setBackend('cpu')
  })
  it('a pointwise conv\'s weight gradient is a plain product after a transpose (Ci ≤ Co and Ci > Co): a triple loop\'s values, the old transposeA product\'s, no buffers left', async () => {
    registerWasmConvGrads()
    expect(await tf.setBackend('wasm')).toBe(true)
    const be = tf.backend() as unknown as { numDataIds(): number }
    // the backend's own BatchMatMul, registered again with a recorder of the transposes it is asked for
    const real = tf.getKernel('BatchMatMul', 'wasm')!
    const asked: boolean[] = []
    tf.unregisterKernel('BatchMatMul', 'wasm')
    tf.registerKernel({ ...real, setupFunc: undefined, kernelFunc: (args) => (asked.push(!!args.attrs?.transposeA || !!args.attrs?.transposeB), real.kernelFunc(args)) })
    try {
    for (const [n, h, ci, co] of [[2, 5, 7, 13], [1, 6, 24, 5], [3, 4, 16, 16]] as const) {
      const x = tf.tensor4d(wave(n * h * h * ci, 0.37), [n, h, h, ci])
      const dy = tf.tensor4d(wave(n * h * h * co, 0.19), [n, h, h, co])
      // dW[ci, co] = Σ_rows x[row, ci] · dy[row, co], in float64
      const xv = await x.data(), dv = await dy.data()
      const want = new Float64Array(ci * co)
      for (let r = 0; r < n * h * h; r++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) want[i * co + o]! += xv[r * ci + i]! * dv[r * co + o]!
      const run = async (old: boolean) => {
        oldKernels.convGradTransposeA = old
        try {
          const before = be.numDataIds()
          const g = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, ci, co] }) as tf.Tensor
          expect(g.shape).toEqual([1, 1, ci, co])
          const v = Float32Array.from(await g.data())
          g.dispose()
          expect(be.numDataIds(), 'no intermediate left on the heap').toBe(before)
          return v
        } finally {
          oldKernels.convGradTransposeA = false
        }
      }
      asked.length = 0
      const fresh = await run(false)
      expect(asked, 'one plain product').toEqual([false])
      const old = await run(true)
      expect(asked, 'then the transposeA product').toEqual([false, true])
      const scale = Math.max(...Array.from(want, Math.abs))
      for (let i = 0; i < want.length; i++) {
        expect(Math.abs(fresh[i]! - want[i]!) / scale, `${ci}→${co} new [${i}]`).toBeLessThan(1e-5)
        expect(Math.abs(old[i]! - want[i]!) / scale, `${ci}→${co} old [${i}]`).toBeLessThan(1e-5)
      }
      tf.dispose([x, dy])
    }
    } finally {
      tf.unregisterKernel('BatchMatMul', 'wasm')
      tf.registerKernel({ ...real, setupFunc: undefined })
    }
    await tf.setBackend('cpu')
  })
})
