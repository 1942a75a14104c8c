/**
 * Learning without labels with a Hugging Face causal LM (issue 17: every objective works with the
 * built-in LM and with the Hugging Face GPT-2 / Llama models), through the worker handler: a
 * tiny GPT-2 with GPT-2's real tokenizer is loaded from files, labels unlabelled passages
 * zero-shot with its own tokens, and a self-training round with LoRA trains through the
 * session's one train path and is scored on the labelled passages. A 4-wide random model knows
 * nothing of the classes: this shows the path runs end to end, not that it learns (the
 * built-in LM's test, pseudoLabelHost.test.ts, shows that).
 */
import 'fake-indexeddb/auto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, expect, it } from 'vitest'
import { tinyGpt2Files } from '../engine/hf/testGpt2'
import { DEFAULTS } from '../settings/schema'
import { createHandler } from './handler'
import type { FromWorker } from './protocol'

const root = resolve(__dirname, '../..')
const lines = (name: string, n: number) => readFileSync(resolve(root, 'public/samples/lm', name), 'utf8').trim().split('\n').slice(0, n + 1).join('\n') + '\n'

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
}, 120_000)

it('a Hugging Face GPT-2 labels texts zero-shot and self-trains a LoRA round through the session, scored on the labelled file', async () => {
  const events: FromWorker[] = []
  const handle = createHandler((e) => events.push(e), {}, (async () => new Response('missing', { status: 404 })) as typeof fetch)
  const last = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type).at(-1)
  await handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: tinyGpt2Files() } })
  expect(last('error')).toBeUndefined()
  const classes = ['sea', 'government']
  // 40 unlabelled passages, 20 labelled (their truth counted here from the file)
  const validation = lines('sea-or-government-validation.csv', 20)
  const truth = validation.trim().split('\n').slice(1).map((l) => l.slice(l.lastIndexOf(',') + 1).trim())
  expect(truth).toHaveLength(20)
  await handle({ type: 'pseudoLabel', file: new File([lines('sea-or-government-unlabelled.csv', 40)], 'unlabelled.csv'), validation: new File([validation], 'labelled.csv'), classes })
  expect(last('error')).toBeUndefined()
  const summary = last('pseudoLabels')!.summary
  expect(summary.rows).toBe(40)
  expect(summary.histogram.reduce((n, b) => n + b.count, 0)).toBe(40)
  // the zero-shot labels' accuracy on the labelled file is a share of its 20 rows
  expect(Number.isInteger(Math.round(summary.zeroShotAccuracy! * 20 * 1e6) / 1e6)).toBe(true)
  const threshold = Math.min(...summary.confidence) // every row kept
  await handle({ type: 'pseudoTrain', runId: 'hf-pl', settings: { ...DEFAULTS, method: 'lora', loraRank: 2, epochs: 1, batchSize: 8, seqLen: 32, warmupSteps: 0, learningRate: 0.01 }, threshold, rounds: 1, balance: false })
  expect(last('error')).toBeUndefined()
  const round = last('pseudoRound')!.round
  expect(round.kept).toBe(40)
  expect(round.keptPerClass.reduce((a, b) => a + b, 0)).toBe(40)
  expect(round.validationAccuracy).not.toBeNull()
  expect(Number.isInteger(Math.round(round.validationAccuracy! * 20 * 1e6) / 1e6)).toBe(true)
  const done = last('done')!
  expect(done.runId).toBe('hf-pl')
  expect(done.reason).toBe('finished')
}, 300_000)
