/**
 * Instruction and preference tuning through the worker handler without a browser (the
 * handler maps the messages to the engine session): a chat file with bad rows is checked
 * (each named by row), the preview marks exactly the assistant answer, the playground answers
 * before any run (no tuned model yet), the TRL recipe carries the rows in the trainer's
 * format, and an SFT run trains through the session's one train path: it is recorded in the
 * run history with its objective, checkpointed, and its checkpoint restores and is measured
 * on the same held-out answers. Learning in depth is the loop's Node tests'
 * (engine/tasks/*Task.test.ts) and the browser tests' (e2e/lm-objectives.spec.ts).
 */
import 'fake-indexeddb/auto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import { publicFetch } from './publicFetch'
import type { FromWorker } from './protocol'

const root = resolve(__dirname, '../..')
const sampleLines = (name: string, n: number, from = 0) => readFileSync(resolve(root, 'public/samples/lm', name), 'utf8').trim().split('\n').slice(from, from + n)

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
}, 120_000)

async function handler() {
  const events: FromWorker[] = []
  const handle = createHandler((e) => events.push(e), {}, publicFetch)
  await handle({ type: 'loadModel', source: { kind: 'builtin', id: 'tiny-lm', url: 'http://app/models/tiny-lm/model.json' } })
  const last = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type).at(-1)
  expect(last('error')).toBeUndefined()
  return { events, handle, last }
}

