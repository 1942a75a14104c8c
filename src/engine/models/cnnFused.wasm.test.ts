import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, describe, expect, it } from 'vitest'
import { benchSwitch } from '../benchSwitches'
import { avgPool2, channelNormFused, cnnFusedActive, depthwise3x3, im2col3x3, relu6Fused } from './cnnFused'
import { EMOJI_CNN_CONFIG, TinyCnn, type TinyCnnConfig } from './tinyCnn'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { fineTune, Tuning } from '../train/fineTune'
import type { EncodedImages } from '../train/imageBatches'
import { RunControl } from '../train/runControl'

// Every expected value here comes from the cpu backend running plain tf ops (the formulation
// TinyCnn used before the fused kernels, and still uses off wasm), never from cnnFused.ts.

const wave = (n: number, f: number, scale = 1, shift = 0) => Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * f + 0.3) + shift)

/** Values and gradients of `loss(...inputs)` with respect to every input, on a backend. */
async function valueAndGrads(backend: string, inputs: { shape: number[]; values: Float32Array }[], loss: (...xs: tf.Tensor[]) => tf.Tensor) {
  expect(await tf.setBackend(backend)).toBe(true)
  const xs = inputs.map((i) => tf.tensor(i.values, i.shape))
  const y = tf.tidy(() => loss(...xs))
  const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(loss(...a), tf.tensor(wave(y.size, 0.71), y.shape))))(xs)
  const out = { y: (await y.data()) as Float32Array, grads: await Promise.all(g.map(async (t) => (await t.data()) as Float32Array)) }
  tf.dispose([...xs, y, ...g])
  return out
}

function expectClose(actual: Float32Array, expected: Float32Array, rel: number, what: string) {
  expect(actual.length, what).toBe(expected.length)
  const scale = Math.max(1e-6, ...expected.map(Math.abs))
  let err = 0
  for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(actual[i]! - expected[i]!))
  expect(err / scale, what).toBeLessThan(rel)
}

// The op path (tinyCnn.ts without the fused kernels), written out here.
const shifted = (x: tf.Tensor4D) => {
  const [b, h, w, c] = x.shape
  const p = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
  const out: tf.Tensor4D[] = []
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) out.push(p.slice([0, dy, dx, 0], [b, h, w, c]))
  return out
}
const opNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
  const { mean, variance } = tf.moments(x, -1, true)
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b)
}

