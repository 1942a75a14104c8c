import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { BatchSource } from './batchSource'
import type { Encoded } from './encoded'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const n = 6
const T = 4
const ramp = (k: number, f = (i: number) => i) => Int32Array.from({ length: k }, (_, i) => f(i))
const sets: Record<string, Encoded> = {
  classification: {
    kind: 'classification', n, seqLen: T, tokens: ramp(n * T, (i) => 10 + i), mask: Float32Array.from({ length: n * T }, (_, i) => (i % T < 3 ? 1 : 0)), labels: ramp(n, (i) => i % 2), classes: ['a', 'b'],
    tasks: [{ name: 'x', labels: ramp(n, (i) => i % 2), classes: ['a', 'b'] }, { name: 'y', labels: ramp(n, (i) => i % 3), classes: ['p', 'q', 'r'] }],
  } as Encoded,
  regression: { kind: 'regression', n, seqLen: T, tokens: ramp(n * T), mask: new Float32Array(n * T).fill(1), values: Float32Array.from({ length: n }, (_, i) => i / 10), scale: { name: 'y', mean: 0, std: 1 } } as Encoded,
  lm: { kind: 'lm', n, seqLen: T, tokens: ramp(n * (T + 1), (i) => 100 + i) },
  tabular: { kind: 'tabular', n, dim: 3, features: Float32Array.from({ length: n * 3 }, (_, i) => i * 0.5), columns: ['a', 'b', 'c'], standardizer: { columns: [], mean: [], std: [] } as never, labels: ramp(n, (i) => i % 2), classes: ['u', 'v'] },
  image: { kind: 'image', n, height: 2, width: 2, pixels: Float32Array.from({ length: n * 12 }, (_, i) => i / 100), labels: ramp(n, (i) => i % 3), classes: ['r', 'g', 'b'] },
}

const values = async (t: tf.Tensor | undefined) => (t ? { shape: t.shape, dtype: t.dtype, data: Array.from(await t.data()) } : undefined)

describe('BatchSource: a batch from the device is the batch from the host', () => {
  for (const [kind, set] of Object.entries(sets)) {
    it(kind, async () => {
      const dev = BatchSource.device(set)
      const host = BatchSource.host(set)
      expect(dev.onDevice).toBe(true)
      const idx = [4, 0, 5, 2]
      const [a, b] = [dev, host].map((s) => tf.tidy(() => {
        const r = s.rows(idx)
        return { ...r.inputs!, labels: r.labels, values: r.values, tasks: r.taskLabels ? [...r.taskLabels.values()] : [] }
      }))
      for (const key of ['tokens', 'mask', 'targets', 'labels', 'values'] as const) expect(await values(a![key]), key).toEqual(await values(b![key]))
      expect(await Promise.all(a!.tasks.map(values))).toEqual(await Promise.all(b!.tasks.map(values)))
      const onlyInputs = tf.tidy(() => dev.inputs(idx).tokens)
      expect(await values(onlyInputs)).toEqual(await values(b!.tokens))
      const before = tf.memory().numTensors
      tf.dispose([a!, b!, onlyInputs].flatMap((x) => (x instanceof tf.Tensor ? [x] : Object.values(x).flat().filter((t): t is tf.Tensor => t instanceof tf.Tensor))))
      expect(tf.memory().numTensors).toBeLessThan(before)
      dev.dispose()
    })
  }

  it('keeps nothing on the device for streamed images or sets over the size cap', () => {
    const streamed: Encoded = { kind: 'image', n, height: 2, width: 2, loadBatch: async () => new Float32Array(0), labels: ramp(n), classes: [] }
    expect(BatchSource.device(streamed).onDevice).toBe(false)
    expect(BatchSource.device(sets.lm!, 16).onDevice).toBe(false)
    const before = tf.memory().numTensors
    const s = BatchSource.device(sets.lm!)
    expect(tf.memory().numTensors).toBe(before + 1)
    s.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
