/**
 * Instruction and preference tuning of a Hugging Face causal LM through the session's one
 * train path: a tiny GPT-2 with GPT-2's real 50,257-token byte-level BPE tokenizer
 * (scripts/hf-reference/gpt2-tokenizer.mjs) and a ChatML-style chat template in its
 * tokenizer_config.json. The loss mask of a chat row is checked against ids worked out apart
 * from the studio's code: the template rendered by hand and tokenized by gpt-3-encoder (an
 * independent implementation of GPT-2's BPE), with <|endoftext|> (50256) put in by hand.
 * SFT with LoRA on GPT-2's module names lowers the held-out answer loss and the chat
 * playground renders the same template; a tiny Llama (grouped-query attention, LoRA on its
 * seven projections) learns the same way; DPO's rewards are exactly zero before tuning (the
 * reference is the same weights with the adapter off).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { encode as gpt3Encode } from 'gpt-3-encoder'
import { beforeAll, describe, expect, it } from 'vitest'
import { gpt2TokenizerFiles } from '../../../scripts/hf-reference/gpt2-tokenizer.mjs'
import { loadHfBundle, mapSource } from '../hf/hfLoad'
import { writeSafetensors } from '../hf/safetensors'
import { encodeSft, type SftRow } from '../tasks/sft/data'
import type { FineTuneCallbacks } from '../train/fineTune'
import type { Metrics } from '../types/metrics'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { holdHf, hfFamily, type HeldHf } from './families/hf'
import type { SessionData } from './family'
import { Session, type RunHooks } from './session'

const root = resolve(__dirname, '../../..')
const sample = (name: string, from: number, n: number) => readFileSync(resolve(root, 'public/samples/lm', name), 'utf8').trim().split('\n').slice(from, from + n).join('\n')
/** The shipped chat rows without their system message: a 50,257-way softmax per token is
 *  what a step costs here, so rows are kept to about 26 tokens. */
const userTurns = (from: number, n: number) =>
  sample('afinn-chat.jsonl', from, n)
    .split('\n')
    .map((l) => JSON.stringify({ messages: (JSON.parse(l) as { messages: { role: string }[] }).messages.filter((m) => m.role !== 'system') }))
    .join('\n')

const CHAT_TEMPLATE = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + eos_token + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
const EOT = 50256

/** A GPT-2 with the real vocabulary, 16 wide, one block, 64 positions, seeded weights. */
async function tinyGpt2(): Promise<HeldHf> {
  const V = 50257
  const d = 16
  let seed = 7
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1
  const t = (name: string, shape: number[], scale: number) => ({ name, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd() * scale) })
  const ones = (name: string) => ({ name, shape: [d], data: new Float32Array(d).fill(1) })
  const zeros = (name: string, n: number) => ({ name, shape: [n], data: new Float32Array(n) })
  const weights = writeSafetensors([
    t('wte.weight', [V, d], 0.5),
    t('wpe.weight', [64, d], 0.1),
    ones('h.0.ln_1.weight'),
    zeros('h.0.ln_1.bias', d),
    ones('h.0.ln_2.weight'),
    zeros('h.0.ln_2.bias', d),
    t('h.0.attn.c_attn.weight', [d, 3 * d], 0.3),
    zeros('h.0.attn.c_attn.bias', 3 * d),
    t('h.0.attn.c_proj.weight', [d, d], 0.3),
    zeros('h.0.attn.c_proj.bias', d),
    t('h.0.mlp.c_fc.weight', [d, 4 * d], 0.3),
    zeros('h.0.mlp.c_fc.bias', 4 * d),
    t('h.0.mlp.c_proj.weight', [4 * d, d], 0.3),
    zeros('h.0.mlp.c_proj.bias', d),
    ones('ln_f.weight'),
    zeros('ln_f.bias', d),
  ])
  const tok = gpt2TokenizerFiles()
  const enc = (x: unknown) => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x))
  const files = new Map<string, Uint8Array>([
    ['config.json', enc({ model_type: 'gpt2', vocab_size: V, n_positions: 64, n_embd: d, n_layer: 1, n_head: 2, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5 })],
    ['model.safetensors', weights],
    ['tokenizer.json', enc(tok.tokenizerJson)],
    ['tokenizer_config.json', enc({ ...tok.tokenizerConfig, chat_template: CHAT_TEMPLATE })],
  ])
  const bundle = await loadHfBundle(mapSource(files))
  return holdHf({ ...bundle, weightBytes: weights.length }, new Map([...files].filter(([n]) => n.startsWith('tokenizer'))), [...files.keys()], 'studio-test/tiny-gpt2-chat', 'studio-test/tiny-gpt2-chat', 'from test files')
}

/** A Llama (grouped-query attention: 2 query heads, 1 key/value head; tied head) 16 wide, one
 *  block, in LlamaForCausalLM's layout, with the same tokenizer and chat template. */