describe('the emoji CNN fused kernels on wasm (cnnFused.ts) against tf ops on the cpu backend', () => {
  afterEach(() => {
    benchSwitch.cnnOpPath = false
  })

  it('im2col 3×3 and its gradient equal pad + 9 slices + concat', async () => {
    const x = { shape: [2, 5, 6, 3], values: wave(180, 0.37) }
    const cpu = await valueAndGrads('cpu', [x], (a) => tf.concat(shifted(a as tf.Tensor4D), 3))
    const wasm = await valueAndGrads('wasm', [x], (a) => im2col3x3(a as tf.Tensor4D))
    expectClose(wasm.y, cpu.y, 1e-7, 'patches')
    expectClose(wasm.grads[0]!, cpu.grads[0]!, 1e-6, 'dx')
  })

  it('ReLU6 and its gradient equal clipByValue(x, 0, 6), the bounds 0 and 6 passing the gradient', async () => {
    const values = Float32Array.from([-2, 0, 0.5, 3, 6, 6.5, 5.999, -0.001])
    const x = { shape: [2, 4], values }
    const cpu = await valueAndGrads('cpu', [x], (a) => tf.clipByValue(a, 0, 6))
    const wasm = await valueAndGrads('wasm', [x], (a) => relu6Fused(a))
    expect(Array.from(wasm.y)).toEqual(Array.from(cpu.y))
    expect(Array.from(wasm.grads[0]!)).toEqual(Array.from(cpu.grads[0]!))
    // Written out: gradient weights are sin(0.71 i + 0.3); positions 1 (x = 0) and 4 (x = 6) pass.
    expect(wasm.grads[0]![1]).toBeCloseTo(Math.sin(0.71 + 0.3), 6)
    expect(wasm.grads[0]![4]).toBeCloseTo(Math.sin(4 * 0.71 + 0.3), 6)
    expect(wasm.grads[0]![5]).toBe(0)
    // Bit for bit the op path's forward on wasm, NaN included.
    const both = tf.tidy(() => {
      const v = tf.tensor1d([NaN, 7, -1, 2.5, 6, 0])
      return [relu6Fused(v), tf.clipByValue(v, 0, 6)]
    })
    expect(Array.from(await both[0]!.data())).toEqual(Array.from(await both[1]!.data()))
    tf.dispose(both)
  })

  it('depthwise 3×3 with bias, and its three gradients, equal 9 shifted products summed', async () => {
    const C = 5
    const inputs = [
      { shape: [2, 6, 7, C], values: wave(2 * 6 * 7 * C, 0.53) },
      { shape: [3, 3, C], values: wave(9 * C, 1.13, 0.7) },
      { shape: [C], values: wave(C, 2.1, 0.2) },
    ]
    const opPath = (x: tf.Tensor, k: tf.Tensor, b: tf.Tensor) => {
      const taps = shifted(x as tf.Tensor4D).map((t, i) => tf.mul(t, k.slice([Math.floor(i / 3), i % 3, 0], [1, 1, C]).reshape([C])))
      return tf.add(tf.addN(taps), b)
    }
    const cpu = await valueAndGrads('cpu', inputs, opPath)
    const wasm = await valueAndGrads('wasm', inputs, (x, k, b) => depthwise3x3(x as tf.Tensor4D, k!, b!))
    expectClose(wasm.y, cpu.y, 1e-6, 'output')
    ;['dx', 'dfilter', 'dbias'].forEach((name, i) => expectClose(wasm.grads[i]!, cpu.grads[i]!, 1e-6, name))
    // The op path on wasm gives the same as on cpu, so the fused kernels are what is compared.
    const wasmOps = await valueAndGrads('wasm', inputs, opPath)
    expectClose(wasmOps.grads[1]!, cpu.grads[1]!, 1e-6, 'dfilter, ops on wasm')
  })

  for (const relu6 of [false, true]) {
    it(`channel LayerNorm${relu6 ? ' + ReLU6' : ''} and its gradients (x, gamma, beta) equal moments, sub, div, mul, add${relu6 ? ', clipByValue' : ''}`, async () => {
      const C = 12
      const inputs = [
        { shape: [4, 3, C], values: wave(4 * 3 * C, 0.91, 3, 0.5) },
        { shape: [C], values: wave(C, 0.77, 1.5, 1) },
        { shape: [C], values: wave(C, 1.9, 2, 1) },
      ]
      const opPath = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => (relu6 ? tf.clipByValue(opNorm(x, g, b), 0, 6) : opNorm(x, g, b))
      const cpu = await valueAndGrads('cpu', inputs, opPath)
      if (relu6) {
        const y = Array.from(cpu.y)
        expect(y.some((v) => v === 0) && y.some((v) => v > 0 && v < 6)).toBe(true) // both sides of the clip are exercised
      }
      const wasm = await valueAndGrads('wasm', inputs, (x, g, b) => channelNormFused(x!, g!, b!, relu6))
      expectClose(wasm.y, cpu.y, 1e-6, 'output')
      // The forward is the op path's own kernels on wasm: the same values bit for bit.
      const wasmOps = await valueAndGrads('wasm', inputs, opPath)
      expect(Array.from(wasm.y)).toEqual(Array.from(wasmOps.y))
      ;['dx', 'dgamma', 'dbeta'].forEach((name, i) => expectClose(wasm.grads[i]!, cpu.grads[i]!, 2e-6, name))
    })
  }

  it('2×2 average pool and its gradient equal tf.avgPool', async () => {
    const x = { shape: [2, 4, 6, 3], values: wave(144, 0.61) }
    const cpu = await valueAndGrads('cpu', [x], (a) => tf.avgPool(a as tf.Tensor4D, 2, 2, 'valid'))
    const wasm = await valueAndGrads('wasm', [x], (a) => avgPool2(a as tf.Tensor4D))
    expectClose(wasm.y, cpu.y, 1e-7, 'output')
    expectClose(wasm.grads[0]!, cpu.grads[0]!, 1e-7, 'dx')
  })

  it('are used on wasm only, and not when a bench switches them off', async () => {
    await tf.setBackend('cpu')
    expect(cnnFusedActive()).toBe(false)
    await tf.setBackend('wasm')
    expect(cnnFusedActive()).toBe(true)
    benchSwitch.cnnOpPath = true
    expect(cnnFusedActive()).toBe(false)
  })
})

/** A step of the built-in layout (random weights, seed 7): mean-squared pooled features of 3
 *  images, loss and every weight gradient, and the kernels it ran. */
async function emojiStep(backend: string, off = false) {
  expect(await tf.setBackend(backend)).toBe(true)
  benchSwitch.cnnOpPath = off
  const m = new TinyCnn(EMOJI_CNN_CONFIG, undefined, 7)
  const x = tf.tensor4d(wave(3 * 32 * 32 * 3, 0.013), [3, 32, 32, 3])
  const target = tf.tensor2d(wave(3 * 256, 0.29), [3, 256])
  const f = () => tf.mean(tf.square(tf.sub(m.pool(m.forward(x, { training: true }), null), target))) as tf.Scalar
  const before = tf.memory().numTensors
  let value!: tf.Scalar
  let grads!: tf.NamedTensorMap
  const prof = await tf.profile(() => {
    const r = tf.variableGrads(f, m.params.map((p) => p.variable))
    value = r.value
    grads = r.grads
  })
  const out = new Map<string, Float32Array>()
  for (const p of m.params) out.set(p.name, (await grads[p.variable.name]!.data()) as Float32Array)
  const loss = (await value.data())[0]!
  tf.dispose([value, ...Object.values(grads)])
  const leaked = tf.memory().numTensors - before
  tf.dispose([x, target])
  m.dispose()
  benchSwitch.cnnOpPath = false
  return { loss, grads: out, kernels: prof.kernels.filter((k) => tf.getKernel(k.name, backend)).length, leaked }
}

