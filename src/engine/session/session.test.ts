import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BpeTokenizer } from '../data/bpeTokenizer'
import { parseDatasetText } from '../data/dataset'
import type { Dataset } from '../data/types'
import { TinyGpt } from '../models/tinyGpt'
import { registerTask, taskFor, type ReadingTask } from '../tasks'
import { valuesOf } from '../train/encoded'
import { evalBatch, fillCache, gatherBatch, headLogits, range } from '../train/forward'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import type { DataFacts, SessionData } from './family'
import { holdText } from './families/text'
import { Session, type RunHooks } from './session'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

// y = 2x + 1. Training x = 0, 2, …, 38 (y = 1, 5, …, 77; median 39); validation x = 3, 9,
// 15, 21 (y = 7, 19, 31, 43). Predicting the training median is off by 32, 20, 8 and 4:
// a mean absolute error of 16.
const trainCsv = 'x,y\n' + Array.from({ length: 20 }, (_, i) => `${2 * i},${4 * i + 1}`).join('\n')
const valCsv = 'x,y\n' + [3, 9, 15, 21].map((x) => `${x},${2 * x + 1}`).join('\n')

async function table(name: string, csv: string): Promise<Dataset> {
  const r = await parseDatasetText(name, csv, { roles: { labels: [], features: ['x'], target: 'y' } })
  if (!r.ok) throw new Error(r.error.message)
  return r.dataset
}

/** The data a session reads: a training table and a separate validation table (no random split). */
async function tableData(): Promise<SessionData & { facts: DataFacts }> {
  const train = await table('line.csv', trainCsv)
  const validation = await table('line-val.csv', valCsv)
  return {
    dataset: train,
    facts: { id: 'line', name: 'line.csv', task: 'tabular-regression', rows: 20, source: 'test', classes: [] },
    images: null,
    decoder: null,
    split: () => ({ train, trainIdx: range(0, 20), validation, validationIdx: range(0, 4) }),
  }
}

/** A task defined here, in this file only: mean absolute error (L1) on a number, judged
 *  against always predicting the training median. Nothing else in the engine knows it. */
const medianAbsolute: ReadingTask = {
  name: 'absolute-error',
  reads: (set) => set.kind === 'tabular' && valuesOf(set) !== null,
  hasAccuracy: false,
  loss: (model, tuning, batch, cache, s, training, seed) => tf.tidy(() => tf.mean(tf.abs(tf.sub(headLogits(model, tuning, batch, cache, s, training, seed).reshape([-1]), batch.values!)))) as tf.Scalar,
  async evaluate(model, tuning, source, cache, side) {
    const set = source.set
    const { values, scale } = valuesOf(set)!
    let sum = 0
    for (let start = 0, rows = evalBatch(model); start < set.n; start += rows) {
      const idx = range(start, Math.min(set.n, start + rows))
      await fillCache(model, tuning, cache, source, side, idx)
      const out = tf.tidy(() => headLogits(model, tuning, gatherBatch(source, cache, side, idx), cache, tuning.settings, false).reshape([-1]))
      const pred = await out.data()
      out.dispose()
      idx.forEach((r, i) => (sum += Math.abs((pred[i] ?? 0) - values[r]!)))
    }
    const loss = sum / set.n
    return { loss, mae: loss * scale.std }
  },
  trainMetrics: (loss) => ({ loss }),
  baseline({ train, val }) {
    const unscale = (set: typeof train) => {
      const { values, scale } = valuesOf(set)!
      return Array.from(values, (v) => v * scale.std + scale.mean)
    }
    const y = unscale(train).sort((a, b) => a - b)
    const median = (y[y.length / 2 - 1]! + y[y.length / 2]!) / 2
    const mae = unscale(val).reduce((a, v) => a + Math.abs(v - median), 0) / val.n
    return { metrics: { loss: mae / valuesOf(val)!.scale.std, mae }, note: `always ${median}`, name: 'training median' }
  },
  describeBest: (s) => `best validation MAE ${s.best.mae?.toFixed(2)} (line to beat: ${s.baselineName} ${s.baseline.mae?.toFixed(2)})`,
}

