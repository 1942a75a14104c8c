// The playground's guard against next-token scores no working backend gives (outputCheck.ts).
// The fault it is for was measured in a real page (e2e/webgpu-binding-split.spec.ts): WebGPU with
// a 135 MB embedding bound over the adapter's 128 MiB limit wrote "!!!!!!" (token 0 six times)
// with no error. Here: the rule on hand-made rows, then both generation loops (the built-in LM's
// and Hugging Face's) on a DELIBERATELY BROKEN copy of the cpu backend whose matrix product leaves
// its output as zeros (a buffer the backend never filled) or fills it with NaN, while every other
// kernel computes correctly; with the fault off the same loops write text.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { explainEngineError } from '../engineErrors'
import { generate } from '../hf/generate'
import { buildHfModel, type HfModel } from '../hf/hfModel'
import { parseSafetensors } from '../hf/safetensors'
import { TinyGpt } from '../models/tinyGpt'
import { checkHeadOutput, checkNextTokenLogits, impossibleLogitsWhy, ImpossibleOutputError } from './outputCheck'
import { DEFAULTS } from '../../settings/schema'
import { Tuning } from '../train/fineTune'
import { classifyText, generateText, type Decoder } from './playground'

const BAD = 'bad-matmul'
let fault: 'none' | 'zeros' | 'nan' = 'none'

beforeAll(async () => {
  await tf.setBackend('cpu')
  const Cpu = tf.engine().findBackend('cpu')!.constructor as new () => tf.KernelBackend
  tf.registerBackend(BAD, () => new Cpu())
  for (const k of tf.getKernelsForBackend('cpu')) if (k.kernelName !== 'BatchMatMul') tf.registerKernel({ ...k, backendName: BAD })
  const matMul = tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: BAD,
    kernelFunc: (args) => {
      const out = matMul(args) as tf.TensorInfo
      // the broken part: the product's values overwritten, as a kernel whose dispatch was dropped
      if (fault !== 'none') ((args.backend as unknown as { data: { get(id: object): { values: Float32Array } } }).data.get(out.dataId).values).fill(fault === 'zeros' ? 0 : NaN)
      return out
    },
  })
})
afterAll(async () => {
  await tf.setBackend('cpu')
  tf.removeBackend(BAD)
})

describe('which next-token scores are impossible', () => {
  it('passes real rows (ties included), stops NaN, ±Infinity and one score for a whole vocabulary', () => {
    expect(impossibleLogitsWhy(Float32Array.from([0.3, -1.2, 4, 0.3]))).toBeNull()
    expect(impossibleLogitsWhy([5, 5])).toBeNull() // two tokens may tie
    expect(impossibleLogitsWhy([])).toBeNull()
    expect(impossibleLogitsWhy([1, NaN, 2, NaN])).toEqual({ why: '2 of the 4 tokens scored NaN, not a number', notNumbers: true })
    expect(impossibleLogitsWhy([Infinity, 1, 2])).toEqual({ why: '1 of the 3 tokens scored Infinity, not a number', notNumbers: true })
    expect(impossibleLogitsWhy(new Float32Array(50257).fill(NaN))).toEqual({ why: 'every one of the 50,257 tokens scored NaN, not a number', notNumbers: true })
    expect(impossibleLogitsWhy(new Float32Array(50257))).toEqual({ why: 'all 50,257 tokens got the same score (0), which happens only when the backend hands back values it never computed', notNumbers: false })
  })

  it('says which backend, what was seen, and what to do; the page shows the words as they are', () => {
    let e: unknown = null
    try {
      checkNextTokenLogits(new Float32Array(50257), 'webgpu', 1)
    } catch (err) {
      e = err
    }
    expect(e).toBeInstanceOf(ImpossibleOutputError)
    const words =
      'Generation was stopped: for token 1 of the text, all 50,257 tokens got the same score (0), which happens only when the backend hands back values it never computed. The text would be garbage, so none was written. This is the WebGPU backend computing wrongly on this device, not your model or prompt: choose WebAssembly in the Backend setting and generate again.'
    expect((e as Error).message).toBe(words)
    expect(explainEngineError(e, { doing: 'generating text', backend: 'webgpu' }).message).toBe(words)
    expect(() => checkNextTokenLogits([1, NaN, 3], 'wasm', 4)).toThrow(
      'Generation was stopped: for token 4 of the text, 1 of the 3 tokens scored NaN, not a number. The text would be garbage, so none was written. Either the WebAssembly backend computes wrongly on this device (choose WebGL, or plain JavaScript on the CPU in the Backend setting and generate again), or the model’s weights are not finite numbers (load the model again, or start from a built-in one).'.replace('’', "'"),
    )
  })
})