describe('TinyCnn (the built-in emoji-cnn layout) with the fused kernels on wasm', () => {
  it('a training step has the loss and every weight gradient of the op path on the cpu backend, in an eighth of the kernels, tensor count flat', async () => {
    const cpu = await emojiStep('cpu')
    const ops = await emojiStep('wasm', true)
    const fused = await emojiStep('wasm')
    expect(fused.loss).toBeGreaterThan(0)
    expect(Math.abs(fused.loss - cpu.loss) / cpu.loss).toBeLessThan(1e-5)
    expect(fused.grads.size).toBe(EMOJI_CNN_CONFIG.blocks.length * 6 + 6)
    for (const [name, g] of cpu.grads) expectClose(fused.grads.get(name)!, g, 2e-4, name)
    // The op path on wasm, for scale: it is the same maths run op by op.
    expect(Math.abs(ops.loss - cpu.loss) / cpu.loss).toBeLessThan(1e-5)
    expect(ops.kernels).toBeGreaterThan(1800) // about 1,900 since the engine's saves share buffers on wasm (wasmSharedIdentity.ts shareWasmTapeSaves), 2,600 before
    expect(fused.kernels).toBeLessThan(400)
    expect(fused.leaked).toBe(0)
    expect(ops.leaked).toBe(0)
  })

  it('runs inference (no tape) and repeated steps without leaking tensors or wasm memory', async () => {
    await tf.setBackend('wasm')
    const m = new TinyCnn(EMOJI_CNN_CONFIG, undefined, 3)
    const x = tf.tensor4d(wave(2 * 32 * 32 * 3, 0.021), [2, 32, 32, 3])
    const once = () => {
      const r = tf.variableGrads(() => tf.mean(m.pool(m.forward(x, { training: true }), null)) as tf.Scalar, m.params.map((p) => p.variable))
      tf.dispose([r.value, ...Object.values(r.grads)])
      tf.dispose(tf.tidy(() => m.pool(m.forward(x), null)))
    }
    once()
    const t0 = tf.memory().numTensors
    const b0 = tf.memory().numBytes
    const d0 = tf.engine().backend.numDataIds() // the backend's own buffers: the kernels' temporaries freed too
    for (let i = 0; i < 3; i++) once()
    expect(tf.memory().numTensors).toBe(t0)
    expect(tf.memory().numBytes).toBe(b0)
    expect(tf.engine().backend.numDataIds()).toBe(d0)
    x.dispose()
    m.dispose()
  })
})

describe('the per-row kernels (cnnFused.ts) against the loop nests they replaced (cnnLoopNests.ts)', () => {
  afterEach(() => {
    benchSwitch.cnnLoopNests = false
  })
  const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))

  it('each kernel and its gradients give the same float32 values bit for bit, on odd shapes', async () => {
    const C = 5
    const pieces: [string, { shape: number[]; values: Float32Array }[], (...xs: tf.Tensor[]) => tf.Tensor][] = [
      ['im2col (col2im backward)', [{ shape: [2, 5, 6, 3], values: wave(180, 0.37) }], (a) => im2col3x3(a as tf.Tensor4D)],
      ['depthwise (its filter and bias gradients)', [{ shape: [2, 6, 7, C], values: wave(2 * 6 * 7 * C, 0.53) }, { shape: [3, 3, C], values: wave(9 * C, 1.13, 0.7) }, { shape: [C], values: wave(C, 2.1, 0.2) }], (x, k, b) => depthwise3x3(x as tf.Tensor4D, k!, b!)],
      ['channel norm + ReLU6 (its gradient)', [{ shape: [4, 3, 12], values: wave(144, 0.91, 3, 0.5) }, { shape: [12], values: wave(12, 0.77, 1.5, 1) }, { shape: [12], values: wave(12, 1.9, 2, 1) }], (x, g, b) => channelNormFused(x!, g!, b!, true)],
      ['channel norm (its gradient)', [{ shape: [5, 7], values: wave(35, 0.61, 2, -0.3) }, { shape: [7], values: wave(7, 0.7, 1.5, 1) }, { shape: [7], values: wave(7, 1.3) }], (x, g, b) => channelNormFused(x!, g!, b!, false)],
      ['2×2 average pool (its gradient)', [{ shape: [2, 4, 6, 3], values: wave(144, 0.61) }], (a) => avgPool2(a as tf.Tensor4D)],
    ]
    for (const [name, inputs, f] of pieces) {
      benchSwitch.cnnLoopNests = true
      const nests = await valueAndGrads('wasm', inputs, f)
      benchSwitch.cnnLoopNests = false
      const rows = await valueAndGrads('wasm', inputs, f)
      expect(bits(rows.y), name).toEqual(bits(nests.y))
      expect(rows.grads).toHaveLength(inputs.length)
      rows.grads.forEach((g, i) => expect(bits(g), `${name}: gradient ${i}`).toEqual(bits(nests.grads[i]!)))
      expect(rows.grads.some((g) => g.some((v) => v !== 0)), `${name}: gradients not all zero`).toBe(true)
    }
  })

  it('a whole emoji-cnn step: the same loss and every weight gradient bit for bit', async () => {
    benchSwitch.cnnLoopNests = true
    const nests = await emojiStep('wasm')
    benchSwitch.cnnLoopNests = false
    const rows = await emojiStep('wasm')
    expect(rows.loss).toBeGreaterThan(0)
    expect(rows.loss).toBe(nests.loss)
    expect(rows.grads.size).toBe(EMOJI_CNN_CONFIG.blocks.length * 6 + 6)
    for (const [name, g] of nests.grads) expect(bits(rows.grads.get(name)!), name).toEqual(bits(g))
    expect(rows.leaked).toBe(0)
  })
})