const settings: Settings = { ...DEFAULTS, backend: 'cpu', method: 'lora', epochs: 30, batchSize: 4, learningRate: 1e-2, earlyStopPatience: 0, plateauPatience: 0, dropout: 0, warmupSteps: 0, seed: 3 }

/** Run hooks that keep the events in memory and record nothing. */
function hooks(): RunHooks & { baselines: { name: string; mae?: number }[]; started: () => void } {
  const baselines: { name: string; mae?: number }[] = []
  const events = { onBaseline: (m: { mae?: number }, _note: string, name: string) => void baselines.push({ name, ...(m.mae !== undefined ? { mae: m.mae } : {}) }) }
  return {
    baselines,
    events,
    started: () => undefined,
    record: async (_s, _control, cb) => ({ callbacks: () => cb, finish: async () => undefined, fail: async () => undefined }),
  }
}

let unregister: (() => void) | null = null
afterEach(() => {
  unregister?.()
  unregister = null
})

describe('Session', () => {
  it('plans, trains and evaluates with a task defined in the test and registered in one line', async () => {
    unregister = registerTask(medianAbsolute)
    const session = new Session(await tableData())

    const planned = session.plan(settings)!
    expect(planned.plan.problems).toEqual([])
    expect(planned.plan.trainExamples).toBe(20)
    expect(planned.summary.id).toBe('tabular-mlp') // the MLP built for the table's columns

    const h = hooks()
    const out = await session.train('run-1', settings, h)
    if (!('result' in out)) throw new Error(`refused: ${JSON.stringify(out.refused)}`)
    // The line to beat is the new task's, worked out by hand above.
    expect(h.baselines).toHaveLength(1)
    expect(h.baselines[0]!.name).toBe('training median')
    expect(h.baselines[0]!.mae).toBeCloseTo(16, 4)
    expect(out.result.summary.baselineName).toBe('training median')
    expect(out.result.message).toMatch(/best validation MAE [\d.]+ \(line to beat: training median 16\.00\)/)

    // Evaluation is the new task's too: MAE, and no RMSE (the built-in regression reports one).
    const m = await session.evaluate()
    expect(m.rmse).toBeUndefined()
    expect(m.mae).toBeLessThan(8) // half the median's error: it learned the line
    expect(m.mae).toBeCloseTo(m.loss * (session.current()!.validationSplit as { scale: { std: number } }).scale.std, 5)

    unregister()
    unregister = null
    expect(taskFor(session.current()!.validationSplit!, { multi: null }).name).toBe('regression') // the built-in one again
  }, 60_000)

  it('holds a loaded text model beside the MLP built for a table, and gives each the data it reads', async () => {
    const data = await tableData()
    let facts: DataFacts = data.facts
    const session = new Session({ ...data, get facts() { return facts } })
    const tokenizer = BpeTokenizer.train('the cat sat on the mat. '.repeat(8), 280)
    const lm = new TinyGpt({ vocabSize: tokenizer.vocabSize, seqLen: 16, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32 }, undefined, 3)
    session.hold(holdText({ model: lm, tokenizer, card: { title: 'tiny' } }, 'tiny'))

    const mlp = session.current()!
    expect(mlp.family.name).toBe('tabular')
    expect(session.loaded!.body).toBe(lm) // the text model stays loaded
    expect(session.current()).toBe(mlp) // the same columns and seed keep the same MLP

    facts = { ...facts, task: 'text-classification' }
    expect(session.current()!.body).toBe(lm)
    expect(session.builtForData).toBe(mlp) // kept for when the table comes back
    facts = { ...facts, task: 'tabular-regression' }
    expect(session.current()).toBe(mlp)
  })
})
