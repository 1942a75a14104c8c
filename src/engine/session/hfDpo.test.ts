/**
 * Preference tuning (DPO) of a Hugging Face causal LM through the session's one train path:
 * a tiny GPT-2 (e2e/hfHub.ts's builder: GPT-2's real 50,257-token tokenizer, seeded weights,
 * one block 16 wide) tuned with LoRA raises the held-out preference accuracy above the base
 * model's, on pairs built from the shipped samples by e2e/wordPreferencePairs.ts (an e-mail
 * subject, "One word:", a positive AFINN word chosen over a negative one): a tiny model can
 * learn them, since the chosen answers are always the same few positive words and the rejected
 * the same few negative ones, whatever the prompt; the held-out pairs have other prompts and
 * pair the words as no training pair does. (On the e-mail spam/ham pairs, whose answer depends
 * on the e-mail's content, this one-block, 16-wide random model moved from 54.7 % to 57.8 % in
 * 3 epochs of 96 pairs, and took 290 s.)
 *
 * The line to beat is counted here apart from the code under test: each held-out prompt is
 * tokenized by gpt-3-encoder (an independent GPT-2 BPE) and run through the model's generation
 * path (nextTokenLogits, not the training loop's batches); both answers are one token, so the
 * base model prefers the chosen answer when its logit is the higher one.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { encode as gpt3Encode } from 'gpt-3-encoder'
import { beforeAll, describe, expect, it } from 'vitest'
import { tinyGpt2Files } from '../../../e2e/hfHub'
import { jsonl, wordPreferencePairs } from '../../../e2e/wordPreferencePairs'
import { nextTokenLogits } from '../hf/generate'
import { loadHfBundle, mapSource } from '../hf/hfLoad'
import type { FineTuneCallbacks } from '../train/fineTune'
import type { Metrics } from '../types/metrics'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { holdHf, type HeldHf } from './families/hf'
import type { SessionData } from './family'
import { Session, type RunHooks } from './session'

const root = resolve(__dirname, '../../..')
const TRAIN = Number(process.env.HF_DPO_TRAIN ?? 64)
const VAL = Number(process.env.HF_DPO_VAL ?? 64)
const SEQ = 24
const EOT = 50256
const noData: SessionData = { dataset: null, facts: null, images: null, decoder: null, split: () => { throw new Error('no dataset in this test') } }

let held: HeldHf
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  const files = new Map([...tinyGpt2Files({ d: 16, layers: 1, positions: 64, seed: 7 })].map(([n, b]) => [n, new Uint8Array(b)] as const))
  const bundle = await loadHfBundle(mapSource(files))
  held = holdHf({ ...bundle, weightBytes: files.get('model.safetensors')!.length }, new Map([...files].filter(([n]) => n.startsWith('tokenizer'))), [...files.keys()], 'studio-test/tiny-gpt2', 'studio-test/tiny-gpt2', 'from test files')
}, 120_000)

describe('DPO with LoRA on a Hugging Face GPT-2', () => {
  it('raises the held-out preference accuracy above the base model’s, counted apart from the loop', async () => {
    const pairs = wordPreferencePairs(readFileSync(resolve(root, 'public/samples/lm/afinn-preferences.jsonl'), 'utf8'), readFileSync(resolve(root, 'public/samples/lm/spam-ham-preferences.jsonl'), 'utf8'), TRAIN, VAL)
    const val = pairs.val
    // The base model's preference on each held-out pair, by the generation path and an independent
    // tokenizer: an answer's log-probability is its word's after the prompt plus GPT-2's end token's
    // (<|endoftext|>, 50256) after the word, as the studio appends it to every answer.
    const logSoftmaxAt = async (ids: number[], at: number) => {
      const t = nextTokenLogits(held.bundle.model, ids)
      const v = await t.data()
      t.dispose()
      let max = -Infinity
      for (const x of v) max = Math.max(max, x)
      let sum = 0
      for (const x of v) sum += Math.exp(x - max)
      return v[at]! - max - Math.log(sum)
    }
    const answerLogProb = async (prompt: number[], word: number) => (await logSoftmaxAt(prompt, word)) + (await logSoftmaxAt([...prompt, word], EOT))
    let basePrefers = 0
    for (const p of val) {
      const ids = gpt3Encode(p.prompt)
      expect(ids.length).toBeLessThan(SEQ - 1) // nothing cut: prompt, word and end token fit
      const [c, r] = [gpt3Encode(p.chosen), gpt3Encode(p.rejected)]
      expect([c.length, r.length]).toEqual([1, 1])
      if ((await answerLogProb(ids, c[0]!)) > (await answerLogProb(ids, r[0]!))) basePrefers++
    }
    const base = basePrefers / val.length

    const session = new Session(noData)
    session.hold(held)
    const summary = session.readObjective({ objective: 'dpo', train: { name: 'word-pairs.jsonl', text: jsonl(pairs.train) }, validation: { name: 'word-pairs-validation.jsonl', text: jsonl(val) }, seqLen: SEQ })
    expect(summary.rows).toBe(TRAIN)
    expect(summary.problemCount).toBe(0)
    expect(summary.truncated).toEqual([])
    let baseline: Metrics | null = null
    const epochs: Metrics[] = []
    const hooks: RunHooks = {
      events: {},
      started: () => {},
      record: async (_s: Settings, _c: unknown, events: FineTuneCallbacks) => ({
        callbacks: (): FineTuneCallbacks => ({ ...events, onBaseline: (m) => (baseline = m), onEpoch: (e) => void epochs.push(e.val) }),
        finish: async () => {},
        fail: async () => {},
      }),
    }
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'lora', loraRank: 8, loraAlpha: 16, loraTargets: process.env.HF_DPO_TARGETS ?? 'qkv,proj,fc,out', epochs: Number(process.env.HF_DPO_EPOCHS ?? 2), batchSize: 8, seqLen: SEQ, learningRate: Number(process.env.HF_DPO_LR ?? 0.01), warmupSteps: 0, dropout: 0, earlyStopPatience: 0, restoreBest: false, seed: 1 }
    const t0 = Date.now()
    const out = await session.train('hf-dpo', s, hooks, undefined, { objective: 'dpo', beta: 0.1, sftWeight: 0, pack: false })
    expect(out).not.toHaveProperty('refused')
    const b = baseline as Metrics | null
    console.log(`HF GPT-2 DPO, ${TRAIN} pairs × ${s.epochs} epochs in ${((Date.now() - t0) / 1000).toFixed(0)} s: held-out (${VAL} pairs) base preference accuracy ${(100 * base).toFixed(1)} % (loop's baseline ${(100 * b!.accuracy!).toFixed(1)} %); per epoch ${epochs.map((m) => `acc ${(100 * m.accuracy!).toFixed(1)} % reward acc ${(100 * m.preference!.rewardAccuracy).toFixed(1)} % margin ${m.preference!.rewardMargin.toFixed(3)} loss ${m.loss.toFixed(4)}`).join(' | ')}`)
    // the loop's line to beat is the same count
    expect(b!.accuracy).toBeCloseTo(base, 6)
    expect(b!.preference!.rewardMargin).toBe(0)
    const last = epochs.at(-1)!
    expect(epochs).toHaveLength(s.epochs)
    // measured 2026-12-06 (wasm, 71 s): 40.6 % → 100.0 % after epoch 1 and 2, margin 0.448 → 0.580, loss 0.498 → 0.450
    expect(last.accuracy!).toBeGreaterThanOrEqual(base + 0.25)
    expect(last.preference!.rewardMargin).toBeGreaterThan(0)
    expect(last.loss).toBeLessThan(Math.log(2))
  }, 600_000)
})
