// The Node WebGPU bench must not report a measurement whose kernels failed. On a device whose
// binding limit is under a tensor's size (lavapipe: 128 MiB), WebGPU rejects the kernel's bind
// group: no exception, the command buffer is dropped, and the step "runs" in no time. The first
// packed run of `--gpt2` on lavapipe printed such a step as 102 % of the matmul rate.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { startDawn } from './dawn'
import { gpt2DoesNotFit, guarded } from './webgpuBench'

describe('the WebGPU bench and device errors (Dawn + lavapipe)', () => {
  beforeAll(async () => {
    await startDawn()
  }, 120_000)

  it('marks a measurement whose kernel bound a tensor over the device limit as not valid', async () => {
    const limit = (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } }).device.limits.maxStorageBufferBindingSize
    // 50,257 × 768 floats, GPT-2's embedding: 154,389,504 bytes.
    expect(50257 * 768 * 4).toBeGreaterThan(limit) // lavapipe's 128 MiB; a GPU machine would not reach the fault
    const big = tf.ones([50257, 768])
    const r = await guarded('webgpu', async () => {
      const s = tf.sum(big)
      const v = (await s.data())[0]!
      s.dispose()
      return { sum: v }
    })
    big.dispose()
    expect(r.deviceErrors?.count).toBeGreaterThanOrEqual(1)
    expect(r.deviceErrors?.first).toMatch(/Binding size \(154389504\).*larger than the maximum storage buffer binding size/)
    expect(r.sum).not.toBe(50257 * 768) // what the kernel would have given had it run
  }, 60_000)

  it('leaves a measurement that ran within the limits as it is', async () => {
    const x = tf.ones([1000, 768])
    const r = await guarded('webgpu', async () => {
      const s = tf.sum(x)
      const v = (await s.data())[0]!
      s.dispose()
      return { sum: v }
    })
    x.dispose()
    expect(r.deviceErrors).toBeUndefined()
    expect(r.sum).toBe(768000)
  }, 60_000)

  it('does not start the GPT-2-shaped step where its embedding cannot be bound', () => {
    expect(gpt2DoesNotFit(134_217_728)).toBe('its 50,257 × 768 embedding (154.4 MB) is over this device\'s 128 MiB binding limit')
    expect(gpt2DoesNotFit(2 ** 31)).toBeNull()
    expect(gpt2DoesNotFit(null)).toBeNull() // not webgpu: no binding limit
  })
})
