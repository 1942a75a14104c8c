// The studio's Hugging Face load and run plan on a real WebGPU device (Dawn; lavapipe where there
// is no GPU): the host reads the device's storage-buffer limits itself (webgpuDeviceLimits, no
// limits injected), the held model keeps them, and the session plan refuses a language-modelling
// batch whose logits one binding cannot hold, naming the most tokens a batch may have. No adapter
// is a failure with what to install (.ci/run installs lavapipe), never a skip.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { tinyGpt2Files } from '../../src/engine/hf/testGpt2'
import { hfFamily, type HeldHf } from '../../src/engine/session/families/hf'
import { Session } from '../../src/engine/session/session'
import { DEFAULTS } from '../../src/settings/schema'
import { HfModelHost } from '../../src/worker/hfModelHost'
import { startDawn } from './dawn'

describe('a Hugging Face model loaded on WebGPU (Dawn) is planned against the device’s binding limit', () => {
  beforeAll(async () => {
    await startDawn()
  }, 120_000)

  it('the host reads the device’s limits, and a batch of logits over one binding is refused on the batch size', async () => {
    expect(tf.getBackend()).toBe('webgpu')
    const session = new Session({ dataset: null, facts: null, images: null, decoder: null, split: () => { throw new Error('no data') } })
    const events: { type: string }[] = []
    const h = new HfModelHost((e) => events.push(e), {
      fetchFn: async () => new Response(null, { status: 404 }),
      cache: null,
      hold: (held) => session.hold(held),
      loaded: () => (session.loaded?.family === hfFamily ? (session.loaded as HeldHf) : null),
      adopt: (held, tuning) => session.adopt(held, tuning),
      ensureBackend: async () => {},
    })
    await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: tinyGpt2Files() } } as Parameters<HfModelHost['handle']>[0])
    expect(events.find((e) => e.type === 'error')).toBeUndefined()
    const held = session.loaded as HeldHf
    const l = held.bindingLimits
    expect(l).not.toBeNull()
    // WebGPU's default and minimum binding is 128 MiB; lavapipe gives exactly that.
    expect(l!.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(134_217_728)
    const binding = Math.min(l!.maxStorageBufferBindingSize, l!.maxBufferSize)
    // a token's logits: 50,257 × 4 = 201,028 bytes; at 128 MiB, floor(134,217,728 / 201,028) = 667 tokens
    const most = Math.floor(binding / 201_028)
    if (binding === 134_217_728) expect(most).toBe(667)
    // the tiny model's 804,112-byte table fits any device: full fine-tuning is not refused for it
    const fits = session.plan({ ...DEFAULTS, method: 'lora', loraRank: 2, batchSize: 4, seqLen: 32 })!.plan.problems
    expect(fits.filter((p) => /storage-buffer/.test(p.message))).toEqual([])
    // 512 × 64 = 32,768 tokens (the largest batch and this model's context): 6,587,285,504 bytes
    // of logits, over any binding a 32-bit size can give (4,294,967,295)
    expect(binding).toBeLessThan(32_768 * 201_028)
    const wide = session.plan({ ...DEFAULTS, method: 'lora', loraRank: 2, batchSize: 512, seqLen: 64 })!.plan.problems
    expect(wide.filter((p) => /storage-buffer/.test(p.message))).toEqual([
      { field: 'batchSize', message: `The logits of 32768 tokens a batch (6587 MB) are over this GPU's ${Math.round(binding / 1e6)} MB storage-buffer limit. Use at most ${most} tokens a batch (batch size × sequence length).` },
    ])
    if (binding === 134_217_728) expect(wide.find((p) => /storage-buffer/.test(p.message))!.message).toContain("this GPU's 134 MB storage-buffer limit. Use at most 667 tokens a batch")
    session.drop()
  }, 300_000)
})
