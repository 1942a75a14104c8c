// Issue 16 on a real WebGPU device (Dawn; lavapipe where there is no GPU): a Hugging Face model
// fully fine-tuned on WebAssembly, then the backend switched to WebGPU and the held model rebound
// (HfModelHost.rebind, the handler's call after a backend change). The device's own binding (128
// MiB on lavapipe) holds this tiny model's table, so the limit is given as data (4,000,000 bytes
// against the 6,432,896-byte embedding) while every split, lookup and generation runs on the
// device: "before" must generate as the base model does (the same files loaded alone on
// WebAssembly), "after" as the tuned one did before the switch. No adapter is a failure with what
// to install (.ci/run installs lavapipe), never a skip.
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { describe, expect, it } from 'vitest'
import type { BindingLimits } from '../../src/engine/hf/bindingLimits'
import { hfFamily, type HeldHf } from '../../src/engine/session/families/hf'
import { Session } from '../../src/engine/session/session'
import { DEFAULTS } from '../../src/settings/schema'
import { HfModelHost } from '../../src/worker/hfModelHost'
import { startDawn } from './dawn'

import { files, generate, hooks, textData } from '../../src/worker/hfRebindFixtures'

describe('a rebind to WebGPU (Dawn) after full fine-tuning on WebAssembly keeps "before" the base model', () => {
  it('the split is made on the device from the tuned table; "before" copies the base in, "after" the tuned weights back', async () => {
    await tf.setBackend('wasm')
    const alone = new Session(await textData())
    const aloneHost = new HfModelHost(() => {}, { fetchFn: async () => new Response(null, { status: 404 }), cache: null, hold: (h) => alone.hold(h), loaded: () => alone.loaded as HeldHf, adopt: () => {}, ensureBackend: async () => {}, bindingLimits: () => null })
    await aloneHost.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: files() } })
    const baseText = (await generate(alone)).before
    alone.drop()

    let device: BindingLimits | null = null
    const session = new Session(await textData())
    const h = new HfModelHost(() => {}, {
      fetchFn: async () => new Response(null, { status: 404 }),
      cache: null,
      hold: (held) => session.hold(held),
      loaded: () => (session.loaded?.family === hfFamily ? (session.loaded as HeldHf) : null),
      adopt: (held, tuning) => session.adopt(held, tuning),
      ensureBackend: async () => {},
      bindingLimits: () => device,
    })
    await h.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: files() } })
    const held = session.loaded as HeldHf
    const out = await session.train('full', { ...DEFAULTS, method: 'full', epochs: 2, batchSize: 4, seqLen: 16, learningRate: 0.05, warmupSteps: 0 }, hooks)
    if (!('result' in out)) throw new Error(`refused: ${JSON.stringify(out.refused)}`)
    const tuned = await generate(session)
    expect(tuned.before).toBe(baseText)
    expect(tuned.after).not.toBe(baseText)

    // the backend changes to WebGPU; the handler then rebinds the held model
    await startDawn()
    expect(tf.getBackend()).toBe('webgpu')
    device = { maxStorageBufferBindingSize: 4_000_000, maxBufferSize: 268_435_456 }
    expect(await h.rebind()).toBe(true)
    const chunks = (held.body.model as unknown as { chunks: Map<string, tf.Tensor2D[]> }).chunks
    expect(chunks.get('wte.weight')!.map((c) => c.shape)).toEqual([[31_250, 32], [19_007, 32]])
    const onDevice = await generate(session)
    expect(onDevice.before).toBe(baseText)
    expect(onDevice.after).toBe(tuned.after)
    session.drop()
  }, 300_000)
})
