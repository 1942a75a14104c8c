import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { Head } from '../tuning/heads'
import { Lora } from '../tuning/lora'
import { pretrainCnn, type ImageSet } from '../train/pretrainCnn'
import { loadTinyCnn, serializeTinyCnn, tinyCnnFromParts } from './cnnFile'
import { EMOJI_CNN_CONFIG, TinyCnn, expectedCnnWeightShapes, pointwiseLayers, type TinyCnnConfig } from './tinyCnn'

beforeAll(async () => {
  await tf.setBackend('cpu')
  await tf.ready()
})

const SMALL: TinyCnnConfig = {
  imageSize: 8,
  stemChannels: 4,
  blocks: [
    { channels: 8, stride: 1 },
    { channels: 8, stride: 2 },
    { channels: 8, stride: 1 },
  ],
}

const images = (b: number, seed = 3) => tf.randomUniform([b, SMALL.imageSize, SMALL.imageSize, 3], -1, 1, 'float32', seed) as tf.Tensor4D

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array
  t.dispose()
  return v
}

describe('TinyCnn', () => {
  it('maps [B, S, S, 3] through stem, blocks and pooling with the documented shapes', () => {
    const m = new TinyCnn(SMALL)
    const x = images(2)
    expect(m.embed(x).shape).toEqual([2, 4, 4, 4]) // stem halves the side
    expect(m.prefix(x, 2).shape).toEqual([2, 2, 2, 8]) // block 1 has stride 2
    const h = m.forward(x)
    expect(h.shape).toEqual([2, 2, 2, 8])
    expect(m.pool(h, null).shape).toEqual([2, m.featureDim])
    expect(m.config.nLayers).toBe(3)
    const expected = [...expectedCnnWeightShapes(SMALL).values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0)
    expect(m.parameterCount()).toBe(expected)
    expect(new Set(m.params.map((p) => p.block))).toEqual(new Set([-1, 0, 1, 2, 3]))
    expect(m.params.filter((p) => p.block === 3).map((p) => p.name)).toEqual(['lnf.gamma', 'lnf.beta'])
    m.dispose()
  })

  it('the built-in layout has 100–300 k parameters and 256 features', () => {
    const m = new TinyCnn(EMOJI_CNN_CONFIG)
    expect(m.parameterCount()).toBeGreaterThan(100_000)
    expect(m.parameterCount()).toBeLessThan(300_000)
    expect(m.featureDim).toBe(256)
    m.dispose()
  })

  it('rejects non-RGB input and sizes the halvings cannot divide', () => {
    const m = new TinyCnn(SMALL)
    expect(() => m.embed(tf.zeros([1, 8, 8, 1]))).toThrow(/RGB/)
    m.dispose()
    expect(() => new TinyCnn({ ...SMALL, imageSize: 6 })).toThrow(/divisible by 4/)
  })

  it('prefix(n) then forwardFrom(n) equals forward, bit for bit, for every n', async () => {
    const m = new TinyCnn(SMALL, undefined, 7)
    const x = images(3)
    const full = await values(m.forward(x))
    for (let n = 0; n <= m.config.nLayers; n++) {
      const split = await values(m.forwardFrom(m.prefix(x, n), n))
      expect(split).toEqual(full)
    }
    m.dispose()
  })

  it('LoRA on the pointwise convs leaves the output unchanged at init, and changes it once B moves', async () => {
    const m = new TinyCnn(SMALL, undefined, 5)
    const x = images(2)
    const lora = new Lora(m, { rank: 2, alpha: 4, layers: pointwiseLayers(m.config), seed: 9 })
    expect(lora.layers).toEqual(['b0.pw', 'b1.pw', 'b2.pw'])
    expect(lora.blocks).toEqual([0, 1, 2])
    const base = await values(m.forward(x))
    const hooked = await values(m.forward(x, { hooks: lora.hooks }))
    expect(hooked).toEqual(base)
    const b = lora.params.find((p) => p.name === 'b1.pw.lora_B')!.variable
    b.assign(tf.randomNormal(b.shape, 0, 1, 'float32', 1)) // not constant: the channel LayerNorm cancels a per-pixel constant shift
    const moved = await values(m.forward(x, { hooks: lora.hooks }))
    expect(Math.max(...moved.map((v, i) => Math.abs(v - base[i]!)))).toBeGreaterThan(1e-3)
    lora.dispose()
    m.dispose()
  })

  it('every weight gets a gradient (no conv kernels whose gradients some backends lack)', () => {
    const m = new TinyCnn(SMALL)
    const x = images(2)
    const vars = m.params.map((p) => p.variable)
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(m.pool(m.forward(x), null))) as tf.Scalar, vars)
    for (const p of m.params) {
      const g = grads[p.variable.name]
      expect(g, p.name).toBeDefined()
      expect(g!.shape).toEqual(p.variable.shape)
    }
    tf.dispose(Object.values(grads))
    m.dispose()
  })

  it('a few pretraining steps on toy images raise validation accuracy above chance', async () => {
    const set = (n: number, seed: number) => toyImages(n, seed)
    const m = new TinyCnn(SMALL, undefined, 2)
    const head = new Head({ name: 'toy', kind: 'classification', inputDim: m.featureDim, numClasses: 2 }, 4)
    const losses: number[] = []
    const r = await pretrainCnn(
      m,
      head,
      set(64, 1),
      set(32, 2),
      { steps: 40, batchSize: 16, learningRate: 1e-2, minLearningRate: 1e-3, warmupSteps: 2, weightDecay: 0, clipNorm: 1, labelSmoothing: 0, headDropout: 0, augment: false, maxShift: 0, evalEvery: 0, seed: 1 },
      (e) => losses.push(e.loss),
    )
    expect(r.steps).toBe(40)
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!)
    expect(r.val.accuracy).toBeGreaterThan(0.85)
    head.dispose()
    m.dispose()
  })

  it('serialize → load gives identical outputs; bad files are named in the error', async () => {
    const m = new TinyCnn(SMALL, undefined, 11)
    const x = images(2)
    const before = await values(m.pool(m.forward(x), null))
    const { json, weights } = await serializeTinyCnn(m, { title: 'toy' }, { pretrainClasses: ['a', 'b'] })
    expect(json.format).toBe('studio-tinycnn')
    const files = new Map<string, unknown>([
      ['http://x/m/model.json', JSON.parse(JSON.stringify(json))],
      ['http://x/m/weights.bin', weights],
    ])
    const fetchFn = async (u: string) => {
      const f = files.get(u)
      if (f === undefined) return new Response('missing', { status: 404 })
      return f instanceof ArrayBuffer ? new Response(f) : new Response(JSON.stringify(f))
    }
    const loaded = await loadTinyCnn('http://x/m/model.json', fetchFn)
    expect(loaded.card).toEqual({ title: 'toy' })
    expect(loaded.json.pretrainClasses).toEqual(['a', 'b'])
    const after = await values(loaded.model.pool(loaded.model.forward(x), null))
    expect(after).toEqual(before)
    expect(() => tinyCnnFromParts(json, new Uint8Array(weights).slice(0, 100))).toThrow(/expected \d+ bytes.*truncated/)
    const wrong = { ...json, config: { ...json.config, stemChannels: 5 } }
    expect(() => tinyCnnFromParts(wrong, new Uint8Array(weights))).toThrow(/stem\.conv\.kernel has shape \[27, 4\] but the config needs \[27, 5\]/)
    await expect(loadTinyCnn('http://x/m/nope.json', fetchFn)).rejects.toThrow(/HTTP 404/)
    loaded.model.dispose()
    m.dispose()
  })
})

/** Class 1: a bright disc on the left half; class 0: on the right half. */
export function toyImages(n: number, seed: number): ImageSet {
  const S = SMALL.imageSize
  const premul = new Float32Array(n * S * S * 3)
  const alpha = new Float32Array(n * S * S)
  const labels = new Int32Array(n)
  let s = seed
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648)
  for (let i = 0; i < n; i++) {
    const y = i % 2
    labels[i] = y
    const cx = y ? 1 + rnd() * 2 : 5 + rnd() * 2
    const cy = 1 + rnd() * 6
    for (let py = 0; py < S; py++) {
      for (let px = 0; px < S; px++) {
        const p = i * S * S + py * S + px
        const inside = (px - cx) ** 2 + (py - cy) ** 2 < 3
        alpha[p] = inside ? 1 : 0
        premul[p * 3] = inside ? 0.9 : 0
        premul[p * 3 + 1] = inside ? 0.2 : 0
        premul[p * 3 + 2] = inside ? 0.1 : 0
      }
    }
  }
  return { n, size: S, premul, alpha, labels }
}
