import * as tf from '@tensorflow/tfjs'
import type { Body } from './body'
import { addMany } from '../ops/addMany'
import { matMulFast } from './matMulFast'
import { biasAdd } from './biasAdd'
import { avgPool2, channelNormFused, cnnFusedActive, depthwise3x3, im2col3x3, relu6Fused } from './cnnFused'
import type { ForwardOptions, Param } from './tinyGpt'

/**
 * A small MobileNet-style image body: a 3×3 stem, then depthwise-separable blocks
 * (depthwise 3×3 → ReLU6 → pointwise 1×1 → channel LayerNorm → ReLU6, residual where the
 * shape allows), a final channel LayerNorm and global average pooling.
 *
 * Design choices, all so that freezing, caching and every backend (wasm included) work:
 * - No BatchNorm: running statistics would change the frozen prefix between the cache and
 *   the live pass, and batch-dependent outputs break "prefix + forwardFrom = forward".
 *   A per-pixel LayerNorm over channels (as in ConvNeXt) needs no state.
 * - No conv2d/depthwiseConv2d kernels: their weight gradients (Conv2DBackpropFilter,
 *   DepthwiseConv2dNativeBackpropFilter) are not registered on wasm. The stem is an im2col
 *   (9 shifted slices) times a [27, C] matrix; a depthwise 3×3 is 9 shifted slices times
 *   per-channel weights, summed; pointwise convs are [B·H·W, Cin]·[Cin, Cout] matMulFast.
 *   Slice, pad, mul, addN, matMul and avgPool all have gradients on every backend (the 9
 *   taps are summed in groups: ops/addMany.ts).
 * - Stride 2 is a 2×2 average pool at the start of the block (before the depthwise), which
 *   also keeps the depthwise at the lower resolution.
 * - On wasm the same maths runs as one kernel a piece (models/cnnFused.ts: im2col, depthwise
 *   3×3 + bias, ReLU6, channel norm + ReLU6, 2×2 pool, each with a one- or two-kernel
 *   gradient): a full fine-tuning step of the built-in layout ran ~2,600 kernels as ops and
 *   ~320 so, which matters most when two workers each run a half batch. Other backends keep
 *   the ops below; the weights' names and shapes are the same either way.
 * Input: [B, S, S, 3] float in [-1, 1] (pixel / 127.5 − 1, transparency composited on white).
 * Tuning hooks: `linearDelta` is called for the stem ("stem.conv") and every pointwise conv
 * ("b<i>.pw"), so LoRA adapts them; `afterBlock` (bottleneck adapters) is transformer-only.
 * Measured on a 2-core CPU in Node (wasm backend, single thread): one training step of the
 * 172 k-parameter built-in layout on 64 images of 32×32 takes about 1.1 s when the machine is
 * otherwise idle; gradients agree with the cpu backend (tinyCnn.wasm.test.ts).
 */
export interface CnnBlockSpec {
  channels: number // output channels of the pointwise conv
  stride: 1 | 2 // 2 halves H and W at the block's input
}

export interface TinyCnnConfig {
  imageSize: number // square input side in pixels; must be divisible by 2^(number of halvings)
  stemChannels: number // output channels of the 3×3 stem (which also halves the resolution)
  blocks: CnnBlockSpec[]
}

/** The default built-in layout: 32×32 input, ~170 k parameters, 4×4×256 before pooling. */
export const EMOJI_CNN_CONFIG: TinyCnnConfig = {
  imageSize: 32,
  stemChannels: 32,
  blocks: [
    { channels: 64, stride: 1 }, // 16×16
    { channels: 96, stride: 2 }, // 8×8
    { channels: 96, stride: 1 },
    { channels: 192, stride: 2 }, // 4×4
    { channels: 192, stride: 1 },
    { channels: 192, stride: 1 },
    { channels: 256, stride: 1 },
  ],
}

const LN_EPS = 1e-5

export class TinyCnn implements Body {
  readonly kind = 'image' as const
  readonly params: Param[] = []
  readonly config: TinyCnnConfig & { nLayers: number; dModel: number }
  private readonly byName = new Map<string, tf.Variable>()