async function tinyLlama(): Promise<HeldHf> {
  const V = 50257
  const d = 16
  const kv = d / 2
  let seed = 11
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1
  const t = (name: string, shape: number[], scale: number) => ({ name, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd() * scale) })
  const ones = (name: string) => ({ name, shape: [d], data: new Float32Array(d).fill(1) })
  const p = 'model.layers.0.'
  const weights = writeSafetensors([
    t('model.embed_tokens.weight', [V, d], 0.5),
    ones(`${p}input_layernorm.weight`),
    t(`${p}self_attn.q_proj.weight`, [d, d], 0.3),
    t(`${p}self_attn.k_proj.weight`, [kv, d], 0.3),
    t(`${p}self_attn.v_proj.weight`, [kv, d], 0.3),
    t(`${p}self_attn.o_proj.weight`, [d, d], 0.3),
    ones(`${p}post_attention_layernorm.weight`),
    t(`${p}mlp.gate_proj.weight`, [2 * d, d], 0.3),
    t(`${p}mlp.up_proj.weight`, [2 * d, d], 0.3),
    t(`${p}mlp.down_proj.weight`, [d, 2 * d], 0.3),
    ones('model.norm.weight'),
  ])
  const tok = gpt2TokenizerFiles()
  const enc = (x: unknown) => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x))
  const files = new Map<string, Uint8Array>([
    ['config.json', enc({ model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: V, hidden_size: d, intermediate_size: 2 * d, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 64, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, hidden_act: 'silu' })],
    ['model.safetensors', weights],
    ['tokenizer.json', enc(tok.tokenizerJson)],
    ['tokenizer_config.json', enc({ ...tok.tokenizerConfig, chat_template: CHAT_TEMPLATE })],
  ])
  const bundle = await loadHfBundle(mapSource(files))
  return holdHf({ ...bundle, weightBytes: weights.length }, new Map([...files].filter(([n]) => n.startsWith('tokenizer'))), [...files.keys()], 'studio-test/tiny-llama-chat', 'studio-test/tiny-llama-chat', 'from test files')
}

const noData: SessionData = { dataset: null, facts: null, images: null, decoder: null, split: () => { throw new Error('no dataset in this test') } }

/** Hooks that keep the run's baseline and epochs (no recording). */
function hooks(): RunHooks & { baseline: Metrics | null; epochs: Metrics[] } {
  const h = {
    baseline: null as Metrics | null,
    epochs: [] as Metrics[],
    events: {} as FineTuneCallbacks,
    started: () => {},
    record: async (_s: Settings, _c: unknown, events: FineTuneCallbacks) => ({
      callbacks: (): FineTuneCallbacks => ({ ...events, onBaseline: (m) => (h.baseline = m), onEpoch: (e) => void h.epochs.push(e.val) }),
      finish: async () => {},
      fail: async () => {},
    }),
  }
  return h
}

let held: HeldHf
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  held = await tinyGpt2()
}, 120_000)

