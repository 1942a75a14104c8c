/**
 * Instruction tuning (SFT) as a Task module of the one training loop (fineTune), on the
 * built-in LM with its real pretrained weights and the shipped instruction pairs: the task's
 * loss equals the separately written masked loss of tasks/sft/loss.ts on the same rows and
 * counts exactly the answer tokens, and a short LoRA run lowers the held-out answer loss and
 * perplexity well below the model before tuning.
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
import { BatchSource } from '../train/batchSource'
import { FeatureCache } from '../train/featureCache'
import { fineTune, Tuning } from '../train/fineTune'
import { gatherBatch } from '../train/forward'
import { RunControl } from '../train/runControl'
import { taskFor } from './index'
import { tinyGptLm } from './lm'
import type { SftEncoded } from './lmEncoded'
import { sftEncoded } from './lmObjectiveData'
import { encodeSft, parseSftJsonl, tinyLmChatFormat, toWindows } from './sft/data'
import { maskedNextTokenLoss, windowBatch } from './sft/loss'
import { sft } from './sftTask'

const root = resolve(__dirname, '../../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))
const sample = (f: string) => readFileSync(resolve(root, 'public/samples/lm', f), 'utf8')
const SEQ = 48

let gpt: LoadedTinyGpt
const settings = (over: Partial<Settings> = {}): Settings => ({ ...DEFAULTS, method: 'lora', seqLen: SEQ, batchSize: 8, dropout: 0, warmupSteps: 0, restoreBest: false, ...over })
const encode = (f: string, n: number): SftEncoded => {
  const tok = gpt.tokenizer
  const e = encodeSft(parseSftJsonl(sample(f)).rows.slice(0, n), tok, { seqLen: SEQ, chat: tinyLmChatFormat(tok) })
  expect(e.dropped).toEqual([])
  return sftEncoded(e.examples, SEQ, tok.padId)
}

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  gpt = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
}, 120_000)

describe('SFT through the training loop', () => {
  it('the task loss equals the masked loss of sft/loss.ts and counts only the answer tokens (chat rows too)', async () => {
    const tok = gpt.tokenizer
    for (const f of ['afinn-instructions.jsonl', 'afinn-chat.jsonl']) {
      const rows = parseSftJsonl(sample(f)).rows.slice(0, 6)
      const ex = encodeSft(rows, tok, { seqLen: SEQ, chat: tinyLmChatFormat(tok) }).examples
      const set = sftEncoded(ex, SEQ, tok.padId)
      // Answer tokens per row, counted from the rows' own text: the answer's tokens and its end token.
      const answers = rows.map((r) => (r.kind === 'completion' ? r.completion : ` ${r.messages.at(-1)!.content}`))
      const expected = answers.reduce((n, a) => n + tok.encode(a).length + 1, 0)
      expect(set.lossMask.reduce((a, b) => a + b, 0)).toBe(expected)
      const tuning = new Tuning(gpt.model, settings(), null)
      expect(taskFor(set, tuning).name).toBe('sft')
      const source = BatchSource.host(set)
      const cache = new FeatureCache(0, false, { train: set.n, val: 0 })
      const mine = tf.tidy(() => sft.loss(gpt.model, tuning, gatherBatch(source, cache, 'train', [0, 1, 2, 3, 4, 5]), cache, settings(), false))
      const theirs = tf.tidy(() => {
        const { ids, mask } = windowBatch(toWindows(ex, SEQ, tok.padId))
        return maskedNextTokenLoss(tinyGptLm(gpt.model).logits(ids), ids, mask)
      })
      expect((await mine.data())[0]).toBeCloseTo((await theirs.data())[0]!, 4)
      tf.dispose([mine, theirs])
      tuning.dispose()
    }
  }, 120_000)

  it('a LoRA run lowers the held-out answer loss and perplexity below the model before tuning', async () => {
    const train = encode('afinn-instructions.jsonl', 96)
    const val = encode('afinn-instructions-validation.jsonl', 48)
    const s = settings({ learningRate: 3e-3, epochs: 2 })
    const tensorsBefore = tf.memory().numTensors
    const tuning = new Tuning(gpt.model, s, null)
    let base = NaN
    const t0 = Date.now()
    const result = await fineTune(gpt.model, tuning, { train, val }, s, new RunControl(), { onBaseline: (m) => (base = m.loss) })
    console.log(`SFT ${train.n} rows × ${s.epochs} epochs through the loop in ${((Date.now() - t0) / 1000).toFixed(0)} s: held-out answer loss ${base.toFixed(3)} → ${result.summary.best.loss.toFixed(3)}, perplexity ${Math.exp(base).toFixed(1)} → ${result.summary.best.perplexity!.toFixed(2)}; ${result.message}`)
    // Answers are " positive"/" negative" and the end token: a model that learnt the format but
    // not the word would sit near ln 2 per deciding token; the base model is far above that.
    expect(base).toBeGreaterThan(3)
    expect(result.summary.best.loss).toBeLessThan(base - 2)
    expect(result.summary.best.perplexity).toBeCloseTo(Math.exp(result.summary.best.loss), 6)
    tuning.dispose()
    // Nothing of the run is left on the device (the masks for this length were cached before).
    expect(tf.memory().numTensors).toBe(tensorsBefore)
  }, 600_000)
})
