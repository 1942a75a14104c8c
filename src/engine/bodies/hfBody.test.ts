// Hugging Face checkpoints trained by the studio's own loop through the HfBody adapter: LoRA on
// GPT-2's Conv1D projections (named as PEFT names them) lowers the language-modelling loss and
// leaves every base weight bit-identical; a BERT encoder keeps padding out of attention (the
// padded row's [CLS] features equal the unpadded row's), and its classification head learns.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { buildHfModel } from '../hf/hfModel'
import { parseSafetensors } from '../hf/safetensors'
import { fineTune, Tuning, type Encoded } from '../train/fineTune'
import { RunControl } from '../train/runControl'
import { modelLimits } from '../models/limits'
import { HfBody, hfBlockOf } from './hfBody'
import { zeroShotScores } from '../train/zeroShot'
import type { TinyGpt } from '../models/tinyGpt'

const DIR = path.join(__dirname, '../hf/fixtures')
function body(name: string): HfBody {
  const model = buildHfModel(readFileSync(path.join(DIR, name, 'config.json'), 'utf8'), parseSafetensors(new Uint8Array(readFileSync(path.join(DIR, name, 'model.safetensors')))).tensors)
  return new HfBody(model)
}

function settings(over: Partial<Settings>): Settings {
  return { ...DEFAULTS, batchSize: 4, epochs: 3, warmupSteps: 1, seqLen: 8, dropout: 0, valSplit: 0.25, ...over }
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})

/** Blocks of seqLen + 1 tokens from a stream that repeats 1..7: learnable next tokens. */
function lmBlocks(n: number, seqLen: number, offset: number): Encoded {
  const blockLen = seqLen + 1
  const tokens = new Int32Array(n * blockLen)
  for (let b = 0; b < n; b++) for (let t = 0; t < blockLen; t++) tokens[b * blockLen + t] = 1 + ((b * seqLen + t + offset) % 7)
  return { kind: 'lm', n, seqLen, tokens }
}

