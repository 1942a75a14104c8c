/**
 * Adding a model kind, shown in one file: a bag-of-embeddings text classifier (a Body with a
 * real embedding table and one residual dense block), its Body adapter (where LoRA goes, its
 * limits) and its family (what the session needs) are all defined here, registered with one
 * `registerBodyKind` line, held with `session.hold`, and planned, trained and evaluated
 * through the Session with the built-in classification task. Nothing else in the engine
 * knows this model.
 */
import * as tf from '@tensorflow/tfjs'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bodyKindOf, registerBodyKind, type BodyKind } from '../bodies'
import { EVERY_METHOD, narrowest } from '../bodies/kind'
import { parseDatasetText } from '../data/dataset'
import type { Dataset } from '../data/types'
import type { TokenizerLike } from '../data/textBatches'
import type { Body } from '../models/body'
import { modelLimits } from '../models/limits'
import { TinyGpt, type ForwardOptions, type Param } from '../models/tinyGpt'
import { range } from '../train/forward'
import { snapshotWeights } from '../tuning/interpolate'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import type { DataFacts, HeldModel, ModelFamily, SessionData } from './family'
import { encodeText } from './families/text'
import { Session, type RunHooks } from './session'

beforeAll(async () => {
  await tf.setBackend('cpu')
})

const SEQ = 16

/** Token ids → embeddings (block -1) → x + relu(x W + b) per token (block 0, LoRA's place)
 *  → the mean over real tokens. */
class BagOfEmbeddings implements Body {
  readonly kind = 'text' as const
  readonly config: { nLayers: number; dModel: number }
  readonly params: Param[]
  readonly featureDim: number

  constructor(readonly vocab: number, readonly dim: number, seed: number) {
    this.config = { nLayers: 1, dModel: dim }
    this.featureDim = dim
    const v = (name: string, layer: string, block: number, decay: boolean, init: tf.Tensor): Param => {
      const variable = tf.variable(init, true, `bag_${seed}_${name}`)
      init.dispose() // the variable holds its own copy
      return { name, layer, block, decay, variable }
    }
    this.params = [
      v('wte', 'wte', -1, false, tf.randomNormal([vocab, dim], 0, 0.02, 'float32', seed)),
      v('b0.fc.kernel', 'b0.fc', 0, true, tf.randomNormal([dim, dim], 0, 1 / Math.sqrt(dim), 'float32', seed + 1)),
      v('b0.fc.bias', 'b0.fc', 0, false, tf.zeros([dim])),
    ]
  }

  get(name: string): tf.Variable {
    const p = this.params.find((q) => q.name === name)
    if (!p) throw new Error(`no weight ${name}`)
    return p.variable
  }

  embed(input: tf.Tensor): tf.Tensor {
    return tf.gather(this.get('wte'), input.toInt())
  }

  prefix(input: tf.Tensor, n: number, opts?: ForwardOptions): tf.Tensor {
    const x = this.embed(input)
    return n >= 1 ? this.block(x as tf.Tensor3D, opts) : x
  }

  forwardFrom(x: tf.Tensor, n: number, opts?: ForwardOptions): tf.Tensor {
    return n >= 1 ? x : this.block(x as tf.Tensor3D, opts)
  }

  private block(x: tf.Tensor3D, opts?: ForwardOptions): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t, d] = x.shape
      const x2d = x.reshape([b * t, d]) as tf.Tensor2D
      let y = tf.add(tf.matMul(x2d, this.get('b0.fc.kernel')), this.get('b0.fc.bias')) as tf.Tensor2D
      const delta = opts?.hooks?.linearDelta?.('b0.fc', x2d, opts.training ?? false, opts.seed)
      if (delta) y = tf.add(y, delta)
      return tf.add(x, tf.relu(y).reshape([b, t, d])) as tf.Tensor3D
    })
  }

  pool(hidden: tf.Tensor, mask: tf.Tensor2D | null): tf.Tensor2D {
    return tf.tidy(() => {
      const m = (mask ?? tf.ones([hidden.shape[0]!, hidden.shape[1]!])).expandDims(-1)
      return tf.div(tf.sum(tf.mul(hidden, m), 1), tf.maximum(tf.sum(m, 1), 1)) as tf.Tensor2D
    })
  }

  parameterCount(): number {
    return this.params.reduce((a, p) => a + p.variable.size, 0)
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose()
  }
}

/** Its Body adapter: LoRA on the one dense layer; no adapters (no transformer blocks). */
const bagKind: BodyKind<BagOfEmbeddings> = {
  name: 'bag of embeddings',
  owns: (model): model is BagOfEmbeddings => model instanceof BagOfEmbeddings,
  loraPlacement: () => ({ layers: ['b0.fc'] }),
  adapters: false,
  limits(model) {
    return {
      nLayers: 1,
      width: model.dim,
      methods: EVERY_METHOD.filter((m) => m !== 'adapter'),
      why: { adapter: 'Adapters go between the blocks of a transformer; a bag of embeddings has none' },
      lora: [narrowest(model, 'fc', ['b0.fc'])],
      loraTargetsChosen: false,
    }
  },
}

