/**
 * The worker side of instruction and preference tuning without a browser: a chat file with
 * bad rows is checked (each named by row), the preview marks exactly the assistant answer,
 * the playground answers before any run (no tuned model yet), and the TRL recipe carries the
 * rows in the trainer's format. Training through this host is covered by the browser tests
 * (e2e/lm-objectives.spec.ts) and the loop's Node tests (engine/tasks/*Task.test.ts).
 */
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import { loadTinyGpt } from '../engine/models/modelFile'
import { snapshotWeights } from '../engine/tuning/interpolate'
import type { FromWorker } from './protocol'
import { LmObjectivesHost, type LmSession } from './lmObjectivesHost'

const root = resolve(__dirname, '../..')
const fileFetch = async (url: string) => new Response(await readFile(resolve(root, 'public', url.replace(/^\//, ''))))
const sampleLines = (name: string, n: number) => readFileSync(resolve(root, 'public/samples/lm', name), 'utf8').trim().split('\n').slice(0, n)

let session: LmSession
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  const loaded = await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)
  session = { loaded, base: snapshotWeights(loaded.model.params), tuning: null, lastVal: null, run: null }
}, 120_000)

function host() {
  const events: FromWorker[] = []
  return { events, host: new LmObjectivesHost((e) => events.push(e), session, async () => {}) }
}

describe('LmObjectivesHost', () => {
  it('checks a chat file: bad rows named, the first rows previewed with only the assistant answer trained', async () => {
    const good = sampleLines('afinn-chat.jsonl', 3)
    const bad = [JSON.stringify({ messages: [{ role: 'user', content: 'awful' }] }), JSON.stringify({ messages: [{ role: 'narrator', content: 'x' }, { role: 'assistant', content: 'y' }] })]
    const { events, host: h } = host()
    await h.handle({ type: 'lmData', objective: 'sft', file: new File([[good[0], bad[0], good[1], bad[1], good[2]].join('\n')], 'chat.jsonl'), seqLen: 128 })
    const d = events.find((e): e is Extract<FromWorker, { type: 'lmData' }> => e.type === 'lmData')!.summary
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
    const { events, host: h } = host()
    await h.handle({ type: 'lmData', objective: 'dpo', file: new File([sampleLines('spam-ham-preferences.jsonl', 5).join('\n')], 'pairs.jsonl'), seqLen: 64 })
    await h.handle({ type: 'lmChat', requestId: 'r1', messages: [{ role: 'user', content: 'E-mail: Win a prize now\nSpam or ham?\nAnswer:' }], maxTokens: 4, raw: true })
    const chat = events.find((e): e is Extract<FromWorker, { type: 'lmChat' }> => e.type === 'lmChat')!
    expect(chat.tuned).toBeNull()
    expect(typeof chat.base).toBe('string')
    await h.handle({ type: 'lmRecipe', objective: 'dpo', settings: { ...DEFAULTS, method: 'lora' }, beta: 0.2, sftWeight: 0, pack: false })
    const files = events.find((e): e is Extract<FromWorker, { type: 'lmRecipe' }> => e.type === 'lmRecipe')!.files
    expect(files.map((f) => f.name)).toEqual(['train.py', 'train.jsonl', 'launch.sh'])
    expect(files[0]!.text).toContain('DPOTrainer')
    expect(files[0]!.text).toContain('beta=0.2')
    const rows = files[1]!.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>)
    expect(rows).toEqual(sampleLines('spam-ham-preferences.jsonl', 5).map((l) => JSON.parse(l)))
  })
})
