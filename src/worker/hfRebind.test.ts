// Issue 16: a Hugging Face model fully fine-tuned on WebAssembly, then moved to a WebGPU device
// whose storage-buffer binding cannot hold its embedding (HfModelHost.rebind splits the table,
// the real split code, with the device's limits given as data: 4,000,000 bytes against the
// 6,432,896-byte embedding of a GPT-2 with the real 50,257-token vocabulary, 32 wide). The split
// copies are of the weights as they are when split (the tuned ones), so "before" answers, a new
// run's reset to the base and interpolation must copy them again: "before" must be the base
// model, checked against the same files loaded on their own, never split and never trained.
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import type { BindingLimits } from '../engine/hf/bindingLimits'
import { hfFamily, type HeldHf } from '../engine/session/families/hf'
import { Session, type RunHooks } from '../engine/session/session'
import { resetWeights } from '../engine/tuning/interpolate'
import { DEFAULTS } from '../settings/schema'
import { HfModelHost } from './hfModelHost'
import { files, generate, hooks, textData } from './hfRebindFixtures'

async function lastLogits(held: HeldHf, ids: number[]): Promise<Float32Array> {
  const t = tf.tidy(() => held.body.model.logits(held.body.model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'))).reshape([-1]))
  const d = (await t.data()) as Float32Array
  t.dispose()
  return d
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0)

describe('a rebind to a WebGPU binding after full fine-tuning keeps "before" the base model', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm') // the backend the studio picks without a GPU (and whose scatter-add keeps full fine-tuning of a 50,257-row table quick)
  })

  it('generation before, the split copies after a reset to the base, and a new run all read the base weights', async () => {
    // the base model alone: the same files, never split, never trained
    const alone = new Session(await textData())
    const aloneHost = new HfModelHost(() => {}, { fetchFn: async () => new Response(null, { status: 404 }), cache: null, hold: (h) => alone.hold(h), loaded: () => alone.loaded as HeldHf, adopt: () => {}, ensureBackend: async () => {}, bindingLimits: () => null })
    await aloneHost.handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: files() } })
    const baseText = (await generate(alone)).before
    const ids = (alone.loaded as HeldHf).tokenizer.encode('the whale swam', { addSpecialTokens: false })
    const baseLogits = await lastLogits(alone.loaded as HeldHf, ids)

    let device: BindingLimits | null = null // WebAssembly / CPU: no binding limit
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
    // full fine-tuning moved the embedding of the text's tokens
    const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(held.body.get('wte.weight'), held.base!.get('wte.weight')!))))
    expect((await moved.data())[0]).toBeGreaterThan(1e-3)
    moved.dispose()
    const tuned = await generate(session)
    expect(tuned.before).toBe(baseText)
    expect(tuned.after).not.toBe(baseText) // the tuned model writes otherwise: a "before" read from tuned weights would show
    const tunedLogits = await lastLogits(held, ids)
    expect(maxDiff(tunedLogits, baseLogits)).toBeGreaterThan(1e-3)

    // to a WebGPU device with a 4,000,000-byte binding: wte (50,257 × 32 × 4 = 6,432,896 bytes)
    // is split in chunks of floor(4,000,000 / 128) = 31,250 rows; a token's logits are 201,028
    // bytes, so at most 19 tokens a batch
    device = { maxStorageBufferBindingSize: 4_000_000, maxBufferSize: 268_435_456 }
    expect(await h.rebind()).toBe(true)
    const chunks = (held.body.model as unknown as { chunks: Map<string, tf.Tensor2D[]> }).chunks
    expect(chunks.get('wte.weight')!.map((c) => c.shape)).toEqual([[31_250, 32], [19_007, 32]])
    // the split holds the tuned table: the model reads as before the move
    expect(maxDiff(await lastLogits(held, ids), tunedLogits)).toBeLessThan(1e-5)
    // "before" is the base model, "after" the tuned one, as on the CPU
    const split = await generate(session)
    expect(split.before).toBe(baseText)
    expect(split.after).toBe(tuned.after)
    expect(maxDiff(await lastLogits(held, ids), tunedLogits)).toBeLessThan(1e-5) // put back after "before"

    // weights assigned without copying the split again are refused, never read stale
    const tensors = tf.memory().numTensors
    resetWeights(held.body, held.base!)
    expect(() => tf.tidy(() => held.body.model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')))).toThrow(/The GPU copy of wte\.weight .* is older than the model's weights/)
    expect(await held.body.model.refreshSplit()).toEqual(['wte.weight'])
    expect(maxDiff(await lastLogits(held, ids), baseLogits)).toBeLessThan(1e-5)
    expect(await held.body.model.refreshSplit()).toEqual([]) // nothing changed since
    expect(tf.memory().numTensors).toBe(tensors) // the old chunks were freed

    // a new run (LoRA, allowed on the split table) starts from the base: its first evaluation is the base model's
    // (before the session copied the split after its reset, this run read the tuned chunks)
    // (one step is enough: stopped after it)
    const oneStep: RunHooks = { ...hooks, record: async (_s, _c, cb) => ({ callbacks: () => ({ ...cb, onStep: () => session.run?.control.stop() }), finish: async () => {}, fail: async () => {} }) }
    const lora = await session.train('lora', { ...DEFAULTS, method: 'lora', loraRank: 2, epochs: 1, batchSize: 1, seqLen: 16 }, oneStep)
    if (!('result' in lora)) throw new Error(`refused: ${JSON.stringify(lora.refused)}`)
    expect(lora.result.reason).toBe('stopped')
    expect((await generate(session)).before).toBe(baseText)
    session.drop()
    alone.drop()
  }, 120_000)
})