/** A word-level tokenizer over the toy set's words (0 = padding, 1 = start). */
function wordTokenizer(texts: string[]): TokenizerLike & { vocabSize: number } {
  const ids = new Map<string, number>()
  for (const t of texts) for (const w of t.split(' ')) if (!ids.has(w)) ids.set(w, ids.size + 2)
  return { padId: 0, bosId: 1, vocabSize: ids.size + 2, encode: (text) => text.split(' ').map((w) => ids.get(w) ?? 0) }
}

interface HeldBag extends HeldModel {
  readonly body: BagOfEmbeddings
  readonly tokenizer: TokenizerLike
}

/** Its family: what the session asks of it (encoding reuses the text family's). */
const bagFamily: ModelFamily<HeldBag> = {
  name: 'text',
  examples: 'texts',
  fitProblem: (_held, data) => (data.facts?.task === 'text-classification' ? null : 'A bag of embeddings classifies text only.'),
  runSettings: (s) => s,
  planShape: (_held, settings, data) => {
    const n = data.split(settings).trainIdx.length
    return { trainSize: n, need: Math.max(2, data.facts?.classes.length ?? 2), trainExamples: n }
  },
  checkContext: (held) => ({ maxSeqLen: SEQ, limits: modelLimits(held.body) }),
  extraProblems: () => [],
  describe: (held) => held.summary.layers,
  encode: (held, settings, data) => encodeText(held.tokenizer, SEQ, settings, data),
  zeroShot: async () => null,
  endNote: () => '',
  predict: async (_held, requestId, _input, answer) => answer({ type: 'playground', requestId, message: 'No playground for the test model.' }),
  export: async () => {
    throw new Error('The test model has no file format.')
  },
  packTask: () => null,
  classesOnly: () => null,
}

function holdBag(body: BagOfEmbeddings, tokenizer: TokenizerLike): HeldBag {
  const layers = [
    { name: 'wte', type: `Embedding ${body.vocab} × ${body.dim}`, block: -1, outputShape: `[B, T, ${body.dim}]`, params: body.vocab * body.dim, trainable: true },
    { name: 'b0.fc', type: `Residual dense ${body.dim} → ${body.dim} + ReLU`, block: 0, outputShape: `[B, T, ${body.dim}]`, params: (body.dim + 1) * body.dim, trainable: true },
  ]
  const summary = { id: 'bag', title: 'Bag of embeddings', description: 'test model', pretrained: true, layers, totalParams: body.parameterCount(), trainableParams: body.parameterCount(), nLayers: 1, dModel: body.dim, seqLen: SEQ, vocabSize: body.vocab, limits: modelLimits(body) }
  return { family: bagFamily as unknown as ModelFamily, body, tokenizer, summary, card: { title: summary.title }, base: snapshotWeights(body.params), tuning: null, validationSplit: null }
}

// A separable toy set: "good" texts use words from one list, "bad" texts from another, both
// padded with shared filler. 18 good and 12 bad rows train; the 10 validation rows (6 good,
// 4 bad) come from the same lists in other orders, so the majority share is 6/10.
const GOOD = ['great', 'lovely', 'fine', 'superb']
const BAD = ['awful', 'poor', 'broken', 'dull']
const FILLER = ['the', 'item', 'was', 'really']
function row(i: number, words: string[]): string {
  return [FILLER[i % 4], words[i % 4], FILLER[(i + 1) % 4], words[(i * 3 + 1) % 4]].join(' ')
}
const trainRows = [...Array.from({ length: 18 }, (_, i) => [row(i, GOOD), 'good']), ...Array.from({ length: 12 }, (_, i) => [row(i, BAD), 'bad'])]
const valRows = [...Array.from({ length: 6 }, (_, i) => [row(i + 2, GOOD).split(' ').reverse().join(' '), 'good']), ...Array.from({ length: 4 }, (_, i) => [row(i + 1, BAD).split(' ').reverse().join(' '), 'bad'])]

async function toyData(): Promise<{ data: SessionData & { facts: DataFacts }; tokenizer: TokenizerLike & { vocabSize: number } }> {
  const csv = 'text,label\n' + [...trainRows, ...valRows].map(([t, l]) => `${t},${l}`).join('\n')
  const r = await parseDatasetText('reviews.csv', csv, { roles: { text: 'text', labels: ['label'], features: [] } })
  if (!r.ok) throw new Error(r.error.message)
  const ds: Dataset = r.dataset
  const data = {
    dataset: ds,
    facts: { id: 'reviews', name: 'reviews.csv', task: 'text-classification' as const, rows: 40, source: 'test', classes: [{ name: 'good', count: 24 }, { name: 'bad', count: 16 }] },
    images: null,
    decoder: null,
    split: () => ({ train: ds, trainIdx: range(0, 30), validation: ds, validationIdx: range(30, 40) }),
  }
  return { data, tokenizer: wordTokenizer([...trainRows, ...valRows].map(([t]) => t!)) }
}

