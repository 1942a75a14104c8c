// A model folder chosen without its tokenizer: refused before its weights are read, naming the
// files chosen and the one to add. The real worker handler in Node (CPU backend), with the
// GPT-2 fixture's config.json and model.safetensors (it has no tokenizer files).
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, expect, it } from 'vitest'
import { createHandler } from './handler'
import type { FromWorker } from './protocol'

const dir = resolve(__dirname, '../engine/hf/fixtures/gpt2')
const file = (name: string) => new File([readFileSync(resolve(dir, name))], name)

beforeAll(async () => {
  await tf.setBackend('cpu')
})

it('config.json and model.safetensors chosen without tokenizer.json: the error names the chosen files and says to add tokenizer.json', async () => {
  const events: FromWorker[] = []
  const handle = createHandler((e) => events.push(e), {})
  await handle({ type: 'init', backend: 'cpu' })
  await handle({ type: 'hfLoad', loadId: 1, source: { kind: 'files', files: [file('config.json'), file('model.safetensors')] } })
  const errors = events.filter((e): e is Extract<FromWorker, { type: 'error' }> => e.type === 'error')
  expect(errors).toHaveLength(1)
  // Before: "tokenizer.json: the model has none. … choose a repository that has one", after the weights were read.
  expect(errors[0]!.message).toBe("tokenizer.json is not among the chosen files (config.json, model.safetensors): choose it with the model's other files (hold Ctrl or Shift); it sits beside config.json in the model's repository. The studio reads tokenizers only in the tokenizer.json format.")
  expect(errors[0]!.where).toBe('tokenizer.json')
  expect(events.some((e) => e.type === 'progress' && /Reading/.test(e.label ?? ''))).toBe(false)
})