/** Toy 8×8 images: a bright 2×2 square on the left half (class 1) or the right (class 0). */
function toyImages(n: number, seed: number): EncodedImages {
  let r = seed
  const rnd = () => (r = (r * 1103515245 + 12345) % 2147483648) / 2147483648
  const pixels = new Float32Array(n * 8 * 8 * 3).fill(1)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2
    const x0 = labels[i] ? Math.floor(rnd() * 2) : 5 + Math.floor(rnd() * 2)
    const y0 = Math.floor(rnd() * 6)
    for (let y = y0; y < y0 + 2; y++) for (let x = x0; x < x0 + 2; x++) pixels.set([0.7, -0.8, -0.85], ((i * 8 + y) * 8 + x) * 3)
  }
  return { kind: 'image', n, height: 8, width: 8, pixels, labels, classes: ['right', 'left'] }
}

const TOY: TinyCnnConfig = { imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 }, { channels: 8, stride: 2 }, { channels: 8, stride: 1 }] }

/** Per-epoch training losses and the final validation loss of a short run on a backend. */
async function toyRun(backend: string, over: Partial<Settings>) {
  expect(await tf.setBackend(backend)).toBe(true)
  const model = new TinyCnn(TOY, undefined, 3)
  const s: Settings = { ...DEFAULTS, batchSize: 8, epochs: 2, warmupSteps: 0, dropout: 0, loraDropout: 0, learningRate: 1e-2, seed: 5, ...over }
  const tuning = new Tuning(model, s, 2)
  const losses: number[] = []
  let result!: Awaited<ReturnType<typeof fineTune>>
  const prof = await tf.profile(async () => {
    result = await fineTune(model, tuning, { train: toyImages(32, 1), val: toyImages(16, 2) }, s, new RunControl(), { onEpoch: (e) => void losses.push(e.train.loss) })
  })
  tuning.dispose()
  model.dispose()
  return { losses, val: result.summary.best.loss!, reason: result.reason, kernels: new Set(prof.kernels.map((k) => k.name)) }
}

describe('training runs of the fused path on wasm against the op path on cpu', () => {
  for (const [name, over] of [
    ['LoRA on the pointwise convs (their linearDelta hook)', { method: 'lora', loraRank: 2 }],
    ['the first two blocks frozen and cached, the rest trained', { method: 'freeze', freezeFirst: 2 }],
  ] as [string, Partial<Settings>][]) {
    it(`${name}: the same epoch losses`, async () => {
      const cpu = await toyRun('cpu', over)
      const wasm = await toyRun('wasm', over)
      expect(wasm.reason).toBe('finished')
      expect(wasm.kernels.has('StudioDepthwise3x3Grad') && wasm.kernels.has('StudioChannelNormGrad'), 'the fused kernels ran, backward too').toBe(true)
      expect(cpu.kernels.has('StudioDepthwise3x3')).toBe(false)
      expect(wasm.losses).toHaveLength(2)
      wasm.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]!) / cpu.losses[i]!, `epoch ${i + 1}: ${l} vs ${cpu.losses[i]}`).toBeLessThan(1e-4))
      expect(Math.abs(wasm.val - cpu.val) / cpu.val).toBeLessThan(1e-4)
    })
  }
})
