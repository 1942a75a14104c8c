// The scenario both rebind tests share (src/worker/hfRebind.test.ts on WebAssembly,
// bench/node/hfRebindWebgpu.test.ts on Dawn): a one-block GPT-2, 32 wide, with the real
// 50,257-token vocabulary (a 6,432,896-byte embedding), a tiny text dataset, run hooks that
// record nothing, and greedy "before"/"after" generation. Test support only.
import { gpt2TokenizerFiles } from '../../scripts/hf-reference/gpt2-tokenizer.mjs'
import { parseDatasetText } from '../engine/data/dataset'
import { writeSafetensors } from '../engine/hf/safetensors'
import type { SessionData } from '../engine/session/family'
import type { Session, RunHooks } from '../engine/session/session'
import type { PlaygroundAnswer } from '../engine/types/playground'

const V = 50257
const D = 32

export function files(): File[] {
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

export async function textData(): Promise<SessionData> {
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

export const hooks: RunHooks = { events: {}, started: () => {}, record: async (_s, _c, cb) => ({ callbacks: () => cb, finish: async () => {}, fail: async () => {} }) }

export async function generate(session: Session): Promise<{ before: string; after?: string }> {
  const out: { before: string; after?: string } = { before: '' }
  await session.generate({ requestId: 'g', prompt: 'the whale', maxTokens: 8, temperature: 0, topK: 0, seed: 1 }, (a: PlaygroundAnswer) => {
    if (a.type === 'generation') out[a.which] = a.text
  }, () => false)
  return out
}