const settings: Settings = { ...DEFAULTS, backend: 'cpu', method: 'lora', loraRank: 2, seqLen: SEQ, epochs: 40, batchSize: 6, learningRate: 3e-2, earlyStopPatience: 0, plateauPatience: 0, dropout: 0, warmupSteps: 0, weightDecay: 0, seed: 5 }

function hooks(): RunHooks & { baselines: { name: string; accuracy?: number }[] } {
  const baselines: { name: string; accuracy?: number }[] = []
  return {
    baselines,
    events: { onBaseline: (m: { accuracy?: number }, _note: string, name: string) => void baselines.push({ name, ...(m.accuracy !== undefined ? { accuracy: m.accuracy } : {}) }) },
    started: () => undefined,
    record: async (_s, _control, cb) => ({ callbacks: () => cb, finish: async () => undefined, fail: async () => undefined }),
  }
}

let unregister: (() => void) | null = null
afterEach(() => {
  unregister?.()
  unregister = null
})

describe('a model kind defined in one file', () => {
  it('plans, trains and evaluates a bag-of-embeddings classifier registered in one line', async () => {
    const { data, tokenizer } = await toyData()
    const tensorsBefore = tf.memory().numTensors
    const D = 8
    const C = 2
    const R = settings.loraRank
    const body = new BagOfEmbeddings(tokenizer.vocabSize, D, 11)
    expect(tokenizer.vocabSize).toBe(14) // 12 words + padding + start
    // Without its adapter the body falls to the whole-layer catch-all: no LoRA.
    expect(modelLimits(body).methods).not.toContain('lora')

    unregister = registerBodyKind(bagKind)
    expect(bodyKindOf(body).name).toBe('bag of embeddings')
    const session = new Session(data)
    session.hold(holdBag(body, tokenizer))

    const planned = session.plan(settings)!
    expect(planned.plan.problems).toEqual([])
    expect(planned.plan.trainExamples).toBe(30)
    // By hand: wte 14×8 + fc 8×8 + bias 8 = 184 in the body; LoRA rank 2 on the 8→8 layer
    // adds 2·(8+8) = 32 and the new head 8·2 + 2 = 18: 50 trainable, 234 in all.
    const bodyCount = 14 * D + D * D + D
    const added = R * (D + D) + D * C + C
    expect(body.parameterCount()).toBe(bodyCount)
    expect(planned.plan.trainableParams).toBe(added)
    expect(planned.plan.totalParams).toBe(bodyCount + added)

    // The adapter's limits reach the plan, each refusal on its control.
    const tooWide = session.plan({ ...settings, loraRank: 16 })!.plan.problems
    expect(tooWide.map((p) => p.field)).toEqual(['loraRank'])
    expect(tooWide[0]!.message).toContain('8')
    const noAdapters = session.plan({ ...settings, method: 'adapter' })!.plan.problems
    expect(noAdapters.find((p) => p.field === 'method')?.message).toContain('a bag of embeddings has none')

    const frozen = snapshotWeights(body.params)
    const h = hooks()
    const out = await session.train('bag-1', settings, h)
    if (!('result' in out)) throw new Error(`refused: ${JSON.stringify(out.refused)}`)
    // Classification's line to beat: always the majority class, 6 of 10 validation rows.
    // Classification's line to beat is the best of the majority class (6 of 10 validation
    // rows) and the untrained head; with embeddings initialised near zero that head's loss
    // starts near a uniform guess, log 2 = 0.693.
    expect(h.baselines[0]!.accuracy).toBeGreaterThanOrEqual(0.6)
    expect(out.result.summary.baseline.loss).toBeGreaterThan(0.9 * Math.log(C))

    const m = await session.evaluate()
    expect(m.loss).toBeLessThan(Math.log(C) / 2) // well under a uniform guess (0.693)
    expect(m.accuracy).toBeGreaterThan(0.6) // beats the majority share
    // LoRA trained; the body's own weights did not move.
    for (const p of body.params) expect(Array.from(p.variable.dataSync())).toEqual(Array.from(frozen.get(p.name)!.dataSync()))
    for (const t of frozen.values()) t.dispose()

    unregister()
    unregister = null
    // Unregistered: the body is a whole-layer body again, and the built-in kinds answer as before.
    expect(bodyKindOf(body).name).toBe('whole-layer body')
    const gpt = new TinyGpt({ vocabSize: 20, seqLen: 8, dModel: 8, nLayers: 1, nHeads: 2, dFF: 16 }, undefined, 1)
    expect(bodyKindOf(gpt).name).toBe('TinyGpt')
    expect(modelLimits(gpt).methods).toContain('adapter')
    gpt.dispose()
    session.drop()
    expect(tf.memory().numTensors).toBe(tensorsBefore) // the body, its base, LoRA, head and optimizer all let go
  }, 60_000)
})
