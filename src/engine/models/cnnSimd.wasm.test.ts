import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { benchSwitch } from '../benchSwitches'
import { depthwise3x3, relu6Fused } from './cnnFused'
import { cnnSimd, cnnSimdModule } from './cnnSimd'
import { EMOJI_CNN_CONFIG, TinyCnn } from './tinyCnn'
import { kernelsOf, relErr } from './wasmKernelChecks'

// The SIMD module's outputs against cnnFused.ts's JavaScript (benchSwitch.jsCnnKernels), bit for
// bit, and against plain tf ops on the cpu backend (the expected values never come from cnnSimd.ts).

const wave = (n: number, f: number, scale = 1, shift = 0) => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * f + 0.3) + shift)
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
})
afterEach(() => {
  benchSwitch.jsCnnKernels = false
})

/** Value and the gradients of Σ loss(...)·w (w a fixed wave) with respect to every input. */
async function valueAndGrads(backend: string, inputs: { shape: number[]; values: Float32Array }[], loss: (...xs: tf.Tensor[]) => tf.Tensor) {
  expect(await tf.setBackend(backend)).toBe(true)
  const xs = inputs.map((i) => tf.tensor(i.values, i.shape))
  const before = tf.memory().numTensors
  const y = tf.tidy(() => loss(...xs))
  const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(loss(...a), tf.tensor(wave(y.size, 0.71), y.shape))))(xs)
  const out = { y: (await y.data()) as Float32Array, grads: await Promise.all(g.map(async (t) => (await t.data()) as Float32Array)) }
  tf.dispose([y, ...g])
  expect(tf.memory().numTensors, 'tensor count flat').toBe(before)
  tf.dispose(xs)
  return out
}

/** The depthwise 3×3 with bias as the op path writes it: 9 shifted slices × per-channel weights. */
function opDepthwise(x: tf.Tensor, k: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [n, h, w, c] = x.shape as [number, number, number, number]
  const p = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
  const taps: tf.Tensor[] = []
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) taps.push(tf.mul(p.slice([0, dy, dx, 0], [n, h, w, c]), k.slice([dy, dx, 0], [1, 1, c]).reshape([c])))
  return tf.add(tf.addN(taps), b)
}

