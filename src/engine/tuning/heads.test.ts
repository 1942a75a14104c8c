import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { Head, headLoss } from './heads'
import { MultiHead } from './multitask'
import { bitsEqual, maxAbsDiff, useCpu } from './testUtils'

beforeAll(useCpu)

describe('Head', () => {
  it('maps [B, D] features to [B, C] logits or [B, 1] values, with zero bias and seeded Glorot kernel', async () => {
    const cls = new Head({ name: 'topic', kind: 'classification', inputDim: 16, numClasses: 3 }, 4)
    const same = new Head({ name: 'topic', kind: 'classification', inputDim: 16, numClasses: 3 }, 4)
    const reg = new Head({ name: 'price', kind: 'regression', inputDim: 16 }, 4)
    expect(cls.params.map((p) => [p.name, p.variable.shape])).toEqual([
      ['head.topic.kernel', [16, 3]],
      ['head.topic.bias', [3]],
    ])
    expect(await bitsEqual(cls.params[0]!.variable, same.params[0]!.variable)).toBe(true)
    const limit = Math.sqrt(6 / 19)
    const k = await cls.params[0]!.variable.data()
    expect(k.every((v) => Math.abs(v) <= limit)).toBe(true)
    expect(Array.from(await cls.params[1]!.variable.data())).toEqual([0, 0, 0])
    const x = tf.randomNormal([5, 16], 0, 1, 'float32', 1) as tf.Tensor2D
    const logits = cls.apply(x, false)
    const values = reg.apply(x, false)
    expect(logits.shape).toEqual([5, 3])
    expect(values.shape).toEqual([5, 1])
    tf.dispose([x, logits, values])
    for (const h of [cls, same, reg]) h.dispose()
  })

  it('applies dropout only while training, reproducibly with a seed', async () => {
    const head = new Head({ name: 't', kind: 'classification', inputDim: 16, numClasses: 2 }, 1)
    const x = tf.randomNormal([8, 16], 0, 1, 'float32', 2) as tf.Tensor2D
    const clean = head.apply(x, false, 0.5)
    const again = head.apply(x, true, 0)
    const dropped1 = head.apply(x, true, 0.5, 11)
    const dropped2 = head.apply(x, true, 0.5, 11)
    expect(await bitsEqual(clean, again)).toBe(true)
    expect(await maxAbsDiff(clean, dropped1)).toBeGreaterThan(0)
    expect(await bitsEqual(dropped1, dropped2)).toBe(true)
    tf.dispose([x, clean, again, dropped1, dropped2])
    head.dispose()
  })

  it('computes cross-entropy (with smoothing) and mean squared error', async () => {
    const logits = tf.tensor2d([[0, Math.log(3)]]) // softmax = [0.25, 0.75]
    const ce = headLoss('classification', logits, tf.tensor1d([1], 'int32'))
    expect((await ce.data())[0]).toBeCloseTo(-Math.log(0.75), 5)
    // Smoothing 0.2 over 2 classes: targets [0.1, 0.9].
    const smooth = headLoss('classification', logits, tf.tensor1d([1], 'int32'), 0.2)
    expect((await smooth.data())[0]).toBeCloseTo(-(0.1 * Math.log(0.25) + 0.9 * Math.log(0.75)), 5)
    const mse = headLoss('regression', tf.tensor2d([[1], [3]]), tf.tensor1d([0, 1]))
    expect((await mse.data())[0]).toBeCloseTo((1 + 4) / 2, 5)
  })

  it('rejects bad specs with the task name', () => {
    expect(() => new Head({ name: 'x', kind: 'classification', inputDim: 4, numClasses: 1 })).toThrow(/Head "x".*at least 2 classes/)
    expect(() => new Head({ name: 'y', kind: 'regression', inputDim: 0 })).toThrow(/Head "y".*positive integer/)
  })

  it('frees every tensor it made on dispose, and apply does not leak under tidy', () => {
    const before = tf.memory().numTensors
    const head = new Head({ name: 't', kind: 'classification', inputDim: 8, numClasses: 4 })
    const x = tf.ones([2, 8]) as tf.Tensor2D
    tf.tidy(() => head.loss(head.apply(x, true, 0.3, 1), tf.tensor1d([0, 3], 'int32'))).dispose()
    x.dispose()
    head.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe('MultiHead', () => {
  it('sums the task losses with their weights', async () => {
    const before = tf.memory().numTensors
    const multi = new MultiHead(
      [
        { name: 'sentiment', kind: 'classification', inputDim: 8, numClasses: 2, lossWeight: 2 },
        { name: 'score', kind: 'regression', inputDim: 8, lossWeight: 0.5 },
      ],
      3,
    )
    expect(multi.params.map((p) => p.name)).toEqual(['head.sentiment.kernel', 'head.sentiment.bias', 'head.score.kernel', 'head.score.bias'])
    const x = tf.randomNormal([4, 8], 0, 1, 'float32', 5) as tf.Tensor2D
    const targets = new Map([
      ['sentiment', tf.tensor1d([0, 1, 1, 0], 'int32')],
      ['score', tf.tensor1d([0.5, -1, 2, 0])],
    ])
    const out = multi.apply(x, false)
    const total = multi.loss(out, targets)
    const [h0, h1] = multi.heads as [(typeof multi.heads)[0], (typeof multi.heads)[0]]
    const l0 = h0.loss(out.get('sentiment')!, targets.get('sentiment')!)
    const l1 = h1.loss(out.get('score')!, targets.get('score')!)
    const expected = 2 * (await l0.data())[0]! + 0.5 * (await l1.data())[0]!
    expect((await total.data())[0]).toBeCloseTo(expected, 5)
    expect(() => multi.loss(out, new Map([['sentiment', targets.get('sentiment')!]]))).toThrow(/missing target for task "score"/)
    tf.dispose([x, total, l0, l1, ...out.values(), ...targets.values()])
    multi.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })

  it('rejects duplicate task names and bad weights', () => {
    const spec = { name: 'a', kind: 'regression', inputDim: 4 } as const
    expect(() => new MultiHead([spec, spec])).toThrow(/"a" is used twice/)
    expect(() => new MultiHead([{ ...spec, lossWeight: -1 }])).toThrow(/invalid loss weight/)
    expect(() => new MultiHead([])).toThrow(/at least one task/)
  })
})
