import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { BpeTokenizer } from '../../data/bpeTokenizer'
import { classifyText, generateText } from '../../infer/playground'
import { TinyGpt } from '../../models/tinyGpt'
import { Tuning } from '../../train/fineTune'
import { disposeWeights, snapshotWeights } from '../../tuning/interpolate'
import { DEFAULTS } from '../../../settings/schema'
import { generate, predictText, type PlaygroundSession } from './textPlayground'
import type { PlaygroundAnswer as FromWorker } from '../../types/playground'

const text = 'the cat sat on the mat. the dog sat on the log. a cat and a dog sat. '.repeat(4)

function setup(head: boolean) {
  const tokenizer = BpeTokenizer.train(text, 300)
  const model = new TinyGpt({ vocabSize: tokenizer.vocabSize, seqLen: 16, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32 }, undefined, 3)
  const base = snapshotWeights(model.params)
  const settings = { ...DEFAULTS, method: 'full' as const, seed: 5 }
  const tuning = new Tuning(model, settings, head ? 3 : null)
  // "Fine-tuning": move every body weight and the head, as a run would.
  for (const p of model.params) p.variable.assign(tf.tidy(() => tf.add(p.variable, tf.randomNormal(p.variable.shape, 0, 0.2, 'float32', 9))))
  for (const p of tuning.head?.params ?? []) p.variable.assign(tf.tidy(() => tf.add(p.variable, 0.5)))
  const s: PlaygroundSession = { model, tokenizer, base, tuning, classes: head ? ['ham', 'spam', 'eggs'] : null, seqLen: 16 }
  return { s, model, tokenizer, base, tuning, settings }
}

async function values(model: TinyGpt) {
  return Promise.all(model.params.map((p) => p.variable.data()))
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

describe('playground commands', () => {
  it('generate streams "before" from the base weights and "after" from the tuned ones, and leaves the tuned weights in place', async () => {
    const { s, model, tokenizer, base, tuning } = setup(false)
    const tunedBefore = await values(model)
    const events: FromWorker[] = []
    await generate(s, { requestId: 'r', prompt: 'the cat', maxTokens: 8, temperature: 0, topK: 0, seed: 1 }, (e) => events.push(e), () => false)
    const gens = events.filter((e): e is Extract<FromWorker, { type: 'generation' }> => e.type === 'generation')
    const final = (w: string) => gens.find((e) => e.which === w && e.done)!
    expect(gens.filter((e) => !e.done).length).toBeGreaterThan(1) // streamed, not one lump
    expect(gens.findIndex((e) => e.which === 'after')).toBeGreaterThan(gens.findIndex((e) => e.which === 'before' && e.done))
    // the weights a run left are back afterwards, bit for bit
    expect(await values(model)).toEqual(tunedBefore)
    // greedy "after" equals greedy generation with the tuned weights
    const after = await generateText(model, tokenizer, 'the cat', { maxTokens: 8, temperature: 0, topK: 0, seed: 1 })
    expect(final('after').text).toBe(after.text)
    // and "before" equals generation from a model holding the base weights
    const baseModel = new TinyGpt(model.config, base)
    const before = await generateText(baseModel, tokenizer, 'the cat', { maxTokens: 8, temperature: 0, topK: 0, seed: 1 })
    expect(final('before').text).toBe(before.text)
    expect(before.text).not.toBe(after.text)
    baseModel.dispose()
    tuning.dispose()
    disposeWeights(base)
    model.dispose()
  })

  it('stops when asked and says so, without starting "after"', async () => {
    const { s, model, base, tuning } = setup(false)
    const events: FromWorker[] = []
    let calls = 0
    await generate(s, { requestId: 'r', prompt: 'the', maxTokens: 50, temperature: 1, topK: 10, seed: 2 }, (e) => events.push(e), () => ++calls > 3)
    const done = events.find((e) => e.type === 'generation' && e.done)
    expect(done).toMatchObject({ which: 'before', stopped: true })
    expect(events.some((e) => e.type === 'generation' && e.which === 'after')).toBe(false)
    expect(events.filter((e) => e.type === 'generation' && !e.done)).toHaveLength(3)
    tuning.dispose()
    disposeWeights(base)
    model.dispose()
  })

  it('predict gives named probabilities that sum to 1: before = base body + the untrained head, after = tuned', async () => {
    const { s, model, tokenizer, base, tuning, settings } = setup(true)
    const events: FromWorker[] = []
    await predictText(s, 'p', 'the dog sat', (e) => events.push(e))
    const preds = events.filter((e): e is Extract<FromWorker, { type: 'prediction' }> => e.type === 'prediction')
    expect(preds.map((p) => p.which)).toEqual(['before', 'after'])
    for (const p of preds) {
      expect(p.classes.map((c) => c.name)).toEqual(['ham', 'spam', 'eggs'])
      expect(p.classes.reduce((a, c) => a + c.prob, 0)).toBeCloseTo(1, 5)
    }
    const baseModel = new TinyGpt(model.config, base)
    const fresh = new Tuning(baseModel, settings, 3)
    const expected = await classifyText(baseModel, tokenizer, fresh.head!, undefined, 'the dog sat', 16)
    preds[0]!.classes.forEach((c, i) => expect(c.prob).toBeCloseTo(expected[i]!, 5))
    const tuned = await classifyText(model, tokenizer, tuning.head!, undefined, 'the dog sat', 16)
    preds[1]!.classes.forEach((c, i) => expect(c.prob).toBeCloseTo(tuned[i]!, 5))
    expect(Math.abs(preds[0]!.classes[0]!.prob - preds[1]!.classes[0]!.prob)).toBeGreaterThan(1e-3)
    fresh.dispose()
    baseModel.dispose()
    tuning.dispose()
    disposeWeights(base)
    model.dispose()
  })

  it('predict without a classification run explains what to do', async () => {
    const { s, model, base, tuning } = setup(false)
    const events: FromWorker[] = []
    await predictText(s, 'p', 'x', (e) => events.push(e))
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ type: 'playground' })
    expect((events[0] as { message: string }).message).toMatch(/train on a text-classification dataset/)
    tuning.dispose()
    disposeWeights(base)
    model.dispose()
  })
})
