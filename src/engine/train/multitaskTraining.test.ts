import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import { parseTaskWeights, taskWeightsFor } from '../../settings/taskWeights'
import type { Settings } from '../../settings/types'
import { parseDatasetText } from '../data/dataset'
import { encodeClassification } from '../data/textBatches'
import { TinyGpt } from '../models/tinyGpt'
import { bitsEqual } from '../tuning/testUtils'
import { evaluate, fineTune, Tuning, type Encoded, type EpochEvent } from './fineTune'
import { FeatureCache } from './featureCache'
import { multitaskMetrics, tasksOf } from './multitaskData'
import { RunControl } from './runControl'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const cfg = { vocabSize: 24, seqLen: 8, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }
const TASKS = [
  { name: 'topic', classes: ['a', 'b'] },
  { name: 'tone', classes: ['x', 'y', 'z'] },
]

/** Task "topic" is told by token 5/6 at position 1, task "tone" by token 8/9/10 at position 2. */
function toy(n: number, seed: number): Encoded & { kind: 'classification' } {
  const T = cfg.seqLen
  const tokens = new Int32Array(n * T)
  const mask = new Float32Array(n * T)
  const topic = new Int32Array(n)
  const tone = new Int32Array(n)
  let r = seed
  const rnd = () => ((r = (r * 1103515245 + 12345) % 2147483648) / 2147483648)
  for (let i = 0; i < n; i++) {
    topic[i] = i % 2
    tone[i] = Math.floor(rnd() * 3)
    for (let t = 0; t < 6; t++) {
      tokens[i * T + t] = t === 1 ? 5 + topic[i]! : t === 2 ? 8 + tone[i]! : 11 + Math.floor(rnd() * 13)
      mask[i * T + t] = 1
    }
  }
  const tasks = [
    { ...TASKS[0]!, labels: topic },
    { ...TASKS[1]!, labels: tone },
  ]
  return { kind: 'classification', n, seqLen: T, tokens, mask, labels: topic, classes: TASKS[0]!.classes, tasks }
}

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, method: 'full', batchSize: 8, epochs: 6, warmupSteps: 0, learningRate: 5e-3, weightDecay: 0, seqLen: cfg.seqLen, dropout: 0, ...over })

describe('taskWeights setting', () => {
  it('accepts a comma list of weights and fills missing ones with 1', () => {
    expect(parseTaskWeights(' 2, 0.50 ')).toBe('2,0.5')
    expect(parseTaskWeights('')).toBe('')
    for (const bad of ['-1', 'a', '1,,2', '101', '1;2']) expect(parseTaskWeights(bad), bad).toBeNull()
    expect(taskWeightsFor('2', 3)).toEqual([2, 1, 1])
    expect(taskWeightsFor('', 2)).toEqual([1, 1])
  })
})

