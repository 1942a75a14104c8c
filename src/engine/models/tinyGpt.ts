import * as tf from '@tensorflow/tfjs'
import type { Body } from './body'
import { embeddingLookup } from './embeddingLookup'
import { matMulFast, swapLast } from './matMulFast'
import { biasAdd, scaleShift } from './biasAdd'
import { causalSoftmaxFused, geluFused, headsToRowsFused, layerNormFused, lmFusedActive, splitHeadsFused } from './lmFused'
import { oldKernels } from '../benchSwitches'
import { subSeed, type Seed } from '../train/seeds'

/** A small decoder-only transformer (GPT-style, pre-LayerNorm, tied embeddings).
 *  Weights are plain tf.Variables owned by this object, so tuning code (freezing, LoRA,
 *  adapters, interpolation) works on named variables instead of fighting tf.layers. */
export interface TinyGptConfig {
  vocabSize: number // tokenizer vocabulary, incl. special ids
  seqLen: number // longest context the position table covers
  dModel: number // width of the residual stream
  nLayers: number // transformer blocks
  nHeads: number // attention heads; dModel % nHeads === 0
  dFF: number // hidden width of each block's MLP
}

export interface Param {
  name: string // stable key, e.g. "h0.attn.qkv.kernel"
  layer: string // the layer it belongs to, e.g. "h0.attn.qkv"
  block: number // -1 = embeddings, 0..n-1 = transformer blocks, n = final norm
  variable: tf.Variable
  /** Whether weight decay applies: the model says so for each weight (dense and conv
   *  kernels yes; biases, norm gains and shifts, embedding tables no). The optimizer reads
   *  this, never tfjs' variable names. */
  decay: boolean
}

/** Extra low-rank or bottleneck pieces a tuning method plugs into the forward pass. */
export interface ForwardHooks {
  /** Called for each projection; returns a delta [N, out] to add, or null. */
  linearDelta?: (layer: string, x2d: tf.Tensor2D, training: boolean, seed?: Seed) => tf.Tensor2D | null
  /** Called on the residual stream after block i; returns the new stream. */
  afterBlock?: (block: number, x: tf.Tensor3D, training: boolean) => tf.Tensor3D
}

export interface ForwardOptions {
  training?: boolean
  dropout?: number // residual/attention dropout rate while training
  hooks?: ForwardHooks
  seed?: Seed // the step's seed: every dropout mask of the pass derives from it (train/seeds.ts)
  /** Training passes: the variables this step's gradient is taken for, with their names
   *  (model weights as the body names them, tuning pieces as they name themselves). A body
   *  that recomputes blocks in the backward pass (bodies/hfBody.ts) hands each block the ones
   *  it reads. */
  trainable?: ReadonlyMap<tf.Variable, string>
  /** [B, T] 1 on real tokens: encoders (BERT) keep padding out of attention; causal bodies ignore it. */
  attentionMask?: tf.Tensor2D
}

export const LINEAR_LAYERS = ['attn.qkv', 'attn.proj', 'mlp.fc', 'mlp.out'] as const

export class TinyGpt implements Body {
  readonly kind = 'text' as const
  readonly params: Param[] = []
  private readonly byName = new Map<string, tf.Variable>()
  private dropoutCalls = 0
  private dropoutSeed: Seed | undefined

  constructor(
    readonly config: TinyGptConfig,
    init?: Map<string, tf.Tensor>,
    seed = 1,
  ) {
    const { vocabSize, seqLen, dModel, nLayers, dFF } = config
    if (dModel % config.nHeads !== 0) throw new Error('dModel must be divisible by nHeads')
    let s = seed
    const normal = (shape: number[], std: number) => tf.randomNormal(shape, 0, std, 'float32', s++)
    // GPT-2 scales the residual projections down by depth so the stream does not grow.
    const residStd = 0.02 / Math.sqrt(2 * nLayers)
    const add = (name: string, block: number, make: () => tf.Tensor) => {
      const given = init?.get(name)
      const value = given ?? make()
      const layer = name.slice(0, name.lastIndexOf('.'))
      // tfjs names the variable: fixed engine names would collide as soon as two models exist.
      const v = tf.variable(value, true)
      if (!given) value.dispose()
      // Decay the projections' kernels only: embedding rows a batch never uses would shrink
      // by (1 − lr·wd) every step, and biases and norm gains have no reason to go to zero.
      this.params.push({ name, layer, block, variable: v, decay: name.endsWith('.kernel') })
      this.byName.set(name, v)
    }
    add('wte.embeddings', -1, () => normal([vocabSize, dModel], 0.02))
    add('wpe.embeddings', -1, () => normal([seqLen, dModel], 0.01))
    for (let i = 0; i < nLayers; i++) {
      add(`h${i}.ln1.gamma`, i, () => tf.ones([dModel]))
      add(`h${i}.ln1.beta`, i, () => tf.zeros([dModel]))
      add(`h${i}.attn.qkv.kernel`, i, () => normal([dModel, 3 * dModel], 0.02))
      add(`h${i}.attn.qkv.bias`, i, () => tf.zeros([3 * dModel]))
      add(`h${i}.attn.proj.kernel`, i, () => normal([dModel, dModel], residStd))
      add(`h${i}.attn.proj.bias`, i, () => tf.zeros([dModel]))
      add(`h${i}.ln2.gamma`, i, () => tf.ones([dModel]))
      add(`h${i}.ln2.beta`, i, () => tf.zeros([dModel]))
      add(`h${i}.mlp.fc.kernel`, i, () => normal([dModel, dFF], 0.02))
      add(`h${i}.mlp.fc.bias`, i, () => tf.zeros([dFF]))
      add(`h${i}.mlp.out.kernel`, i, () => normal([dFF, dModel], residStd))
      add(`h${i}.mlp.out.bias`, i, () => tf.zeros([dModel]))
    }
    add('lnf.gamma', nLayers, () => tf.ones([dModel]))
    add('lnf.beta', nLayers, () => tf.zeros([dModel]))
  }

