// A failed Hugging Face load's error names the load (its loadId), so the page ends that load's
// wait (state/hfModels.ts onHfError) and no other; another command's error names none. The real
// worker handler in Node (CPU backend), as the page's worker runs it.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, expect, it } from 'vitest'
import { createHandler } from './handler'
import type { FromWorker } from './protocol'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

it("a failed hfLoad's error carries its loadId; another command's error carries none", async () => {
  const events: FromWorker[] = []
  const handle = createHandler((e) => events.push(e), {})
  const errors = () => events.filter((e): e is Extract<FromWorker, { type: 'error' }> => e.type === 'error')
  await handle({ type: 'init', backend: 'cpu' })
  await handle({ type: 'hfLoad', loadId: 4, source: { kind: 'files', files: [new File(['{}'], 'notes.json')] } })
  expect(errors()).toHaveLength(1)
  expect(errors()[0]).toMatchObject({ loadId: 4, message: expect.stringMatching(/^config\.json is missing from the chosen files \(notes\.json\)/) })
  await handle({ type: 'crash' })
  expect(errors()).toHaveLength(2)
  expect(errors()[1]!.message).toMatch(/Simulated failure/)
  expect(errors()[1]).not.toHaveProperty('loadId')
})
