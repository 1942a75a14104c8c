import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { shareWasmIdentity } from './wasmSharedIdentity'
import { benchSwitch, oldKernels } from '../benchSwitches'
import { matMulFast } from './matMulFast'

type WasmBackend = { refCount(dataId: object): number; numDataIds(): number }
const backend = () => tf.backend() as unknown as WasmBackend

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  shareWasmIdentity()
  shareWasmIdentity() // idempotent
})
afterEach(() => {
  oldKernels.copyIdentity = false
})

describe("wasm Identity and same-dtype Cast share the input's buffer", () => {
  it('a clone shares the buffer, outlives its source with the same values, and frees it last', async () => {
    const ids = backend().numDataIds()
    const x = tf.tensor2d([1.5, -2, 3, 4.25, 5, 6], [2, 3])
    const c = tf.clone(x)
    expect(c.dataId).toBe(x.dataId)
    expect(backend().refCount(x.dataId)).toBe(2)
    expect(backend().numDataIds()).toBe(ids + 1)
    x.dispose()
    expect(Array.from(await c.data())).toEqual([1.5, -2, 3, 4.25, 5, 6])
    c.dispose()
    expect(backend().numDataIds()).toBe(ids)
  })

  it('Cast to the same dtype shares; to another dtype it converts into a new buffer', async () => {
    const x = tf.tensor1d([1.5, -2.5, 3])
    const same = tf.cast(x, 'float32')
    expect(same.dataId).toBe(x.dataId)
    const i = tf.tensor1d([7, -8, 9], 'int32')
    const f = tf.cast(i, 'float32')
    expect(f.dataId).not.toBe(i.dataId)
    expect(f.dtype).toBe('float32')
    expect(Array.from(await f.data())).toEqual([7, -8, 9])
    tf.dispose([x, same, i, f])
  })

  it('copies behind the bench switch, as tfjs-wasm does', async () => {
    oldKernels.copyIdentity = true
    const x = tf.tensor1d([1, 2, 3])
    const c = tf.clone(x)
    const same = tf.cast(x, 'float32')
    expect(c.dataId).not.toBe(x.dataId)
    expect(same.dataId).not.toBe(x.dataId)
    expect(Array.from(await c.data())).toEqual([1, 2, 3])
    tf.dispose([x, c, same])
  })

  it('a recorded forward pass holds fewer buffers, and the gradients are the same as with copies', async () => {
    const xs = Float32Array.from({ length: 64 * 48 }, (_, i) => Math.sin(i * 0.37))
    const ws = Float32Array.from({ length: 48 * 32 }, (_, i) => Math.cos(i * 0.11))
    const run = async (copy: boolean) => {
      oldKernels.copyIdentity = copy
      const start = backend().numDataIds()
      const x = tf.tensor2d(xs, [64, 48])
      const w0 = tf.tensor2d(ws, [48, 32])
      const w = tf.variable(w0)
      w0.dispose()
      let peak = 0
      const f = () => {
        const y = tf.mul(tf.sigmoid(matMulFast(x, w)), tf.square(x.slice([0, 0], [64, 32])))
        const loss = tf.mean(tf.div(y, tf.sqrt(tf.add(tf.square(y), 1))))
        peak = backend().numDataIds()
        return loss as tf.Scalar
      }
      const before = backend().numDataIds()
      const { value, grads } = tf.variableGrads(f, [w])
      const out = { peak: peak - before, loss: (await value.data())[0]!, g: (await grads[w.name]!.data()) as Float32Array }
      tf.dispose([x, w, value, ...Object.values(grads)])
      expect(backend().numDataIds()).toBe(start)
      return out
    }
    const copied = await run(true)
    const shared = await run(false)
    expect(shared.loss).toBe(copied.loss)
    expect(Array.from(shared.g)).toEqual(Array.from(copied.g))
    expect(shared.peak).toBeLessThan(copied.peak)
  })
})

describe("the engine's saves for the backward pass share buffers on wasm (shareWasmTapeSaves)", () => {
  afterEach(() => {
    benchSwitch.cloneTapeSaves = false
  })

  it('the same loss and gradients bit for bit as with clones, without the Identity kernels, tensors and buffers flat', async () => {
    const xs = Float32Array.from({ length: 24 * 16 }, (_, i) => Math.sin(i * 0.37))
    const run = async (clone: boolean) => {
      benchSwitch.cloneTapeSaves = clone
      const w = tf.variable(tf.tensor2d(Float32Array.from({ length: 16 * 8 }, (_, i) => Math.cos(i * 0.11)), [16, 8]))
      const x = tf.tensor2d(xs, [24, 16])
      const tensors = tf.memory().numTensors
      const ids = backend().numDataIds()
      // Saves: Sigmoid its output, Square and Sqrt their input, RealDiv both, Multiply both.
      const f = () => tf.mean(tf.div(tf.sigmoid(matMulFast(x, w)), tf.sqrt(tf.add(tf.square(x.slice([0, 0], [24, 8])), 1)))) as tf.Scalar
      let r!: { value: tf.Scalar; grads: tf.NamedTensorMap }
      const prof = await tf.profile(() => {
        r = tf.variableGrads(f, [w])
      })
      const out = { loss: (await r.value.data())[0]!, g: (await r.grads[w.name]!.data()) as Float32Array, identities: prof.kernels.filter((k) => k.name === 'Identity').length }
      tf.dispose([r.value, ...Object.values(r.grads)])
      expect(tf.memory().numTensors).toBe(tensors)
      expect(backend().numDataIds()).toBe(ids)
      tf.dispose([x, w])
      return out
    }
    const cloned = await run(true)
    const shared = await run(false)
    expect(cloned.identities).toBeGreaterThanOrEqual(5)
    expect(shared.identities).toBeLessThan(cloned.identities - 4)
    expect(shared.loss).toBe(cloned.loss)
    expect(Array.from(shared.g)).toEqual(Array.from(cloned.g))
    // Reference values from the cpu backend (tfjs' own clones there, tf.matMul).
    const wasmG = shared.g
    expect(await tf.setBackend('cpu')).toBe(true)
    const w = tf.variable(tf.tensor2d(Float32Array.from({ length: 16 * 8 }, (_, i) => Math.cos(i * 0.11)), [16, 8]))
    const x = tf.tensor2d(xs, [24, 16])
    const r = tf.variableGrads(() => tf.mean(tf.div(tf.sigmoid(tf.matMul(x, w)), tf.sqrt(tf.add(tf.square(x.slice([0, 0], [24, 8])), 1)))) as tf.Scalar, [w])
    const cpuG = (await r.grads[w.name]!.data()) as Float32Array
    tf.dispose([x, w, r.value, ...Object.values(r.grads)])
    expect(await tf.setBackend('wasm')).toBe(true)
    let err = 0
    cpuG.forEach((v, i) => (err = Math.max(err, Math.abs(v - wasmG[i]!))))
    expect(err / Math.max(...cpuG.map(Math.abs))).toBeLessThan(1e-5)
  })
})
