/**
 * DPO on chat-format pairs (TRL's conversational format: `prompt` a list of messages,
 * `chosen` and `rejected` one assistant message each), through the one training loop with
 * the built-in LM and its chat template. The pairs are the shipped e-mail preference pairs
 * (public/samples/lm/spam-ham-preferences*.jsonl) rewritten as conversations in this test:
 * the e-mail and the question as the user's turn, " spam" / " ham" as the assistant's.
 * A short LoRA run must raise the held-out preference accuracy above the base model's (the
 * line to beat, counted here from the reference log-probabilities) and the reward margin
 * above 0; a row longer than the sequence length is counted, cut in its prompt, never in
 * its answer.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { loadTinyGpt, type LoadedTinyGpt } from '../models/modelFile'
import { fineTune, Tuning } from '../train/fineTune'
import { RunControl } from '../train/runControl'
import { encodeDpo, parseDpoJsonl } from './dpo/data'
import { preferenceAccuracy } from './dpo/dpo'
import { referenceLogProbs } from './dpoTask'
import type { PairsEncoded } from './lmEncoded'
import { pairsEncoded } from './lmObjectiveData'
import { tinyLmChatFormat } from './sft/data'

const root = resolve(__dirname, '../../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))

const SEQ = 64
const TRAIN = 96
const VAL = 64
const BETA = 0.1
const SYSTEM = 'You sort e-mail. Answer spam or ham.'

/** A shipped plain-text pair as a conversation: "E-mail: …\nSpam or ham?\nAnswer:" → the user's turn. */
function asChat(line: string): string {
  const r = JSON.parse(line) as { prompt: string; chosen: string; rejected: string }
  const user = r.prompt.replace(/\nAnswer:$/, '')
  expect(user).not.toBe(r.prompt) // every shipped prompt ends so
  return JSON.stringify({
    prompt: [{ role: 'system', content: SYSTEM }, { role: 'user', content: user }],
    chosen: [{ role: 'assistant', content: r.chosen.trim() }],
    rejected: [{ role: 'assistant', content: r.rejected.trim() }],
  })
}
const chatFile = (f: string, n: number) => readFileSync(resolve(root, 'public/samples/lm', f), 'utf8').trim().split('\n').slice(0, n).map(asChat).join('\n') + '\n'

let gpt: LoadedTinyGpt
let train: PairsEncoded
let val: PairsEncoded
let truncated: number[]
const settings = (over: Partial<Settings> = {}): Settings => ({ ...DEFAULTS, method: 'lora', seqLen: SEQ, batchSize: 8, dropout: 0, warmupSteps: 0, restoreBest: false, ...over })

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  gpt = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
  const chat = tinyLmChatFormat(gpt.tokenizer)
  const enc = (f: string, n: number) => {
    const parsed = parseDpoJsonl(chatFile(f, n))
    expect(parsed.problems).toEqual([])
    expect(parsed.rows.every((r) => r.kind === 'chat')).toBe(true)
    const e = encodeDpo(parsed.rows, gpt.tokenizer, { seqLen: SEQ, chat })
    expect(e.dropped).toEqual([])
    return { set: pairsEncoded(e.pairs, SEQ, gpt.tokenizer.padId, { beta: BETA }), truncated: e.truncated, pairs: e.pairs }
  }
  const a = enc('spam-ham-preferences.jsonl', TRAIN)
  truncated = a.truncated
  // Each answer keeps its whole assistant turn: the masked tokens decode to the answer and its end.
  const first = JSON.parse(chatFile('spam-ham-preferences.jsonl', 1)) as { chosen: { content: string }[] }
  const p0 = a.pairs[0]!
  const answer = p0.chosen.ids.filter((_, t) => p0.chosen.mask[t] === 1)
  expect(gpt.tokenizer.decode(answer.filter((id) => id !== gpt.tokenizer.eosId)).trim()).toBe(first.chosen[0]!.content)
  expect(answer.at(-1)).toBe(gpt.tokenizer.eosId)
  train = await referenceLogProbs(gpt.model, a.set, settings())
  val = await referenceLogProbs(gpt.model, enc('spam-ham-preferences-validation.jsonl', VAL).set, settings())
}, 300_000)

describe('DPO on chat-format pairs (messages as prompt, chosen and rejected)', () => {
  it('rows longer than the sequence length are counted, cut in the prompt, never in the answer', () => {
    // The system message, the e-mail (about 120 characters) and the template overflow 64 tokens
    // for some rows: those are counted (row numbers), and every pair still ends with its answer.
    const chat = tinyLmChatFormat(gpt.tokenizer)
    const rows = parseDpoJsonl(chatFile('spam-ham-preferences.jsonl', TRAIN)).rows
    const long = rows.filter((r) => {
      const whole = encodeDpo([r], gpt.tokenizer, { seqLen: 1000, chat }).pairs[0]!
      return Math.max(whole.chosen.ids.length, whole.rejected.ids.length) > SEQ
    }).map((r) => r.row)
    expect(long.length).toBeGreaterThan(0)
    expect(truncated).toEqual(long)
  })

  it('a LoRA run raises held-out preference accuracy above the base model and the reward margin above 0', async () => {
    // The line to beat, counted from the reference log-probabilities: how often the base model
    // already gives the chosen answer the higher log-probability.
    let right = 0
    for (let i = 0; i < val.n; i++) if (val.refChosen[i]! > val.refRejected[i]!) right++
    const base = right / val.n
    expect(preferenceAccuracy({ chosen: val.refChosen, rejected: val.refRejected })).toBeCloseTo(base, 10)
    const s = settings({ learningRate: 5e-3, epochs: 3, monitor: 'val_loss' })
    const tensorsBefore = tf.memory().numTensors
    const tuning = new Tuning(gpt.model, s, null)
    const epochs: { acc: number; margin: number; loss: number }[] = []
    let baseline = NaN
    await fineTune(gpt.model, tuning, { train, val }, s, new RunControl(), {
      onBaseline: (m) => {
        baseline = m.accuracy!
        expect(m.preference!.rewardMargin).toBe(0) // step 0: the policy is the reference
        expect(m.loss).toBeCloseTo(Math.log(2), 6)
      },
      onEpoch: (e) => {
        epochs.push({ acc: e.val.accuracy!, margin: e.val.preference!.rewardMargin, loss: e.val.loss })
      },
    })
    console.log(`DPO chat pairs ${TRAIN} × ${s.epochs} epochs; held-out ${VAL}: base ${(100 * base).toFixed(1)} %; ${epochs.map((e) => `acc ${(100 * e.acc).toFixed(1)} % margin ${e.margin.toFixed(3)} loss ${e.loss.toFixed(4)}`).join(' | ')}`)
    expect(baseline).toBeCloseTo(base, 10)
    const last = epochs.at(-1)!
    expect(last.acc).toBeGreaterThanOrEqual(base + 0.05) // at least 4 of 64 pairs more
    expect(last.margin).toBeGreaterThan(0)
    expect(last.loss).toBeLessThan(Math.log(2))
    tuning.dispose()
    expect(tf.memory().numTensors).toBe(tensorsBefore)
  }, 900_000)
})
