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
import { gpt2TokenizerFiles } from '../../scripts/hf-reference/gpt2-tokenizer.mjs'
import { parseDatasetText } from '../../src/engine/data/dataset'
import { writeSafetensors } from '../../src/engine/hf/safetensors'
import type { BindingLimits } from '../../src/engine/hf/bindingLimits'
import { hfFamily, type HeldHf } from '../../src/engine/session/families/hf'
import type { SessionData } from '../../src/engine/session/family'
import { Session, type RunHooks } from '../../src/engine/session/session'
import { DEFAULTS } from '../../src/settings/schema'
import type { PlaygroundAnswer } from '../../src/engine/types/playground'
import { HfModelHost } from '../../src/worker/hfModelHost'
import { startDawn } from './dawn'

const V = 50257
const D = 32

function files(): File[] {
  let s = 99
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1
  const t = (name: string, shape: number[], scale = 0.5) => ({ name, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd() * scale) })
  const ones = (name: string) => ({ name, shape: [D], data: new Float32Array(D).fill(1) })
  const zeros = (name: string, n = D) => ({ name, shape: [n], data: new Float32Array(n) })
  const weights = writeSafetensors([
    t('wte.weight', [V, D]),
    t('wpe.weight', [64, D], 0.1),
    ones('h.0.ln_1.weight'),
    zeros('h.0.ln_1.bias'),
    t('h.0.attn.c_attn.weight', [D, 3 * D]),
    zeros('h.0.attn.c_attn.bias', 3 * D),
    t('h.0.attn.c_proj.weight', [D, D]),
    zeros('h.0.attn.c_proj.bias'),
    ones('h.0.ln_2.weight'),
    zeros('h.0.ln_2.bias'),
    t('h.0.mlp.c_fc.weight', [D, 4 * D]),
    zeros('h.0.mlp.c_fc.bias', 4 * D),
    t('h.0.mlp.c_proj.weight', [4 * D, D]),
    zeros('h.0.mlp.c_proj.bias'),
    ones('ln_f.weight'),
    zeros('ln_f.bias'),
  ])
  const tok = gpt2TokenizerFiles()
  return [
    new File([JSON.stringify({ model_type: 'gpt2', vocab_size: V, n_positions: 64, n_embd: D, n_layer: 1, n_head: 1, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 })], 'config.json'),
    new File([weights], 'model.safetensors'),
    new File([JSON.stringify(tok.tokenizerJson)], 'tokenizer.json'),
    new File([JSON.stringify(tok.tokenizerConfig)], 'tokenizer_config.json'),
  ]
}

async function textData(): Promise<SessionData> {
  const parsed = await parseDatasetText('whale.txt', 'the whale swam far out to sea.\n')
  if (!parsed.ok) throw new Error(parsed.error.message)
  // two paragraphs: five lines to train on, one held out
  const train = Array.from({ length: 5 }, (_, i) => `the whale swam far out to sea on day ${i} and the sailors sang.`).join('\n')
  const dataset = { ...parsed.dataset, rows: [[train], ['the whale swam far out to sea on the last day, and the sailors sang of the whale all night.']] }
  return {
    dataset,
    facts: { id: 'whale', name: 'whale.txt', task: 'language-modelling', rows: dataset.rows.length, source: 'test', classes: [] },
    images: null,
    decoder: null,
    split: () => ({ train: dataset, trainIdx: [0], validation: dataset, validationIdx: [1] }),
  }
}

const hooks: RunHooks = { events: {}, started: () => {}, record: async (_s, _c, cb) => ({ callbacks: () => cb, finish: async () => {}, fail: async () => {} }) }

async function generate(session: Session): Promise<{ before: string; after?: string }> {
  const out: { before: string; after?: string } = { before: '' }
  await session.generate({ requestId: 'g', prompt: 'the whale', maxTokens: 8, temperature: 0, topK: 0, seed: 1 }, (a: PlaygroundAnswer) => {
    if (a.type === 'generation') out[a.which] = a.text
  }, () => false)
  return out
}

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