  get featureDim(): number {
    return this.config.dModel
  }

  pool(hidden: tf.Tensor, mask: tf.Tensor2D | null): tf.Tensor2D {
    const h = hidden as tf.Tensor3D
    return TinyGpt.meanPool(h, mask ?? (tf.ones([h.shape[0], h.shape[1]]) as tf.Tensor2D))
  }

  get(name: string): tf.Variable {
    const v = this.byName.get(name)
    if (!v) throw new Error(`TinyGpt has no weight named ${name}`)
    return v
  }

  /** Token + position embeddings. tokens: [B, T] int32 → [B, T, D]. */
  embed(input: tf.Tensor, opts: ForwardOptions = {}): tf.Tensor3D {
    const tokens = input as tf.Tensor2D
    const [b, t] = tokens.shape
    const { dModel } = this.config
    // A lookup whose gradient is a scatter-add (embeddingLookup.ts), not a vocabulary-wide product.
    const tok = embeddingLookup(this.get('wte.embeddings') as tf.Tensor2D, tokens.reshape([b * t]) as tf.Tensor1D).reshape([b, t, dModel])
    const pos = this.get('wpe.embeddings').slice([0, 0], [t, dModel])
    return this.drop(tf.add(tok, pos) as tf.Tensor3D, opts)
  }

  /** One pre-LN transformer block with causal self-attention. x: [B, T, D] → [B, T, D]. */
  block(i: number, x: tf.Tensor3D, opts: ForwardOptions = {}): tf.Tensor3D {
    const [b, t, d] = x.shape
    const h = this.config.nHeads
    const hd = d / h
    const training = opts.training ?? false
    const a = this.layerNorm(x, `h${i}.ln1`)
    const qkv = this.linear(a.reshape([b * t, d]) as tf.Tensor2D, `h${i}.attn.qkv`, opts) // [B*T, 3D]
    const fused = lmFusedActive() // wasm: one kernel for each piece between the products (lmFused.ts), the same maths
    let probs: tf.Tensor4D
    let v: tf.Tensor4D
    if (fused) {
      const [q, kT, vv] = splitHeadsFused(qkv, b, h) // q, v [B, H, T, hd]; kᵀ [B, H, hd, T]
      probs = causalSoftmaxFused(matMulFast(q, kT), causalMask(t), 1 / Math.sqrt(hd))
      v = vv
    } else {
      // Split, then a 4-D transpose per part: one 5-D transpose is ~100× slower on wasm.
      const [q, k, vv] = tf.split(qkv, 3, 1).map((p) => p.reshape([b, t, h, hd]).transpose([0, 2, 1, 3])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] // [B, H, T, hd]
      let att = matMulFast(q, swapLast(k)).mul(1 / Math.sqrt(hd)) as tf.Tensor4D // [B, H, T, T]
      att = tf.add(att, causalMask(t)) as tf.Tensor4D
      probs = tf.softmax(att)
      v = vv
    }
    if (training && opts.dropout) probs = this.drop(probs, opts)
    const heads = matMulFast(probs, v)
    const y = (fused ? headsToRowsFused(heads) : heads.transpose([0, 2, 1, 3]).reshape([b * t, d])) as tf.Tensor2D
    const attnOut = this.linear(y, `h${i}.attn.proj`, opts).reshape([b, t, d]) as tf.Tensor3D
    x = tf.add(x, this.drop(attnOut, opts)) as tf.Tensor3D
    const m = this.layerNorm(x, `h${i}.ln2`).reshape([b * t, d]) as tf.Tensor2D
    const fc = this.linear(m, `h${i}.mlp.fc`, opts)
    const hidden = fused && !oldKernels.tanhGelu ? geluFused(fc) : gelu(fc)
    const mlpOut = this.linear(hidden, `h${i}.mlp.out`, opts).reshape([b, t, d]) as tf.Tensor3D
    x = tf.add(x, this.drop(mlpOut, opts)) as tf.Tensor3D
    return opts.hooks?.afterBlock ? opts.hooks.afterBlock(i, x, training) : x
  }

