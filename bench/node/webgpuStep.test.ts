// WebGPU outside a browser, in CI: Dawn (the `webgpu` package) on mesa's lavapipe, a software
// Vulkan driver, so a machine without a GPU still runs tfjs' webgpu kernels. One training
// step of each built-in architecture must equal the cpu backend's: loss and every gradient.
// No adapter is a failure with what to install, never a skip (.ci/run installs lavapipe).
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { gradientSelfTest, SELF_TEST_TOLERANCE } from '../../src/engine/backend'
import { TinyCnn } from '../../src/engine/models/tinyCnn'
import { TinyGpt } from '../../src/engine/models/tinyGpt'
import { startDawn, type AdapterInfo } from './dawn'

interface Step {
  loss: number
  grads: Map<string, Float32Array>
}

/** Loss and every weight gradient of one classification step, on the current backend. */
async function step(kind: 'gpt' | 'cnn'): Promise<Step> {
  const model =
    kind === 'gpt'
      ? new TinyGpt({ vocabSize: 64, seqLen: 16, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }, undefined, 5)
      : new TinyCnn({ imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 }, { channels: 16, stride: 2 }] }, undefined, 5)
  const x =
    kind === 'gpt'
      ? tf.tensor2d(Int32Array.from({ length: 3 * 16 }, (_, i) => (i * 7 + (i >> 4)) % 64), [3, 16], 'int32')
      : tf.tensor4d(Float32Array.from({ length: 3 * 8 * 8 * 3 }, (_, i) => Math.sin(i * 0.37)), [3, 8, 8, 3])
  const head = tf.variable(tf.tensor2d(Float32Array.from({ length: model.featureDim * 3 }, (_, i) => Math.cos(i) * 0.1), [model.featureDim, 3]))
  const labels = tf.oneHot(tf.tensor1d([0, 2, 1], 'int32'), 3)
  const vars = [...model.params.map((p) => p.variable), head]
  const { value, grads } = tf.variableGrads(() => {
    const feats = model.pool(model.forwardFrom(model.embed(x), 0), null)
    return tf.losses.softmaxCrossEntropy(labels, tf.matMul(feats, head)) as tf.Scalar
  }, vars)
  const out: Step = { loss: (await value.data())[0]!, grads: new Map() } // await data(): sync reads of WebGPU gave zeros
  for (const [i, v] of vars.entries()) out.grads.set(model.params[i]?.name ?? 'head', (await grads[v.name]!.data()) as Float32Array)
  tf.dispose([value, x, head, labels, ...Object.values(grads)])
  model.dispose()
  return out
}

describe('tfjs on WebGPU in Node (Dawn + lavapipe)', () => {
  let adapter: AdapterInfo
  beforeAll(async () => {
    adapter = await startDawn()
  }, 120_000)

  it('finds an adapter and runs the webgpu backend', () => {
    expect(adapter.description.length).toBeGreaterThan(0)
    expect(tf.getBackend()).toBe('webgpu')
  })

  for (const kind of ['gpt', 'cnn'] as const) {
    it(`one ${kind === 'gpt' ? 'TinyGpt (embeddings included)' : 'TinyCnn'} training step equals the cpu backend's`, async () => {
      await tf.setBackend('cpu')
      const cpu = await step(kind)
      await tf.setBackend('webgpu')
      const gpu = await step(kind)
      expect(Number.isFinite(gpu.loss)).toBe(true)
      expect(Math.abs(gpu.loss - cpu.loss) / Math.abs(cpu.loss)).toBeLessThan(1e-5)
      expect([...gpu.grads.keys()]).toEqual([...cpu.grads.keys()])
      for (const [name, want] of cpu.grads) {
        const got = gpu.grads.get(name)!
        const scale = Math.max(...want.map(Math.abs))
        expect(scale, `${name}: a gradient that is all zeros would prove nothing`).toBeGreaterThan(0)
        const err = Math.max(...want.map((w, i) => Math.abs(w - got[i]!)))
        expect(err / scale, name).toBeLessThan(1e-4)
      }
    }, 120_000)
  }

  // The studio's start-up self-test (src/engine/backend.ts) must pass a WebGPU that computes
  // correctly, or every user with a good GPU would be sent to a slower backend.
  it('passes the start-up self-test, with float32 error far under its tolerance', async () => {
    await tf.setBackend('webgpu')
    const r = await gradientSelfTest()
    expect(r.ok).toBe(true)
    expect(r.maxError).toBeLessThan(SELF_TEST_TOLERANCE / 10)
  }, 120_000)
})
