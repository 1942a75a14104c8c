import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterAll, describe, expect, it } from 'vitest'
import { embeddingLookup } from './embeddingLookup'
import { TinyGpt } from './tinyGpt'

const V = 11
const D = 5
// Repeats (3 three times, 0 twice), the first and last rows, and rows never used (2, 6, 8, 9).
const IDS = [3, 0, 7, 3, 10, 1, 0, 5, 3, 4]
const table = () => tf.tensor2d(Float32Array.from({ length: V * D }, (_, i) => Math.sin(0.7 * i) + 0.1 * i), [V, D])
const upstream = () => tf.tensor2d(Float32Array.from({ length: IDS.length * D }, (_, i) => Math.cos(1.3 * i) * (1 + (i % 3))), [IDS.length, D])

/** Value and table gradient of Σ (lookup(table, ids) ⊙ w) — so dTable = scatter-add of w. */
async function valueAndGrad(lookup: (t: tf.Tensor2D, ids: tf.Tensor1D) => tf.Tensor2D): Promise<{ value: Float32Array; grad: Float32Array }> {
  const t = tf.variable(table())
  const ids = tf.tensor1d(IDS, 'int32')
  const w = upstream()
  const rows = lookup(t, ids)
  const value = (await rows.data()) as Float32Array
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(lookup(t, ids), w)) as tf.Scalar, [t])
  const grad = (await grads[t.name]!.data()) as Float32Array
  tf.dispose([t, ids, w, rows, ...Object.values(grads)])
  return { value, grad }
}

/** The same gradient by hand: for every position n, add w[n] into row ids[n]. */
function handGrad(): Float32Array {
  return handGradFor(IDS)
}

function handGradFor(ids: number[]): Float32Array {
  const w = upstream().dataSync()
  const g = new Float32Array(V * D)
  ids.forEach((id, n) => {
    for (let k = 0; k < D; k++) g[id * D + k]! += w[n * D + k]!
  })
  return g
}

describe('embeddingLookup', () => {
  afterAll(() => tf.setBackend('cpu'))

  for (const backend of ['cpu', 'wasm'] as const) {
    for (const gradient of ['auto', 'product'] as const) {
      it(`on ${backend} (${gradient === 'auto' ? 'scatter-add' : 'one-hot product'}): rows and table gradient equal tf.gather's on the cpu backend`, async () => {
        await tf.setBackend('cpu')
        const reference = await valueAndGrad((t, ids) => tf.gather(t, ids)) // tfjs' own gather and its gradient
        expect(await tf.setBackend(backend)).toBe(true)
        const ours = await valueAndGrad((t, ids) => embeddingLookup(t, ids, gradient))
        expect(Array.from(ours.value)).toEqual(Array.from(reference.value)) // a lookup copies rows exactly
        const hand = handGrad()
        for (let i = 0; i < V * D; i++) {
          expect(ours.grad[i]).toBeCloseTo(reference.grad[i]!, 5)
          expect(ours.grad[i]).toBeCloseTo(hand[i]!, 5)
        }
        // Rows no id points at get exactly zero.
        for (const unused of [2, 6, 8, 9]) expect(Array.from(ours.grad.slice(unused * D, unused * D + D))).toEqual([0, 0, 0, 0, 0])
      })
    }
  }

  it('trains inside optimizer.minimize when the ids are computed in the step (wasm)', async () => {
    // The ids of a real step come from a gather of the batch rows, reshaped; a gradient that
    // captured them instead of saving them read freed memory on wasm.
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend)
      const t = tf.variable(table())
      const rows = tf.tensor2d(IDS, [2, IDS.length / 2], 'int32')
      const opt = tf.train.sgd(0.5)
      const w = upstream()
      for (let k = 0; k < 3; k++) {
        const cost = opt.minimize(() => {
          const ids = tf.gather(rows, tf.tensor1d([1, 0], 'int32')).reshape([IDS.length]) as tf.Tensor1D
          return tf.sum(tf.mul(embeddingLookup(t, ids), w)) as tf.Scalar
        }, true, [t])!
        await cost.data()
        cost.dispose()
      }
      const out = (await t.data()) as Float32Array
      tf.dispose([t, rows, w])
      opt.dispose()
      return out
    }
    const cpu = await run('cpu')
    const wasm = await run('wasm')
    // Three SGD steps of 0.5 on a linear loss: the table moves by -1.5 × the scatter-added w.
    const start = table().dataSync()
    const hand = handGradFor([...IDS.slice(IDS.length / 2), ...IDS.slice(0, IDS.length / 2)])
    for (let i = 0; i < V * D; i++) {
      expect(wasm[i]).toBeCloseTo(cpu[i]!, 5)
      expect(wasm[i]).toBeCloseTo(start[i]! - 1.5 * hand[i]!, 4)
    }
  })

  it('wasm has no UnsortedSegmentSum of its own, so the registration above is what trains gather there', () => {
    // If a tfjs upgrade brings its own kernel, registerWasmSegmentSum steps aside (it checks first).
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')?.kernelFunc.name).toBe('unsortedSegmentSum')
  })

  it('TinyGpt trains its embeddings on wasm: loss and the token table gradient match cpu', async () => {
    const cfg = { vocabSize: 40, seqLen: 8, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16 }
    const tokens = [[1, 5, 5, 39, 0, 2, 7, 5], [3, 3, 1, 0, 38, 9, 2, 1]]
    const run = async () => {
      const m = new TinyGpt(cfg, undefined, 3)
      const x = tf.tensor2d(tokens, [2, 8], 'int32')
      const wte = m.get('wte.embeddings')
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(m.forward(x))) as tf.Scalar, [wte])
      const out = { loss: (await value.data())[0]!, grad: (await grads[wte.name]!.data()) as Float32Array }
      tf.dispose([x, value, ...Object.values(grads)])
      m.dispose()
      return out
    }
    await tf.setBackend('cpu')
    const cpu = await run()
    await tf.setBackend('wasm')
    const wasm = await run()
    expect(wasm.loss).toBeCloseTo(cpu.loss, 5)
    const scale = Math.max(...cpu.grad.map(Math.abs))
    expect(scale).toBeGreaterThan(0)
    const err = Math.max(...cpu.grad.map((g, i) => Math.abs(g - wasm.grad[i]!)))
    expect(err / scale).toBeLessThan(1e-4)
    // Token 4 appears in neither sequence: its row gets no gradient.
    expect(Array.from(wasm.grad.slice(4 * 8, 5 * 8)).every((g) => g === 0)).toBe(true)
  })
})
