import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { SPEC } from '../../settings/schema'
import { microBatchSeed, subSeed } from './seeds'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

async function mask(seed: string): Promise<Float32Array> {
  const m = tf.tidy(() => tf.dropout(tf.ones([256]), 0.5, undefined, seed))
  const v = (await m.data()) as Float32Array
  m.dispose()
  return v
}

describe('micro-batch seeds', () => {
  it('are distinct for every (step, micro-batch) of a run over the allowed ranges', () => {
    const maxAccum = SPEC.accumSteps.max as number
    expect(maxAccum).toBe(64)
    for (const seed of [0, 1, 42, SPEC.seed.max as number]) {
      const seen = new Set<string>()
      for (let step = 0; step < 2000; step++) for (let m = 0; m < maxAccum; m++) seen.add(microBatchSeed(seed, step, m))
      expect(seen.size).toBe(2000 * maxAccum)
    }
    // Across seeds too (two runs with neighbouring seeds never share a step's masks).
    const pairs = new Set([0, 1, 10, 100].flatMap((seed) => [0, 1, 10].map((step) => microBatchSeed(seed, step, 0))))
    expect(pairs.size).toBe(12)
  })

  it('give different masks where the old formula seed·100003 + step·31 + m collided', async () => {
    // Old formula: step 0, micro 31 and step 1, micro 0 both gave 42·100003 + 31.
    expect(42 * 100003 + 0 * 31 + 31).toBe(42 * 100003 + 1 * 31 + 0)
    const a = await mask(microBatchSeed(42, 0, 31))
    const b = await mask(microBatchSeed(42, 1, 0))
    expect(a.some((x, i) => x !== b[i])).toBe(true)
    // …and the same seed gives the same mask.
    expect(Array.from(await mask(microBatchSeed(42, 0, 31)))).toEqual(Array.from(a))
  })

  it('seed 0 is still a seed (tfjs treats a numeric 0 as "unseeded")', async () => {
    const s = microBatchSeed(0, 0, 0)
    expect(Array.from(await mask(s))).toEqual(Array.from(await mask(s)))
  })

  it('named draws inside a step get their own seeds', () => {
    const s = microBatchSeed(42, 3, 1)
    const names = ['drop0', 'drop1', 'lora.h0.attn.qkv', 'lora.h1.attn.qkv', 'head0']
    expect(new Set(names.map((n) => subSeed(s, n))).size).toBe(names.length)
    expect(subSeed(undefined, 'drop0')).toBeUndefined()
  })
})