describe("cnnSimd.ts: the emoji CNN's depthwise filter gradient and ReLU6 gradient as WebAssembly SIMD", () => {
  it('loads on the wasm backend in Node, and on a shared memory', () => {
    expect(cnnSimd(tf.backend())).not.toBeNull()
    expect(cnnSimdModule(new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }))).not.toBeNull()
    benchSwitch.jsCnnKernels = true
    expect(cnnSimd(tf.backend())).toBeNull()
  })

  it('ReLU6 gradient: clipByValue’s gradient on cpu (bounds pass, NaN gives 0), and the JavaScript’s bits', async () => {
    const edge = [-2, 0, -0, 0.5, 3, 6, 6.5, 5.999, -0.001, NaN, Infinity, -Infinity]
    const values = Float32Array.from({ length: 4 * 5 * 6 * 8 }, (_, i) => (i < edge.length ? edge[i]! : 4 * Math.sin(i * 0.37)))
    const x = { shape: [4, 5, 6, 8], values }
    const cpu = await valueAndGrads('cpu', [x], (a) => tf.clipByValue(a, 0, 6))
    const simd = await valueAndGrads('wasm', [x], (a) => relu6Fused(a))
    benchSwitch.jsCnnKernels = true
    const js = await valueAndGrads('wasm', [x], (a) => relu6Fused(a))
    expect(bits(simd.grads[0]!)).toEqual(bits(js.grads[0]!))
    // cpu's clipByValue gradient lets NaN through as NaN·0 = NaN; the kernel, as tfjs-wasm's, gives 0.
    const want = cpu.grads[0]!.map((v, i) => (Number.isNaN(values[i]!) ? 0 : v))
    expect(Array.from(simd.grads[0]!)).toEqual(Array.from(want))
    // Written out: x = 0 and x = 6 pass the gradient weight sin(0.71 i + 0.3), x = 6.5 does not.
    expect(simd.grads[0]![1]).toBeCloseTo(Math.sin(0.71 + 0.3), 6)
    expect(simd.grads[0]![5]).toBeCloseTo(Math.sin(5 * 0.71 + 0.3), 6)
    expect(simd.grads[0]![6]).toBe(0)
    expect(simd.grads[0]!.filter((v) => v !== 0).length).toBeGreaterThan(100)
  })

  it('ReLU6 gradient with a length not a multiple of 4 takes the JavaScript, the same values', async () => {
    const x = { shape: [3, 7], values: wave(21, 0.9, 5, 2) }
    const cpu = await valueAndGrads('cpu', [x], (a) => tf.clipByValue(a, 0, 6))
    const wasm = await valueAndGrads('wasm', [x], (a) => relu6Fused(a))
    expect(Array.from(wasm.grads[0]!)).toEqual(Array.from(cpu.grads[0]!))
  })

  for (const [B, H, W, C] of [
    [2, 6, 7, 8],
    [3, 4, 4, 12],
    [1, 1, 1, 4], // every tap but the centre out of the image
    [2, 3, 5, 96],
  ] as const) {
    it(`depthwise 3×3 [${B}, ${H}, ${W}, ${C}]: filter and bias gradients the JavaScript’s bits, and the cpu op path’s values`, async () => {
      const inputs = [
        { shape: [B, H, W, C], values: wave(B * H * W * C, 0.53) },
        { shape: [3, 3, C], values: wave(9 * C, 1.13, 0.7) },
        { shape: [C], values: wave(C, 2.1, 0.2) },
      ]
      const f = (x: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => depthwise3x3(x as tf.Tensor4D, k, b)
      const simd = await valueAndGrads('wasm', inputs, f)
      benchSwitch.jsCnnKernels = true
      const js = await valueAndGrads('wasm', inputs, f)
      simd.grads.forEach((g, i) => expect(bits(g), `gradient ${i}`).toEqual(bits(js.grads[i]!)))
      const cpu = await valueAndGrads('cpu', inputs, opDepthwise)
      ;['dx', 'dfilter', 'dbias'].forEach((name, i) => expect(relErr(simd.grads[i]!, cpu.grads[i]!), name).toBeLessThan(1e-6))
      expect(simd.grads[1]!.some((v) => v !== 0) && simd.grads[2]!.some((v) => v !== 0)).toBe(true)
    })
  }
})

describe('a whole emoji-cnn step (the built-in layout) with the SIMD kernels', () => {
  it('the same loss and every weight gradient bit for bit as with the JavaScript, tensor count flat', async () => {
    const step = async () => {
      expect(await tf.setBackend('wasm')).toBe(true)
      const m = new TinyCnn(EMOJI_CNN_CONFIG, undefined, 7)
      const x = tf.tensor4d(wave(3 * 32 * 32 * 3, 0.013), [3, 32, 32, 3])
      const target = tf.tensor2d(wave(3 * 256, 0.29), [3, 256])
      const before = tf.memory().numTensors
      const r = tf.variableGrads(() => tf.mean(tf.square(tf.sub(m.pool(m.forward(x, { training: true }), null), target))) as tf.Scalar, m.params.map((p) => p.variable))
      const grads = new Map<string, Float32Array>()
      for (const p of m.params) grads.set(p.name, (await r.grads[p.variable.name]!.data()) as Float32Array)
      const loss = (await r.value.data())[0]!
      tf.dispose([r.value, ...Object.values(r.grads)])
      const leaked = tf.memory().numTensors - before
      const kernels = await kernelsOf(() => tf.variableGrads(() => tf.mean(m.pool(m.forward(x, { training: true }), null)) as tf.Scalar, m.params.map((p) => p.variable)).value)
      tf.dispose([x, target])
      m.dispose()
      return { loss, grads, leaked, kernels }
    }
    const simd = await step()
    benchSwitch.jsCnnKernels = true
    const js = await step()
    expect(simd.loss).toBeGreaterThan(0)
    expect(simd.loss).toBe(js.loss)
    expect(simd.grads.size).toBe(EMOJI_CNN_CONFIG.blocks.length * 6 + 6)
    for (const [name, g] of js.grads) expect(bits(simd.grads.get(name)!), name).toEqual(bits(g))
    expect(simd.leaked).toBe(0)
    expect(js.leaked).toBe(0)
    expect(simd.kernels.filter((k) => k === 'StudioDepthwise3x3Grad')).toHaveLength(EMOJI_CNN_CONFIG.blocks.length)
  })
})