describe('instruction and preference tuning through the handler', () => {
  it('checks a chat file: bad rows named, the first rows previewed with only the assistant answer trained', async () => {
    const good = sampleLines('afinn-chat.jsonl', 3)
    const bad = [JSON.stringify({ messages: [{ role: 'user', content: 'awful' }] }), JSON.stringify({ messages: [{ role: 'narrator', content: 'x' }, { role: 'assistant', content: 'y' }] })]
    const { handle, last } = await handler()
    await handle({ type: 'lmData', objective: 'sft', file: new File([[good[0], bad[0], good[1], bad[1], good[2]].join('\n')], 'chat.jsonl'), seqLen: 128 })
    const d = last('lmData')!.summary
    expect(d.rows).toBe(3)
    expect(d.chat).toBe(true)
    expect(d.problemCount).toBe(2)
    expect(d.problems.map((p) => p.row)).toEqual([2, 4])
    expect(d.problems[1]!.message).toContain('"narrator"')
    expect(d.truncated).toEqual([]) // 128 tokens hold these rows
    const first = JSON.parse(good[0]!) as { messages: { content: string }[] }
    expect(d.preview[0]!.tokens.filter((t) => t.trained).map((t) => t.text).join('')).toBe(` ${first.messages[2]!.content}<eos>`)
    expect(d.preview[0]!.tokens.map((t) => t.text).join('')).toBe(`<bos>${first.messages[0]!.content}\n\nUser: ${first.messages[1]!.content}\nAssistant: ${first.messages[2]!.content}<eos>`)
  })

  it('answers in the playground before any run (no tuned model), and writes the TRL recipe with the rows', async () => {
    const { handle, last } = await handler()
    await handle({ type: 'lmData', objective: 'dpo', file: new File([sampleLines('spam-ham-preferences.jsonl', 5).join('\n')], 'pairs.jsonl'), seqLen: 64 })
    await handle({ type: 'lmChat', requestId: 'r1', messages: [{ role: 'user', content: 'E-mail: Win a prize now\nSpam or ham?\nAnswer:' }], maxTokens: 4, raw: true })
    const chat = last('lmChat')!
    expect(chat.tuned).toBeNull()
    expect(typeof chat.base).toBe('string')
    await handle({ type: 'lmRecipe', objective: 'dpo', settings: { ...DEFAULTS, method: 'lora' }, beta: 0.2, sftWeight: 0, pack: false })
    const files = last('lmRecipe')!.files
    expect(files.map((f) => f.name)).toEqual(['train.py', 'train.jsonl', 'launch.sh'])
    expect(files[0]!.text).toContain('DPOTrainer')
    expect(files[0]!.text).toContain('beta=0.2')
    const rows = files[1]!.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>)
    expect(rows).toEqual(sampleLines('spam-ham-preferences.jsonl', 5).map((l) => JSON.parse(l)))
  })

  it('an SFT run trains through the session, is listed in the run history with its objective, and its checkpoint restores and is measured on the held-out answers', async () => {
    const { events, handle, last } = await handler()
    await handle({ type: 'lmData', objective: 'sft', file: new File([sampleLines('afinn-instructions.jsonl', 32).join('\n')], 'instructions.jsonl'), validation: new File([sampleLines('afinn-instructions-validation.jsonl', 16).join('\n')], 'held-out.jsonl'), seqLen: 48 })
    expect(last('lmData')!.summary.rows).toBe(32)
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'lora', epochs: 2, batchSize: 8, seqLen: 48, learningRate: 0.01, warmupSteps: 0, dropout: 0, earlyStopPatience: 0 }
    await handle({ type: 'lmTrain', runId: 'sft-1', objective: 'sft', settings: s, beta: 0.1, sftWeight: 0, pack: false })
    expect(last('error')).toBeUndefined()
    const done = last('done')!
    expect(done.runId).toBe('sft-1')
    expect(done.message).toMatch(/best validation answer loss/)
    const baseline = last('baseline')!
    expect(baseline.name).toBe('model before tuning')
    const epochs = events.filter((e): e is Extract<FromWorker, { type: 'epoch' }> => e.type === 'epoch')
    expect(epochs).toHaveLength(2)
    const best = Math.min(...epochs.map((e) => e.val.loss))
    expect(best).toBeLessThan(baseline.metrics.loss) // the answers got likelier than before tuning

    await handle({ type: 'listRuns' })
    const run = last('runs')!.items.find((r) => r.id === 'sft-1')!
    expect(run.status).toBe('finished')
    expect(run.objective).toMatchObject({ objective: 'sft', file: 'instructions.jsonl', validationFile: 'held-out.jsonl' })
    expect(run.dataset.name).toBe('instructions.jsonl')
    expect(run.name).toMatch(/^instructions\.jsonl · SFT · lora · /)
    expect(run.epochs.map((e) => e.epoch)).toEqual([1, 2])

    await handle({ type: 'listCheckpoints' })
    const cps = last('checkpoints')!.items.filter((c) => c.runId === 'sft-1')
    expect(cps.length).toBeGreaterThan(0)
    const cp = cps.find((c) => c.epoch === 1) ?? cps[0]!
    expect(cp.objective?.objective).toBe('sft')
    await handle({ type: 'restoreCheckpoint', id: cp.id })
    expect(last('error')).toBeUndefined()
    const restored = last('restored')!
    expect(restored.checkpoint.id).toBe(cp.id)
    // measured again on the same held-out answers: the checkpoint's own validation loss
    expect(restored.metrics!.loss).toBeCloseTo(cp.val.loss, 4)
    expect(epochs[cp.epoch - 1]!.val.loss).toBeCloseTo(cp.val.loss, 4)

    // Continue the run from epoch 1: it needs its file checked again, then trains epoch 2 as the first time.
    const epoch1 = cps.find((c) => c.epoch === 1)!
    await handle({ type: 'lmData', objective: 'sft', file: new File([sampleLines('afinn-instructions.jsonl', 8).join('\n')], 'other.jsonl'), seqLen: 48 })
    await handle({ type: 'resumeRun', checkpointId: epoch1.id, runId: epoch1.runId })
    expect(last('error')!.message).toMatch(/trained by instruction tuning on instructions\.jsonl: choose that file \(and held-out\.jsonl as the held-out file\)/)
    await handle({ type: 'lmData', objective: 'sft', file: new File([sampleLines('afinn-instructions.jsonl', 32).join('\n')], 'instructions.jsonl'), validation: new File([sampleLines('afinn-instructions-validation.jsonl', 16).join('\n')], 'held-out.jsonl'), seqLen: 48 })
    const n = events.length
    await handle({ type: 'resumeRun', checkpointId: epoch1.id, runId: epoch1.runId })
    const after = events.slice(n)
    expect(after.find((e) => e.type === 'error')).toBeUndefined()
    const resumed = after.filter((e): e is Extract<FromWorker, { type: 'epoch' }> => e.type === 'epoch')
    expect(resumed.map((e) => e.epoch)).toEqual([1]) // 0-based: only the second epoch ran again
    expect(resumed[0]!.val.loss).toBeCloseTo(epochs[1]!.val.loss, 4)
    expect(after.find((e) => e.type === 'done')).toMatchObject({ runId: 'sft-1', reason: 'finished' })
  }, 240_000)

  it('a DPO checkpoint of a full fine-tuning run restores with the reference scored by the base weights (the same held-out loss as its epoch)', async () => {
    const { events, handle, last } = await handler()
    await handle({ type: 'lmData', objective: 'dpo', file: new File([sampleLines('spam-ham-preferences.jsonl', 16).join('\n')], 'pairs.jsonl'), validation: new File([sampleLines('spam-ham-preferences-validation.jsonl', 8).join('\n')], 'held-out-pairs.jsonl'), seqLen: 64 })
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'full', epochs: 2, batchSize: 8, seqLen: 64, learningRate: 0.001, warmupSteps: 0, dropout: 0, earlyStopPatience: 0 }
    await handle({ type: 'lmTrain', runId: 'dpo-1', objective: 'dpo', settings: s, beta: 0.1, sftWeight: 0, pack: false })
    expect(last('error')).toBeUndefined()
    expect(events.filter((e) => e.type === 'lmSteps').length).toBeGreaterThan(0) // per-batch rewards reached the page
    const epochs = events.filter((e): e is Extract<FromWorker, { type: 'epoch' }> => e.type === 'epoch')
    await handle({ type: 'listRuns' })
    expect(last('runs')!.items.find((r) => r.id === 'dpo-1')).toMatchObject({ status: 'finished', objective: { objective: 'dpo', beta: 0.1, file: 'pairs.jsonl' } })
    await handle({ type: 'listCheckpoints' })
    const cp = last('checkpoints')!.items.find((c) => c.runId === 'dpo-1' && c.epoch === 1)!
    await handle({ type: 'restoreCheckpoint', id: cp.id })
    expect(last('error')).toBeUndefined()
    const m = last('restored')!.metrics!
    // a reference scored with the tuned weights would give rewards of 0 and a loss of log 2
    expect(Math.abs(epochs[0]!.val.loss - Math.log(2))).toBeGreaterThan(1e-3)
    expect(m.loss).toBeCloseTo(epochs[0]!.val.loss, 4)
    expect(m.accuracy).toBeCloseTo(epochs[0]!.val.accuracy!, 6)
  }, 240_000)
})