  constructor(config: TinyCnnConfig, init?: Map<string, tf.Tensor>, seed = 1) {
    const nLayers = config.blocks.length
    const dModel = config.blocks[nLayers - 1]?.channels ?? config.stemChannels
    this.config = { ...config, blocks: config.blocks.map((b) => ({ ...b })), nLayers, dModel }
    const halvings = 1 + config.blocks.filter((b) => b.stride === 2).length
    if (config.imageSize % 2 ** halvings !== 0) throw new Error(`imageSize ${config.imageSize} must be divisible by ${2 ** halvings}`)
    let s = seed
    // He-normal init: keeps activations near unit scale through ReLU6.
    const he = (shape: number[], fanIn: number) => tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), 'float32', s++)
    const add = (name: string, block: number, make: () => tf.Tensor) => {
      const given = init?.get(name)
      const value = given ?? make()
      const v = tf.variable(value, true)
      if (!given) value.dispose()
      // Conv and dense kernels decay; biases and channel-norm gains and shifts do not.
      this.params.push({ name, layer: name.slice(0, name.lastIndexOf('.')), block, variable: v, decay: name.endsWith('.kernel') })
      this.byName.set(name, v)
    }
    for (const [name, shape] of expectedCnnWeightShapes(config)) {
      const block = blockOf(name, nLayers)
      const leaf = name.slice(name.lastIndexOf('.') + 1)
      if (leaf === 'gamma') add(name, block, () => tf.ones(shape))
      else if (leaf === 'beta' || leaf === 'bias') add(name, block, () => tf.zeros(shape))
      else if (name.endsWith('.dw.kernel')) add(name, block, () => he(shape, 9))
      else add(name, block, () => he(shape, shape[0]!))
    }
  }

  get featureDim(): number {
    return this.config.dModel
  }

  get(name: string): tf.Variable {
    const v = this.byName.get(name)
    if (!v) throw new Error(`TinyCnn has no weight named ${name}`)
    return v
  }

  /** Stem: 3×3 conv (im2col matmul) → channel LN → ReLU6 → 2×2 average pool.
   *  images [B, S, S, 3] → [B, S/2, S/2, stemChannels]. */
  embed(input: tf.Tensor, opts: ForwardOptions = {}): tf.Tensor4D {
    const x = input as tf.Tensor4D
    const [b, h, w, c] = x.shape
    if (c !== 3) throw new Error(`TinyCnn expects RGB images [B, H, W, 3], got [${x.shape.join(', ')}]`)
    if (cnnFusedActive()) {
      // The same maths as below, one kernel a piece on wasm (models/cnnFused.ts).
      const cols = im2col3x3(x).reshape([b * h * w, 9 * c]) as tf.Tensor2D
      const y = this.linear(cols, 'stem.conv', opts)
      return avgPool2(this.normFused(y, 'stem.norm', true).reshape([b, h, w, this.config.stemChannels]) as tf.Tensor4D)
    }
    const patches = tf.concat(shifted3x3(x), 3) // [B, H, W, 27], tap-major then channel
    const y = this.linear(patches.reshape([b * h * w, 9 * c]) as tf.Tensor2D, 'stem.conv', opts)
    const act = relu6(this.channelNorm(y, 'stem.norm')).reshape([b, h, w, this.config.stemChannels]) as tf.Tensor4D
    return tf.avgPool(act, 2, 2, 'valid')
  }

  /** One separable block. x: [B, H, W, Cin] → [B, H', W', Cout]. */
  block(i: number, x: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor4D {
    const spec = this.config.blocks[i]
    if (!spec) throw new Error(`TinyCnn has no block ${i}`)
    if (cnnFusedActive()) {
      const input = spec.stride === 2 ? avgPool2(x) : x
      const [b, h, w, cin] = input.shape
      const dw = relu6Fused(depthwise3x3(input, this.get(`b${i}.dw.kernel`), this.get(`b${i}.dw.bias`)))
      const pw = this.linear(dw.reshape([b * h * w, cin]) as tf.Tensor2D, `b${i}.pw`, opts)
      const out = this.normFused(pw, `b${i}.norm`, true).reshape([b, h, w, spec.channels]) as tf.Tensor4D
      return cin === spec.channels ? (tf.add(input, out) as tf.Tensor4D) : out
    }
    const input = spec.stride === 2 ? tf.avgPool(x, 2, 2, 'valid') : x
    const [b, h, w, cin] = input.shape
    const kernel = this.get(`b${i}.dw.kernel`) // [3, 3, Cin]
    const taps = shifted3x3(input).map((t, k) => tf.mul(t, kernel.slice([Math.floor(k / 3), k % 3, 0], [1, 1, cin]).reshape([cin])))
    const dw = relu6(tf.add(addMany(taps), this.get(`b${i}.dw.bias`)) as tf.Tensor4D) // 9 taps: one AddN is too wide for WebGPU
    const pw = this.linear(dw.reshape([b * h * w, cin]) as tf.Tensor2D, `b${i}.pw`, opts)
    const out = relu6(this.channelNorm(pw, `b${i}.norm`)).reshape([b, h, w, spec.channels]) as tf.Tensor4D
    return cin === spec.channels ? (tf.add(input, out) as tf.Tensor4D) : out
  }

  /** Blocks from..n-1 and the final channel norm. */
  forwardFrom(input: tf.Tensor, from: number, opts: ForwardOptions = {}): tf.Tensor4D {
    let x = input as tf.Tensor4D
    for (let i = from; i < this.config.nLayers; i++) x = this.block(i, x, opts)
    const [b, h, w, c] = x.shape
    if (cnnFusedActive()) return this.normFused(x.reshape([b * h * w, c]) as tf.Tensor2D, 'lnf', false).reshape([b, h, w, c]) as tf.Tensor4D
    return this.channelNorm(x.reshape([b * h * w, c]) as tf.Tensor2D, 'lnf').reshape([b, h, w, c]) as tf.Tensor4D
  }

  /** Activations after the stem and the first n blocks: the cacheable prefix. */
  prefix(input: tf.Tensor, n: number, opts: ForwardOptions = {}): tf.Tensor4D {
    let x = this.embed(input, opts)
    for (let i = 0; i < n; i++) x = this.block(i, x, opts)
    return x
  }

  /** Full forward pass: images → final feature maps [B, h, w, dModel]. */
  forward(images: tf.Tensor4D, opts: ForwardOptions = {}): tf.Tensor4D {
    return this.forwardFrom(this.embed(images, opts), 0, opts)
  }

  /** Global average pooling: [B, h, w, D] → [B, D]. The mask is for text and ignored. */
  pool(hidden: tf.Tensor, _mask: tf.Tensor2D | null): tf.Tensor2D {
    return tf.mean(hidden, [1, 2]) as tf.Tensor2D
  }

  parameterCount(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0)
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose()
    this.params.length = 0
    this.byName.clear()
  }

  /** x [N, in] · kernel + bias, plus whatever a tuning hook (LoRA) adds for this layer. */
  private linear(x: tf.Tensor2D, layer: string, opts: ForwardOptions): tf.Tensor2D {
    const product = matMulFast(x, this.get(`${layer}.kernel`) as tf.Tensor2D)
    // With the fused kernels, the bias gradient as XNNPACK's ones-row product (biasAdd.ts), not a transpose and a Sum.
    const y = cnnFusedActive() ? biasAdd(product, this.get(`${layer}.bias`)) : (tf.add(product, this.get(`${layer}.bias`)) as tf.Tensor2D)
    const delta = opts.hooks?.linearDelta?.(layer, x, opts.training ?? false, opts.seed)
    return delta ? (tf.add(y, delta) as tf.Tensor2D) : y
  }

  /** channelNorm (then ReLU6 if asked) as one kernel: models/cnnFused.ts. */
  private normFused(x: tf.Tensor2D, name: string, relu6: boolean): tf.Tensor2D {
    return channelNormFused(x, this.get(`${name}.gamma`), this.get(`${name}.beta`), relu6)
  }

  /** LayerNorm over the channels of each pixel. x: [N, C]. */
  private channelNorm(x: tf.Tensor2D, name: string): tf.Tensor2D {
    const { mean, variance } = tf.moments(x, -1, true)
    const norm = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, LN_EPS)))
    return tf.add(tf.mul(norm, this.get(`${name}.gamma`)), this.get(`${name}.beta`)) as tf.Tensor2D
  }
}