describe('HfBody', () => {
  it('names blocks by the checkpoint’s module paths', () => {
    expect(hfBlockOf('wte.weight', 2)).toBe(-1)
    expect(hfBlockOf('h.1.attn.c_attn.kernel', 2)).toBe(1)
    expect(hfBlockOf('layers.0.mlp.down_proj.kernel', 2)).toBe(0)
    expect(hfBlockOf('encoder.layer.1.output.LayerNorm.weight', 2)).toBe(1)
    expect(hfBlockOf('embeddings.word_embeddings.weight', 2)).toBe(-1)
    expect(hfBlockOf('ln_f.weight', 2)).toBe(2)
  })

  it('GPT-2 with LoRA on c_attn, c_proj, c_fc: the LM loss falls and the base weights stay bit-identical', async () => {
    const model = body('gpt2')
    const limits = modelLimits(model)
    expect(limits.methods).not.toContain('adapter')
    expect(limits.lora.map((l) => l.layer)).toEqual(['h.0.attn.c_attn', 'h.0.attn.c_proj', 'h.0.mlp.c_fc', 'h.0.mlp.c_proj']) // narrowest = first block (equal widths)
    const s = settings({ method: 'lora', loraRank: 4, loraAlpha: 8, learningRate: 2e-2, epochs: 4, loraTargets: 'qkv,proj,fc,out' })
    const tuning = new Tuning(model, s, null)
    expect(tuning.lora!.layers).toEqual(['h.0.attn.c_attn', 'h.0.attn.c_proj', 'h.0.mlp.c_fc', 'h.0.mlp.c_proj', 'h.1.attn.c_attn', 'h.1.attn.c_proj', 'h.1.mlp.c_fc', 'h.1.mlp.c_proj'])
    expect(tuning.lora!.blocks).toEqual([0, 1])
    model.frozenBase = true
    const before = await Promise.all(model.params.map((p) => p.variable.data()))
    const losses: number[] = []
    const counts: number[] = []
    const result = await fineTune(model, tuning, { train: lmBlocks(24, 8, 0), val: lmBlocks(8, 8, 3) }, s, new RunControl(), {
      onEpoch: (e) => {
        losses.push(e.val.loss)
        counts.push(tf.memory().numTensors)
      },
    })
    expect(result.reason).toBe('finished')
    expect(losses.length).toBe(4)
    expect(losses[3]!).toBeLessThan(losses[0]! * 0.8)
    expect(new Set(counts.slice(1)).size).toBe(1) // flat tensor count per epoch
    const after = await Promise.all(model.params.map((p) => p.variable.data()))
    model.params.forEach((p, i) => expect(Array.from(after[i]!).every((v, j) => Object.is(v, before[i]![j])), p.name).toBe(true))
    tuning.dispose()
    model.dispose()
  })

  it('Llama (grouped-query attention, tied head) with LoRA on q/k/v_proj and o_proj: the LM loss falls, the base stays', async () => {
    const model = body('llama-gqa-tied')
    const s = settings({ method: 'lora', loraRank: 2, loraAlpha: 4, learningRate: 2e-2, epochs: 4, loraTargets: 'qkv,proj' })
    const tuning = new Tuning(model, s, null)
    expect(tuning.lora!.layers.filter((l) => l.startsWith('layers.0.'))).toEqual(['layers.0.self_attn.q_proj', 'layers.0.self_attn.k_proj', 'layers.0.self_attn.v_proj', 'layers.0.self_attn.o_proj'])
    model.frozenBase = true
    const before = await Promise.all(model.params.map((p) => p.variable.data()))
    const losses: number[] = []
    await fineTune(model, tuning, { train: lmBlocks(24, 8, 0), val: lmBlocks(8, 8, 3) }, s, new RunControl(), { onEpoch: (e) => void losses.push(e.val.loss) })
    expect(losses[3]!).toBeLessThan(losses[0]! * 0.9)
    const after = await Promise.all(model.params.map((p) => p.variable.data()))
    model.params.forEach((p, i) => expect(Array.from(after[i]!).every((v, j) => Object.is(v, before[i]![j])), p.name).toBe(true))
    tuning.dispose()
    model.dispose()
  })

  it('a decoder scores class names for the zero-shot baseline: each score is the mean log-probability of the label’s tokens, worked out from the logits here', async () => {
    const model = body('gpt2')
    const tok = { bosId: 90, padId: 0, encode: (t: string) => [...t].map((ch) => 1 + (ch.charCodeAt(0) % 80)) }
    const text = [90, 5, 6, 7]
    const classes = ['ab', 'c']
    const scores = await zeroShotScores(model as unknown as TinyGpt, tok, [text], classes, { suffix: ':' })
    for (const [c, name] of classes.entries()) {
      const label = tok.encode(` ${name}`)
      const prompt = [...text, ...tok.encode(':')]
      const ids = [...prompt, ...label.slice(0, -1)]
      const logits = await model.lmLogits(model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'))).array()
      let sum = 0
      label.forEach((target, k) => {
        const row = logits[0]![prompt.length - 1 + k]!
        const max = Math.max(...row)
        const logZ = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0))
        sum += row[target]! - logZ
      })
      expect(scores[c]!).toBeCloseTo(sum / label.length, 4)
    }
    model.dispose()
  })

  it('BERT head only on cached [CLS] features: the body runs once per example, its weights never change, the head learns', async () => {
    const model = body('bert')
    const n = 32
    const T = 8
    const make = (seed: number): Encoded => {
      const tokens = new Int32Array(n * T)
      const mask = new Float32Array(n * T)
      const labels = new Int32Array(n)
      for (let i = 0; i < n; i++) {
        const y = (i + seed) % 2
        labels[i] = y
        for (let t = 0; t < 6; t++) {
          tokens[i * T + t] = t === 0 ? 2 : y ? 40 + ((i + t) % 10) : 10 + ((i + t) % 10) // the classes use different words
          mask[i * T + t] = 1
        }
      }
      return { kind: 'classification', n, seqLen: T, tokens, mask, labels, classes: ['a', 'b'] }
    }
    const s = settings({ method: 'head', learningRate: 5e-2, epochs: 8, batchSize: 8 })
    const tuning = new Tuning(model, s, 2)
    const before = await Promise.all(model.params.map((p) => p.variable.data()))
    let embedCalls = 0
    const embed = model.embed.bind(model)
    model.embed = (input, o) => {
      embedCalls += input.shape[0]!
      return embed(input, o)
    }
    const acc: number[] = []
    await fineTune(model, tuning, { train: make(0), val: make(1) }, s, new RunControl(), { onEpoch: (e) => void acc.push(e.val.accuracy ?? 0) })
    expect(embedCalls).toBe(2 * n) // cached: every training and validation row once, not once per epoch
    expect(acc.at(-1)!).toBeGreaterThanOrEqual(0.9)
    const after = await Promise.all(model.params.map((p) => p.variable.data()))
    model.params.forEach((p, i) => expect(Array.from(after[i]!).every((v, j) => Object.is(v, before[i]![j])), p.name).toBe(true))
    tuning.dispose()
    model.dispose()
  })

  it('BERT: padding is kept out of attention, and a [CLS] classification head learns', async () => {
    const model = body('bert')
    const ids = [2, 17, 9, 33, 5]
    const short = tf.tensor2d([ids], [1, 5], 'int32')
    const padded = tf.tensor2d([[...ids, 0, 0, 0]], [1, 8], 'int32')
    const mask = tf.tensor2d([[1, 1, 1, 1, 1, 0, 0, 0]])
    const a = await model.pool(model.forwardFrom(model.embed(short), 0), null).data()
    const b = await model.pool(model.forwardFrom(model.embed(padded, { attentionMask: mask }), 0, { attentionMask: mask }), mask).data()
    const c = await model.pool(model.forwardFrom(model.embed(padded), 0), null).data()
    let same = 0
    let differs = 0
    for (let i = 0; i < a.length; i++) {
      same = Math.max(same, Math.abs(a[i]! - b[i]!))
      differs = Math.max(differs, Math.abs(a[i]! - c[i]!))
    }
    expect(same).toBeLessThan(1e-5)
    expect(differs).toBeGreaterThan(1e-3) // without the mask the padding changes [CLS]
    // class 1 rows hold token 11, class 0 rows token 12
    const n = 32
    const T = 8
    const make = (seed: number): Encoded => {
      const tokens = new Int32Array(n * T)
      const maskArr = new Float32Array(n * T)
      const labels = new Int32Array(n)
      for (let i = 0; i < n; i++) {
        const y = (i + seed) % 2
        labels[i] = y
        const len = 4 + ((i * 7 + seed) % 4)
        for (let t = 0; t < len; t++) {
          tokens[i * T + t] = t === 0 ? 2 : t === 2 ? (y ? 11 : 12) : 20 + ((i * 13 + t * 5 + seed) % 30)
          maskArr[i * T + t] = 1
        }
      }
      return { kind: 'classification', n, seqLen: T, tokens, mask: maskArr, labels, classes: ['no', 'yes'] }
    }
    const s = settings({ method: 'full', learningRate: 3e-3, epochs: 6, batchSize: 8 })
    const tuning = new Tuning(model, s, 2)
    const acc: number[] = []
    await fineTune(model, tuning, { train: make(0), val: make(1) }, s, new RunControl(), { onEpoch: (e) => void acc.push(e.val.accuracy ?? 0) })
    expect(acc[acc.length - 1]!).toBeGreaterThanOrEqual(0.9)
    tuning.dispose()
    model.dispose()
  })
})
