import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it } from 'vitest'
import { TinyCnn, type TinyCnnConfig } from './tinyCnn'

const SMALL: TinyCnnConfig = { imageSize: 8, stemChannels: 4, blocks: [{ channels: 8, stride: 1 }, { channels: 8, stride: 2 }] }

/** Loss and every weight gradient of one step, on the current backend. */
async function step(): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const m = new TinyCnn(SMALL, undefined, 4)
  const x = tf.tensor4d(Float32Array.from({ length: 2 * 8 * 8 * 3 }, (_, i) => Math.sin(i * 0.37)), [2, 8, 8, 3])
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(m.pool(m.forward(x), null))) as tf.Scalar, m.params.map((p) => p.variable))
  const out = new Map<string, Float32Array>()
  for (const p of m.params) out.set(p.name, (await grads[p.variable.name]!.data()) as Float32Array)
  const loss = (await value.data())[0]!
  tf.dispose([value, x, ...Object.values(grads)])
  m.dispose()
  return { loss, grads: out }
}

// The wasm backend lacks Conv2DBackpropFilter and the depthwise backprop kernels; TinyCnn is
// built from ops whose gradients it has, so it trains there (the pretraining script uses it).
describe('TinyCnn on the wasm backend', () => {
  it('trains: loss and all gradients match the cpu backend', async () => {
    await tf.setBackend('cpu')
    const cpu = await step()
    expect(await tf.setBackend('wasm')).toBe(true)
    const wasm = await step()
    expect(wasm.loss).toBeCloseTo(cpu.loss, 4)
    for (const [name, g] of cpu.grads) {
      const w = wasm.grads.get(name)!
      const scale = Math.max(1e-3, ...g.map(Math.abs))
      const err = Math.max(...g.map((v, i) => Math.abs(v - w[i]!)))
      expect(err / scale, name).toBeLessThan(1e-3)
    }
  })
})
