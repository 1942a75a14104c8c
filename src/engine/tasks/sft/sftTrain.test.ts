/**
 * SFT beats its baseline on the shipped instruction pairs (public/samples/lm/): LoRA on the
 * built-in LM with its real pretrained weights, a few steps, then the held-out rows'
 * answer-only validation loss and perplexity against the base model's.
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadTinyGpt, type LoadedTinyGpt } from '../../models/modelFile'
import { Lora } from '../../tuning/lora'
import { tinyGptLm } from '../lm'
import { encodeSft, parseSftJsonl, toWindows } from './data'
import { evaluateSft, sftStep } from './loss'

const root = resolve(__dirname, '../../../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))
const sample = (f: string) => readFileSync(resolve(root, 'public/samples/lm', f), 'utf8')
const STEPS = 20
const BATCH = 8
const SEQ = 48 // every sample row fits: "Is the word "…" positive or negative?\nAnswer: positive" + bos/eos

let gpt: LoadedTinyGpt
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true) // several times faster than the cpu backend in Node
  gpt = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
}, 60_000)

describe('SFT training on the built-in LM', () => {
  it(`${STEPS} LoRA steps on afinn-instructions lower the held-out answer loss and perplexity below the base model's`, async () => {
    const tok = gpt.tokenizer
    const train = encodeSft(parseSftJsonl(sample('afinn-instructions.jsonl')).rows.slice(0, 160), tok, { seqLen: SEQ })
    const val = encodeSft(parseSftJsonl(sample('afinn-instructions-validation.jsonl')).rows.slice(0, 64), tok, { seqLen: SEQ })
    expect(train.dropped).toEqual([])
    expect(train.truncated).toEqual([])
    const trainW = toWindows(train.examples, SEQ, tok.padId)
    const valW = toWindows(val.examples, SEQ, tok.padId)
    const lora = new Lora(gpt.model, { rank: 8, alpha: 16, seed: 5 })
    const lm = tinyGptLm(gpt.model, { hooks: () => lora.hooks })
    const base = await evaluateSft(tinyGptLm(gpt.model), valW)
    const before = await evaluateSft(lm, valW)
    expect(before.loss).toBe(base.loss) // LoRA starts at the base model exactly
    const opt = tf.train.adam(3e-3)
    const vars = lora.params.map((p) => p.variable)
    const t0 = Date.now()
    for (let s = 0; s < STEPS; s++) await sftStep(lm, trainW.slice((s * BATCH) % trainW.length, ((s * BATCH) % trainW.length) + BATCH), vars, opt)
    const after = await evaluateSft(lm, valW)
    console.log(`SFT ${STEPS} steps × ${BATCH} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s; held-out answer loss ${base.loss.toFixed(3)} → ${after.loss.toFixed(3)}, perplexity ${base.perplexity.toFixed(2)} → ${after.perplexity.toFixed(2)} over ${after.tokens} answer tokens`)
    const valRows = parseSftJsonl(sample('afinn-instructions-validation.jsonl')).rows.slice(0, 64)
    expect(after.tokens).toBe(valRows.reduce((n, r) => n + (r.kind === 'completion' ? tok.encode(r.completion).length + 1 : 0), 0)) // answer + eos per row
    expect(after.loss).toBeLessThan(base.loss)
    expect(after.perplexity).toBeCloseTo(Math.exp(after.loss), 6)
    opt.dispose()
    lora.dispose()
  }, 300_000)
})