  /** Blocks from..nLayers-1 and the final norm: the part a frozen-prefix cache skips to. */
  forwardFrom(input: tf.Tensor, from: number, opts: ForwardOptions = {}): tf.Tensor3D {
    let x = input as tf.Tensor3D
    for (let i = from; i < this.config.nLayers; i++) x = this.block(i, x, opts)
    return this.layerNorm(x, 'lnf')
  }

  /** Full forward pass to the final hidden states [B, T, D]. */
  forward(tokens: tf.Tensor2D, opts: ForwardOptions = {}): tf.Tensor3D {
    return this.forwardFrom(this.embed(tokens, opts), 0, opts)
  }

  /** Residual stream after the first `n` blocks (no final norm): the cacheable prefix. */
  prefix(tokens: tf.Tensor, n: number, opts: ForwardOptions = {}): tf.Tensor3D {
    let x = this.embed(tokens, opts)
    for (let i = 0; i < n; i++) x = this.block(i, x, opts)
    return x
  }

  /** Next-token logits with the tied embedding. hidden: [B, T, D] → [B, T, V]. */
  lmLogits(hidden: tf.Tensor3D): tf.Tensor3D {
    const [b, t, d] = hidden.shape
    const wte = this.get('wte.embeddings') as tf.Tensor2D
    return matMulFast(hidden.reshape([b * t, d]) as tf.Tensor2D, tf.transpose(wte)).reshape([b, t, this.config.vocabSize])
  }

  /** Mean of the hidden states over real (non-pad) positions. → [B, D]. */
  static meanPool(hidden: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
    const m = mask.expandDims(2) // [B, T, 1]
    const sum = tf.sum(tf.mul(hidden, m), 1)
    const count = tf.maximum(tf.sum(m, 1), 1)
    return tf.div(sum, count) as tf.Tensor2D
  }

  parameterCount(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0)
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose()
    this.params.length = 0
    this.byName.clear()
  }

  private linear(x: tf.Tensor2D, layer: string, opts: ForwardOptions): tf.Tensor2D {
    const y = biasAdd(matMulFast(x, this.get(`${layer}.kernel`) as tf.Tensor2D), this.get(`${layer}.bias`))
    const delta = opts.hooks?.linearDelta?.(layer, x, opts.training ?? false, opts.seed)
    return delta ? (tf.add(y, delta) as tf.Tensor2D) : y
  }

  private layerNorm(x: tf.Tensor3D, name: string): tf.Tensor3D {
    if (lmFusedActive()) return layerNormFused(x, this.get(`${name}.gamma`), this.get(`${name}.beta`))
    const { mean, variance } = tf.moments(x, -1, true)
    const norm = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)))
    return scaleShift(norm, this.get(`${name}.gamma`), this.get(`${name}.beta`)) as tf.Tensor3D
  }

  private drop<T extends tf.Tensor>(x: T, opts: ForwardOptions): T {
    if (!opts.training || !opts.dropout) return x
    // Each call in a pass gets its own mask, numbered in call order from the pass's seed
    // (the counter restarts with every new seed): the same step seed gives the same masks.
    if (opts.seed !== this.dropoutSeed) {
      this.dropoutSeed = opts.seed
      this.dropoutCalls = 0
    }
    const seed = subSeed(opts.seed, `drop${this.dropoutCalls++}`)
    return tf.dropout(x, opts.dropout, undefined, seed) as T
  }
}

/** tanh approximation of GELU, as in GPT-2: 0.5·x·(1 + tanh u), u = √(2/π)·(x + 0.044715·x³),
 *  computed as x·σ(2u), the same function (1 + tanh u = 2σ(2u)): tfjs-wasm's Tanh is a scalar
 *  loop, about 30× slower than its Sigmoid (XNNPACK) on a [1024, 512] tensor. */
export function gelu<T extends tf.Tensor>(x: T): T {
  const cube = tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x)))
  if (oldKernels.tanhGelu) return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), cube)))) as T
  return tf.mul(x, tf.sigmoid(tf.mul(2 * Math.sqrt(2 / Math.PI), cube))) as T
}

const masks = new Map<number, tf.Tensor2D>()
/** [T, T] additive mask: 0 on and below the diagonal, -1e9 above; cached per length. */
export function causalMask(t: number): tf.Tensor2D {
  let m = masks.get(t)
  if (!m || m.isDisposed) {
    m = tf.tidy(() => {
      const lower = tf.linalg.bandPart(tf.ones([t, t]), -1, 0)
      return tf.mul(tf.sub(1, lower), -1e9) as tf.Tensor2D
    })
    tf.keep(m)
    masks.set(t, m)
  }
  return m
}