function relu6<T extends tf.Tensor>(x: T): T {
  return tf.clipByValue(x, 0, 6) as T
}

/** The 9 neighbours of every pixel (zero padding), tap k = 3·dy + dx: 9 × [B, H, W, C]. */
function shifted3x3(x: tf.Tensor4D): tf.Tensor4D[] {
  const [b, h, w, c] = x.shape
  const padded = tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ])
  const out: tf.Tensor4D[] = []
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) out.push(padded.slice([0, dy, dx, 0], [b, h, w, c]))
  return out
}

/** -1 for the stem, i for "b<i>.…", n for the final norm. */
function blockOf(name: string, nLayers: number): number {
  if (name.startsWith('stem.')) return -1
  if (name.startsWith('lnf.')) return nLayers
  return Number(name.slice(1, name.indexOf('.')))
}

/** Names and shapes of every weight of a TinyCnn with this config, in model order. */
export function expectedCnnWeightShapes(config: TinyCnnConfig): Map<string, number[]> {
  const m = new Map<string, number[]>()
  const c0 = config.stemChannels
  m.set('stem.conv.kernel', [27, c0]).set('stem.conv.bias', [c0])
  m.set('stem.norm.gamma', [c0]).set('stem.norm.beta', [c0])
  let cin = c0
  config.blocks.forEach((blk, i) => {
    m.set(`b${i}.dw.kernel`, [3, 3, cin]).set(`b${i}.dw.bias`, [cin])
    m.set(`b${i}.pw.kernel`, [cin, blk.channels]).set(`b${i}.pw.bias`, [blk.channels])
    m.set(`b${i}.norm.gamma`, [blk.channels]).set(`b${i}.norm.beta`, [blk.channels])
    cin = blk.channels
  })
  m.set('lnf.gamma', [cin]).set('lnf.beta', [cin])
  return m
}

/** Pointwise layers LoRA can adapt, e.g. ["b0.pw", …]. */
export function pointwiseLayers(config: TinyCnnConfig): string[] {
  return config.blocks.map((_, i) => `b${i}.pw`)
}