describe('generation on a backend whose matrix product is broken (deliberately, in this test) stops in words', () => {
  const cfg = { vocabSize: 24, seqLen: 8, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32 }
  // a toy tokenizer over the toy vocabulary: letters to ids 3..23, ids back to letters
  const decoder: Decoder = {
    padId: 0,
    bosId: 1,
    eosId: 2,
    encode: (t) => [...t].map((c) => 3 + (c.charCodeAt(0) % 21)),
    decode: (ids) => Array.from(ids, (i) => String.fromCharCode(94 + i)).join(''),
  }

  it('the built-in LM: zeros for every score stop at token 1 (not "aaaa"), NaN too; with the fault off it writes text', async () => {
    await tf.setBackend(BAD)
    const model = new TinyGpt(cfg, undefined, 5)
    const opts = { maxTokens: 5, temperature: 0, topK: 0, seed: 1 }
    try {
      fault = 'none'
      const ok = await generateText(model, decoder, 'whale', opts)
      expect(ok.tokens.length).toBeGreaterThan(0)
      fault = 'zeros'
      const tensors = tf.memory().numTensors
      await expect(generateText(model, decoder, 'whale', opts)).rejects.toThrow(
        'Generation was stopped: for token 1 of the text, all 24 tokens got the same score (0), which happens only when the backend hands back values it never computed. The text would be garbage, so none was written. This is the bad-matmul backend computing wrongly on this device, not your model or prompt: choose WebAssembly in the Backend setting and generate again.',
      )
      expect(tf.memory().numTensors).toBe(tensors) // nothing left behind by the stop
      fault = 'nan'
      await expect(generateText(model, decoder, 'whale', opts)).rejects.toThrow(/^Generation was stopped: for token 1 of the text, every one of the 24 tokens scored NaN, not a number\. .* Either the bad-matmul backend computes wrongly on this device/)
    } finally {
      fault = 'none'
      model.dispose()
      await tf.setBackend('cpu')
    }
  })

  it('the playground’s class probabilities: NaN scores stop in words instead of "NaN %"; equal scores (a head that starts at zeros) pass', async () => {
    expect(() => checkHeadOutput([0, 0], 'webgl')).not.toThrow()
    expect(() => checkHeadOutput([NaN, NaN], 'webgl')).toThrow(
      "The model's answer was not a number (its outputs: NaN, NaN), so no probabilities or value were shown. Either the WebGL backend computes wrongly on this device (choose WebAssembly in the Backend setting and try again), or the model's weights are not finite numbers (load the model again, or start from a built-in one).",
    )
    await tf.setBackend(BAD)
    const model = new TinyGpt(cfg, undefined, 5)
    const tuning = new Tuning(model, { ...DEFAULTS, method: 'head', dropout: 0 }, 2)
    try {
      fault = 'none'
      const probs = await classifyText(model, decoder, tuning.head!, undefined, 'whale', cfg.seqLen)
      expect(probs).toHaveLength(2)
      expect(Math.abs(probs[0]! + probs[1]! - 1)).toBeLessThan(1e-6)
      fault = 'nan'
      await expect(classifyText(model, decoder, tuning.head!, undefined, 'whale', cfg.seqLen)).rejects.toThrow(/^The model's answer was not a number \(its outputs: NaN, NaN\).* Either the bad-matmul backend computes wrongly/)
    } finally {
      fault = 'none'
      tuning.dispose()
      model.dispose()
      await tf.setBackend('cpu')
    }
  })

  it('a Hugging Face GPT-2 (the fixture the reference tests use): zeros stop greedy search at token 1 instead of writing token 0', async () => {
    const dir = path.join(__dirname, '../hf/fixtures/gpt2')
    await tf.setBackend(BAD)
    const model: HfModel = buildHfModel(readFileSync(path.join(dir, 'config.json'), 'utf8'), parseSafetensors(new Uint8Array(readFileSync(path.join(dir, 'model.safetensors'))), 'gpt2/model.safetensors').tensors)
    try {
      const prompt = [5, 9, 11]
      fault = 'none'
      const ok = await generate(model, prompt, { maxNewTokens: 4 })
      expect(ok.ids).toHaveLength(4)
      fault = 'zeros'
      const err = await generate(model, prompt, { maxNewTokens: 4 }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(ImpossibleOutputError)
      expect((err as Error).message).toMatch(/^Generation was stopped: for token 1 of the text, all [\d,]+ tokens got the same score \(0\)/)
      const vocab = (JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size
      expect((err as Error).message).toContain(`all ${vocab.toLocaleString('en-US')} tokens got the same score (0)`)
    } finally {
      fault = 'none'
      model.dispose()
      await tf.setBackend('cpu')
    }
  })
})