describe('multitask fine-tuning', () => {
  it('the loss is the weighted sum of the task losses', async () => {
    const model = new TinyGpt(cfg, undefined, 3)
    const s = settings({ taskWeights: '2,0.5' })
    const tuning = new Tuning(model, s, 2, TASKS)
    const val = toy(16, 2)
    const cache = new FeatureCache(0, false, { train: 0, val: val.n })
    const m = await evaluate(model, tuning, val, cache, 'val')
    cache.dispose()
    expect(m.tasks?.map((t) => [t.name, t.weight])).toEqual([
      ['topic', 2],
      ['tone', 0.5],
    ])
    const [topic, tone] = m.tasks!
    expect(m.loss).toBeCloseTo(2 * topic!.loss + 0.5 * tone!.loss, 5)
    // Untrained heads: about ln 2 and ln 3.
    expect(topic!.loss).toBeGreaterThan(0.3)
    expect(tone!.loss).toBeGreaterThan(0.6)
    // Accuracy weighted like the loss, so early stopping on accuracy follows the weights too.
    expect(m.accuracy).toBeCloseTo((2 * topic!.accuracy + 0.5 * tone!.accuracy) / 2.5, 10)
    tuning.dispose()
    model.dispose()
  })

  it('learns both tasks on one body, reports per-task metrics every epoch, and a zero weight leaves that head untouched', async () => {
    const model = new TinyGpt(cfg, undefined, 4)
    const s = settings({ taskWeights: '1,1' })
    const tuning = new Tuning(model, s, 2, TASKS)
    expect(tuning.multi?.heads).toHaveLength(2)
    const epochs: EpochEvent[] = []
    const result = await fineTune(model, tuning, { train: toy(96, 1), val: toy(48, 2) }, s, new RunControl(), { onEpoch: (e) => void epochs.push(e) })
    expect(epochs.every((e) => e.val.tasks?.length === 2)).toBe(true)
    const [topic, tone] = result.summary.best.tasks!
    expect(topic!.accuracy).toBeGreaterThan(0.9)
    expect(tone!.accuracy).toBeGreaterThan(0.8)
    expect(topic!.macroF1).toBeGreaterThan(0.85)
    tuning.dispose()
    model.dispose()

    // Weight 0 on "tone": its head gets no gradient, so it ends bit-identical; "topic" still learns.
    const model2 = new TinyGpt(cfg, undefined, 4)
    const s2 = settings({ taskWeights: '1,0', epochs: 3 })
    const tuning2 = new Tuning(model2, s2, 2, TASKS)
    const toneHead = tuning2.multi!.heads[1]!
    const before = toneHead.params.map((p) => tf.keep(p.variable.clone()))
    const result2 = await fineTune(model2, tuning2, { train: toy(96, 1), val: toy(48, 2) }, s2, new RunControl())
    for (const [i, p] of toneHead.params.entries()) expect(await bitsEqual(p.variable, before[i]!), p.name).toBe(true)
    expect(result2.summary.best.tasks![0]!.accuracy).toBeGreaterThan(0.85)
    tf.dispose(before)
    tuning2.dispose()
    model2.dispose()
  }, 120_000)

  it('counts every head as trainable', () => {
    const model = new TinyGpt(cfg, undefined, 5)
    const single = new Tuning(model, settings({ method: 'head' }), 2)
    const multi = new Tuning(model, settings({ method: 'head' }), 2, TASKS)
    expect(single.counts(0).trainable).toBe(cfg.dModel * 2 + 2)
    expect(multi.counts(0).trainable).toBe(cfg.dModel * 2 + 2 + cfg.dModel * 3 + 3)
    single.dispose()
    multi.dispose()
    model.dispose()
  })

  it('multitaskMetrics: task-weighted means on top, the weighted loss sum, the first task\u2019s confusion', () => {
    const m = multitaskMetrics(TASKS, [1, 3], [[0, 1, 1, 0], [0, 1, 2, 2]], [[0, 1, 0, 0], [0, 1, 2, 2]], [0.5, 0.1])
    expect(m.tasks!.map((t) => t.accuracy)).toEqual([0.75, 1])
    expect(m.accuracy).toBeCloseTo((1 * 0.75 + 3 * 1) / 4, 10)
    // A task weighted 0 does not count: the accuracy early stopping watches is topic's alone.
    const zero = multitaskMetrics(TASKS, [1, 0], [[0, 1, 1, 0], [0, 1, 2, 2]], [[0, 1, 0, 0], [0, 0, 0, 0]], [0.5, 2])
    expect(zero.accuracy).toBeCloseTo(0.75, 10)
    expect(zero.loss).toBeCloseTo(0.5, 10)
    expect(m.loss).toBeCloseTo(0.5 + 0.3, 10)
    expect(m.confusion).toEqual([
      [2, 0],
      [1, 1],
    ])
  })
})

describe('multitask data', () => {
  it('turns every label column of a text dataset into a task', async () => {
    const lines = ['text,sentiment,topic'] // label-like names, as the data engine detects them
    for (let i = 0; i < 12; i++) lines.push(`"Message number ${i}, with a few words of text",${i % 2 ? 'a' : 'b'},${['x', 'y', 'z'][i % 3]}`)
    const parsed = await parseDatasetText('m.csv', lines.join('\n'))
    if (!parsed.ok) throw new Error(parsed.error.message)
    const d = parsed.dataset
    expect(d.task).toBe('multitask')
    const tok = { padId: 0, bosId: 1, encode: (t: string) => Array.from(t, (c) => 3 + (c.charCodeAt(0) % 20)) }
    const a = encodeClassification(d, tok, { seqLen: 8 })
    const tasks = tasksOf(d, a.labelsByColumn)
    expect(tasks.map((t) => t.name)).toEqual(['sentiment', 'topic'])
    expect(tasks[1]!.classes).toHaveLength(3)
    expect(Array.from(tasks[0]!.labels)).toEqual(Array.from(a.labels))
  })
})
