/**
 * DPO as a Task module of the one training loop (fineTune), on the built-in LM with its real
 * pretrained weights and the shipped e-mail preference pairs (public/samples/lm/
 * spam-ham-preferences*.jsonl): the loop's step-0 numbers are the ones the method defines
 * (rewards exactly 0, loss log 2), the task's batch loss equals DPO computed from the other
 * log-probability path (tasks/dpo/dpo.ts, logits at answer positions only), and a short LoRA
 * run raises held-out preference accuracy above the base model's and the held-out reward
 * margin above 0.
 *
 * Why e-mails and not the word-sentiment pairs: on afinn-preferences the base model ranks
 * " positive" vs " negative" the same way for every word (held-out preference accuracy exactly
 * 50.0 % on the balanced 200 pairs), and nothing in a held-out word's tokens tells this 1 M
 * parameter LM its sentiment, so DPO fitted its training words without moving held-out pairs
 * (53.1 % → 53.1 %). An e-mail's words do carry over to unseen e-mails.
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
import { tinyGptLm } from './lm'
import { BatchSource } from '../train/batchSource'
import { FeatureCache } from '../train/featureCache'
import { fineTune, Tuning } from '../train/fineTune'
import { gatherBatch } from '../train/forward'
import { RunControl } from '../train/runControl'
import { encodeDpo, parseDpoJsonl } from './dpo/data'
import { pairLogProbs, preferenceAccuracy } from './dpo/dpo'
import { dpoTask, referenceLogProbs, watchDpoBatches } from './dpoTask'
import { taskFor } from './index'
import type { PairsEncoded } from './lmEncoded'
import { pairsEncoded } from './lmObjectiveData'

const root = resolve(__dirname, '../../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))
const sample = (f: string) => readFileSync(resolve(root, 'public/samples/lm', f), 'utf8')

const SEQ = 64
const TRAIN = Number(process.env.DPO_TRAIN ?? 96)
const VAL = Number(process.env.DPO_VAL ?? 64)
const BETA = 0.1

let gpt: LoadedTinyGpt
let train: PairsEncoded
let val: PairsEncoded
const settings = (over: Partial<Settings> = {}): Settings => ({ ...DEFAULTS, method: 'lora', seqLen: SEQ, batchSize: 8, dropout: 0, warmupSteps: 0, restoreBest: false, ...over })

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true) // several times faster than the cpu backend in Node
  gpt = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
  const tok = gpt.tokenizer
  const enc = (f: string, n: number) => {
    const e = encodeDpo(parseDpoJsonl(sample(f)).rows.slice(0, n), tok, { seqLen: SEQ })
    expect(e.dropped).toEqual([])
    return pairsEncoded(e.pairs, SEQ, tok.padId, { beta: BETA })
  }
  train = await referenceLogProbs(gpt.model, enc('spam-ham-preferences.jsonl', TRAIN), settings())
  val = await referenceLogProbs(gpt.model, enc('spam-ham-preferences-validation.jsonl', VAL), settings())
}, 300_000)

describe('DPO through the training loop', () => {
  it('the loop picks the DPO task for pairs, and its batch loss equals DPO from the answer-position log-probabilities', async () => {
    const tuning = new Tuning(gpt.model, settings(), null)
    expect(taskFor(train, tuning).name).toBe('dpo')
    // The reference from the task's own path equals the separately written answerLogProbs path.
    const tok = gpt.tokenizer
    const pairs = encodeDpo(parseDpoJsonl(sample('spam-ham-preferences.jsonl')).rows.slice(0, 8), tok, { seqLen: SEQ }).pairs
    const other = await pairLogProbs(tinyGptLm(gpt.model), pairs, tok.padId)
    for (let i = 0; i < 8; i++) {
      expect(train.refChosen[i]).toBeCloseTo(other.chosen[i]!, 3)
      expect(train.refRejected[i]).toBeCloseTo(other.rejected[i]!, 3)
    }
    // Policy == reference before any step: r = 0 for every pair, loss = log 2 exactly.
    const source = BatchSource.host(train)
    const cache = new FeatureCache(0, false, { train: train.n, val: 0 })
    const loss = tf.tidy(() => dpoTask(train).loss(gpt.model, tuning, gatherBatch(source, cache, 'train', [0, 1, 2, 3, 4, 5, 6, 7]), cache, settings(), false))
    expect((await loss.data())[0]).toBeCloseTo(Math.log(2), 5)
    loss.dispose()
    tuning.dispose()
  }, 120_000)

  it('a LoRA run raises held-out preference accuracy above the base model and the held-out reward margin above 0', async () => {
    const base = preferenceAccuracy({ chosen: val.refChosen, rejected: val.refRejected })
    const s = settings({ learningRate: Number(process.env.DPO_LR ?? 5e-3), epochs: Number(process.env.DPO_EPOCHS ?? 3), monitor: 'val_loss' })
    const tensorsBefore = tf.memory().numTensors
    const tuning = new Tuning(gpt.model, s, null)
    const epochs: { acc: number; margin: number; loss: number; racc: number }[] = []
    // Per-batch rewards for the page's step charts: one summary per training batch.
    const batches: Float32Array[] = []
    const kept: tf.Tensor1D[] = []
    const unwatch = watchDpoBatches(train, (t) => kept.push(t))
    let baseline = NaN
    const t0 = Date.now()
    const result = await fineTune(gpt.model, tuning, { train, val }, s, new RunControl(), {
      onBaseline: (m) => {
        baseline = m.accuracy!
        // Step 0: the policy is the reference, so every implicit reward is exactly 0.
        expect(m.preference!.rewardMargin).toBe(0)
        expect(m.preference!.chosenReward).toBe(0)
        expect(m.preference!.rejectedReward).toBe(0)
        expect(m.loss).toBeCloseTo(Math.log(2), 6)
      },
      onEpoch: (e) => {
        epochs.push({ acc: e.val.accuracy!, margin: e.val.preference!.rewardMargin, loss: e.val.loss, racc: e.val.preference!.rewardAccuracy })
      },
    })
    unwatch()
    for (const t of kept) batches.push((await t.data()) as Float32Array)
    tf.dispose(kept)
    expect(batches.length).toBe(s.epochs * Math.ceil(TRAIN / s.batchSize))
    // The first batch runs before any update: policy == reference, so its mean reward margin is 0 (up to float rounding).
    expect(Math.abs(batches[0]![1]!)).toBeLessThan(1e-3)
    console.log(`DPO ${TRAIN} pairs × ${s.epochs} epochs in ${((Date.now() - t0) / 1000).toFixed(0)} s; held-out (${VAL} pairs): base preference accuracy ${(100 * base).toFixed(1)} %; per epoch ${epochs.map((e) => `acc ${(100 * e.acc).toFixed(1)} % reward acc ${(100 * e.racc).toFixed(1)} % margin ${e.margin.toFixed(3)} loss ${e.loss.toFixed(4)}`).join(' | ')}; ${result.message}`)
    expect(baseline).toBe(base) // the line to beat is the base model's preference accuracy, as the issue defines it
    const last = epochs.at(-1)!
    // At least 5 points above the base (3+ of 64 pairs); measured 2026-12-06 (wasm): 54.7 % → 68.8 %, margin 0.298, loss 0.589.
    expect(last.acc).toBeGreaterThanOrEqual(base + 0.05)
    expect(last.margin).toBeGreaterThan(0)
    expect(last.loss).toBeLessThan(Math.log(2))
    tuning.dispose()
    // Nothing of the run is left on the device (the masks for this length were cached before).
    expect(tf.memory().numTensors).toBe(tensorsBefore)
  }, 900_000)
})
