import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { groupSize, LossReader, MAX_GROUP } from './lossReads'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const info = (step: number) => ({ examples: 8, lr: 1e-3, step, st: step - 1 })

describe('LossReader', () => {
  it('groups about a quarter second of steps per read, one step when the step time is unknown or slow', () => {
    expect(groupSize(0)).toBe(1)
    expect(groupSize(NaN)).toBe(1)
    expect(groupSize(0.8)).toBe(1)
    expect(groupSize(0.05)).toBe(5)
    expect(groupSize(0.001)).toBe(MAX_GROUP)
  })

  it('returns every loss in step order, device scalars and numbers alike, and frees its tensors', async () => {
    const before = tf.memory().numTensors
    const r = new LossReader()
    const seen: number[] = []
    for (let k = 1; k <= 20; k++) {
      r.push(k % 7 === 0 ? k / 10 : tf.scalar(k / 10), info(k), 0.001, k === 20)
      seen.push(...(await r.take('ready')).map((x) => x.step))
    }
    const rest = await r.take('all')
    seen.push(...rest.map((x) => x.step))
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(rest.at(-1)!.loss).toBeCloseTo(2.0, 6)
    expect(tf.memory().numTensors).toBe(before)
  })

  it('keeps at most two groups unread: a third makes take("ready") wait', async () => {
    const r = new LossReader()
    r.push(tf.scalar(1), info(1), 1) // slow steps: a group each
    r.push(tf.scalar(2), info(2), 1)
    const a = await r.take('ready') // on cpu reads land within a microtask or two
    r.push(tf.scalar(3), info(3), 1)
    r.push(tf.scalar(4), info(4), 1)
    r.push(tf.scalar(5), info(5), 1)
    const b = await r.take('ready')
    expect([...a, ...b].map((x) => x.loss).length).toBeGreaterThanOrEqual(3) // ≤ 2 groups left unread
    const c = await r.take('all')
    expect([...a, ...b, ...c].map((x) => x.loss)).toEqual([1, 2, 3, 4, 5])
  })

  it('frees unread losses when a run ends early', async () => {
    const before = tf.memory().numTensors
    const r = new LossReader()
    for (let k = 1; k <= 5; k++) r.push(tf.scalar(k), info(k), 0.001) // 5 < MAX_GROUP: still filling
    r.push(tf.scalar(9), info(6), 1) // closes a group of 6 with a read in flight
    r.push(tf.scalar(9), info(7), 0.001)
    await r.dispose()
    expect(tf.memory().numTensors).toBe(before)
  })
})