describe('SFT and DPO with a Hugging Face GPT-2 and its own chat template', () => {
  it('masks exactly the assistant answer of a chat row, as the template rendered by hand and an independent BPE tokenize it', () => {
    const lm = hfFamily.chatLm!(held)!
    expect(lm.wholeText).toBe(true)
    expect(lm.chat!.template).toBe(CHAT_TEMPLATE)
    const row = { kind: 'chat', row: 1, messages: [{ role: 'system', content: 'You label words.' }, { role: 'user', content: 'appalled' }, { role: 'assistant', content: 'negative' }] } as SftRow
    const { examples } = encodeSft([row], lm.tokenizer, { seqLen: 64, chat: lm.chat!, wholeText: true })
    // By hand: <|im_start|>system\nYou label words.<eot>\n<|im_start|>user\nappalled<eot>\n<|im_start|>assistant\nnegative<eot>\n
    const context = [...gpt3Encode('<|im_start|>system\nYou label words.'), EOT, ...gpt3Encode('\n<|im_start|>user\nappalled'), EOT, ...gpt3Encode('\n<|im_start|>assistant\n')]
    const answer = [...gpt3Encode('negative'), EOT, ...gpt3Encode('\n')]
    expect(examples[0]!.ids).toEqual([...context, ...answer])
    expect(examples[0]!.mask).toEqual([...context.map(() => 0), ...answer.map(() => 1)])
  })

  it('previews the model’s own tokens, and SFT with LoRA on its module names lowers the held-out answer loss', async () => {
    const session = new Session(noData)
    session.hold(held)
    const summary = session.readObjective({ objective: 'sft', train: { name: 'chat.jsonl', text: userTurns(0, 32) }, validation: { name: 'held-out.jsonl', text: userTurns(200, 16) }, seqLen: 32 })
    expect(summary.rows).toBe(32)
    expect(summary.problemCount).toBe(0)
    expect(summary.truncated).toEqual([]) // every row fits in 32 tokens
    expect(summary.chat).toBe(true)
    expect(summary.template).toBe(CHAT_TEMPLATE)
    expect(summary.model).toBe('studio-test/tiny-gpt2-chat')
    const first = JSON.parse(sample('afinn-chat.jsonl', 0, 1)) as { messages: { content: string }[] }
    const tokens = summary.preview[0]!.tokens
    expect(tokens.filter((t) => t.trained).map((t) => t.text).join('')).toBe(`${first.messages[2]!.content}<|endoftext|>\n`)
    expect(tokens.map((t) => t.text).join('')).toBe(`<|im_start|>user\n${first.messages[1]!.content}<|endoftext|>\n<|im_start|>assistant\n${first.messages[2]!.content}<|endoftext|>\n`)
    const before = tf.memory().numTensors
    const h = hooks()
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'lora', loraRank: 4, loraAlpha: 8, epochs: 3, batchSize: 8, seqLen: 32, learningRate: 0.02, warmupSteps: 0, dropout: 0, earlyStopPatience: 0 }
    const out = await session.train('hf-sft', s, h, undefined, { objective: 'sft', beta: 0.1, sftWeight: 0, pack: false })
    expect('result' in out).toBe(true)
    const lora = held.tuning!.lora!
    expect(lora.layers).toContain('h.0.attn.c_attn') // LoRA on GPT-2's own module names
    const base = h.baseline!.loss
    const best = Math.min(...h.epochs.map((m) => m.loss))
    console.log(`HF GPT-2 SFT: held-out answer loss ${base.toFixed(3)} → ${h.epochs.map((m) => m.loss.toFixed(3)).join(' → ')}`)
    expect(h.epochs).toHaveLength(3)
    expect(best).toBeLessThan(base - 0.5)
    // after the run only the tuning stays (LoRA factors + their Adam state are gone with the optimizer)
    expect(tf.memory().numTensors - before).toBe(lora.params.length)
    // the playground: the same template with its generation prompt, the base and the tuned answer
    const chat = await session.chat({ messages: [{ role: 'user', content: 'cheering' }], maxTokens: 3, raw: false })
    expect(chat.prompt).toBe('<|im_start|>user\ncheering<|endoftext|>\n<|im_start|>assistant\n')
    expect(typeof chat.base).toBe('string')
    expect(typeof chat.tuned).toBe('string')
    expect(tf.memory().numTensors - before).toBe(lora.params.length) // merged kernels freed
    // the TRL recipe trains the same repo
    expect(session.recipe({ objective: 'sft', beta: 0.1, sftWeight: 0, pack: false }, s)[0]!.text).toContain('studio-test/tiny-gpt2-chat')
  }, 240_000)

  it('a Llama-family model: LoRA SFT on q_proj/v_proj… lowers the held-out answer loss', async () => {
    const llama = await tinyLlama()
    const session = new Session(noData)
    session.hold(llama)
    session.readObjective({ objective: 'sft', train: { name: 'chat.jsonl', text: userTurns(0, 16) }, validation: { name: 'held-out.jsonl', text: userTurns(200, 8) }, seqLen: 32 })
    const h = hooks()
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'lora', loraRank: 4, loraAlpha: 8, loraTargets: 'qkv,proj,fc,out', epochs: 2, batchSize: 8, seqLen: 32, learningRate: 0.02, warmupSteps: 0, dropout: 0, earlyStopPatience: 0 }
    const out = await session.train('llama-sft', s, h, undefined, { objective: 'sft', beta: 0.1, sftWeight: 0, pack: false })
    expect('result' in out).toBe(true)
    expect(llama.tuning!.lora!.layers).toEqual(expect.arrayContaining(['layers.0.self_attn.q_proj', 'layers.0.mlp.down_proj']))
    const best = Math.min(...h.epochs.map((m) => m.loss))
    console.log(`HF Llama SFT: held-out answer loss ${h.baseline!.loss.toFixed(3)} → ${h.epochs.map((m) => m.loss.toFixed(3)).join(' → ')}`)
    expect(best).toBeLessThan(h.baseline!.loss - 0.3)
    session.drop()
  }, 240_000)

  it('DPO: the reference is the model with the adapter off, so the held-out rewards before tuning are exactly zero', async () => {
    const session = new Session(noData)
    session.hold(held)
    session.readObjective({ objective: 'dpo', train: { name: 'pairs.jsonl', text: sample('afinn-preferences.jsonl', 0, 8) }, validation: { name: 'held-out.jsonl', text: sample('afinn-preferences-validation.jsonl', 0, 8) }, seqLen: 16 })
    const h = hooks()
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'lora', epochs: 1, batchSize: 4, seqLen: 16, learningRate: 0.01, warmupSteps: 0, dropout: 0, earlyStopPatience: 0 }
    const out = await session.train('hf-dpo', s, h, undefined, { objective: 'dpo', beta: 0.1, sftWeight: 0, pack: false })
    expect('result' in out).toBe(true)
    const p = h.baseline!.preference!
    expect(p.chosenReward).toBe(0)
    expect(p.rejectedReward).toBe(0)
    expect(p.rewardMargin).toBe(0)
    expect(h.baseline!.loss).toBeCloseTo(Math.log(2), 6)
    expect(h.epochs).toHaveLength(1)
  }, 240_000)
})
