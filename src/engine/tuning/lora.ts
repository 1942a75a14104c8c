import * as tf from '@tensorflow/tfjs'
import type { Body } from '../models/body'
import type { ForwardHooks } from '../models/tinyGpt'
import { type NamedVariable, disposeAll, ownVariable } from './namedVariable'
import { subSeed, type Seed } from '../train/seeds'
import { LORA_TARGETS } from '../../settings/schema'
import { matMulFast } from '../models/matMulFast'
import { oldKernels } from '../benchSwitches'

/** LoRA's own products x·A and (x·A)·B. On wasm through matMulFast, whose gradient transposes
 *  explicitly and multiplies plainly: tf.matMul's gradient asks for transposed products, which
 *  tfjs-wasm runs in its scalar loop instead of XNNPACK (about 5 % of a 124M GPT-2 LoRA step).
 *  The same products; other backends keep tf.matMul (oldKernels.loraProducts: wasm too). */
function loraProduct(): (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D {
  return tf.getBackend() === 'wasm' && !oldKernels.loraProducts ? matMulFast : tf.matMul
}

/** LoRA (Hu et al. 2021): each targeted projection W [in, out] gets a trainable low-rank
 *  update scale·A·B with A [in, r] random and B [r, out] zero, so training starts exactly
 *  at the base model and only r·(in+out) weights per layer train. */
export type LoraTarget = (typeof LORA_TARGETS)[number] // the setting's list (settings/schema.ts)
/** The layer each target names inside a block: "qkv" in block 3 is "h3.attn.qkv". */
export const LORA_LAYER_OF: Readonly<Record<LoraTarget, string>> = { qkv: 'attn.qkv', proj: 'attn.proj', fc: 'mlp.fc', out: 'mlp.out' }

/** What LoRA needs of a model: named 2-D kernels and the block count (TinyGpt, TinyCnn). */
export type LoraModel = Pick<Body, 'get' | 'config'>

export interface LoraOptions {
  rank: number
  alpha: number // update scale is alpha / rank
  dropout?: number // on the LoRA input, training only
  targets?: readonly LoraTarget[] // projection kinds; default all four
  blocks?: readonly number[] // blocks to adapt; default all
  layers?: readonly string[] // explicit layer names (e.g. a CNN's "b3.pw"); overrides targets/blocks
  seed?: number // initialisation of A
}

interface LoraPair {
  a: tf.Variable // [in, r]
  b: tf.Variable // [r, out]
}

export class Lora {
  readonly params: NamedVariable[] = []
  readonly layers: string[] = [] // e.g. "h0.attn.qkv"
  readonly scale: number
  readonly hooks: ForwardHooks
  private readonly pairs = new Map<string, LoraPair>()
  private readonly dropout: number

  constructor(model: LoraModel, opts: LoraOptions) {
    const { rank, alpha } = opts
    if (!Number.isInteger(rank) || rank < 1) throw new Error(`LoRA rank must be a positive integer, got ${rank}`)
    if (!(alpha > 0)) throw new Error(`LoRA alpha must be positive, got ${alpha}`)
    this.dropout = opts.dropout ?? 0
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${this.dropout}`)
    this.scale = alpha / rank
    const layers = opts.layers ? [...opts.layers] : targetLayers(model, opts.targets ?? LORA_TARGETS, opts.blocks)
    // Check every layer before allocating anything, so a bad rank leaks nothing.
    for (const layer of layers) {
      const [nIn, nOut] = kernelShape(model, layer)
      if (rank > Math.min(nIn, nOut)) {
        throw new Error(`LoRA rank ${rank} is too large for layer ${layer}: at most min(in ${nIn}, out ${nOut}) = ${Math.min(nIn, nOut)}`)
      }
    }
    let s = opts.seed ?? 1
    for (const layer of layers) {
      const [nIn, nOut] = kernelShape(model, layer)
      // Kaiming-uniform with a = √5 as PEFT does: bound = 1/√in keeps x·A near unit scale.
      const bound = 1 / Math.sqrt(nIn)
      const a = ownVariable(`${layer}.lora_A`, tf.randomUniform([nIn, rank], -bound, bound, 'float32', s++), true)
      const b = ownVariable(`${layer}.lora_B`, tf.zeros([rank, nOut]), true)
      this.params.push(a, b)
      this.pairs.set(layer, { a: a.variable, b: b.variable })
      this.layers.push(layer)
    }
    this.hooks = { linearDelta: (layer, x, training, seed) => this.delta(layer, x, training, seed) }
  }

  /** Blocks holding at least one adapted layer, ascending. */
  get blocks(): number[] {
    // the first number in the layer's name: "h3.attn.qkv", "b3.pw", Hugging Face's "h.3.attn.c_attn"
    return [...new Set(this.layers.map((l) => Number(/\d+/.exec(l)?.[0] ?? NaN)))].sort((a, b) => a - b)
  }

  /** x: [N, in] → scale·drop(x)·A·B [N, out], or null for a layer without LoRA. The dropout
   *  mask derives from the pass's seed and the layer name alone (no counter kept between
   *  steps), so a resumed run draws the masks an uninterrupted one would. */
  delta(layer: string, x: tf.Tensor2D, training: boolean, seed?: Seed): tf.Tensor2D | null {
    const pair = this.pairs.get(layer)
    if (!pair) return null
    const input = training && this.dropout > 0 ? (tf.dropout(x, this.dropout, undefined, subSeed(seed, `lora.${layer}`)) as tf.Tensor2D) : x
    const mm = loraProduct()
    const low = mm(input, pair.a as tf.Tensor2D) // [N, r]
    return tf.mul(mm(low, pair.b as tf.Tensor2D), this.scale) as tf.Tensor2D
  }

  /** Kernel name → W + scale·A·B, the model left untouched; caller disposes the tensors. */
  mergedKernels(model: LoraModel): Map<string, tf.Tensor2D> {
    const out = new Map<string, tf.Tensor2D>()
    for (const [layer, { a, b }] of this.pairs) {
      const name = `${layer}.kernel`
      const w = model.get(name)
      out.set(name, tf.keep(tf.tidy(() => tf.add(w, tf.mul(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), this.scale)) as tf.Tensor2D)))
    }
    return out
  }

  /** Folds the update into the model's kernels (W += scale·A·B). Afterwards the model alone
   *  is the tuned model: do not also pass these hooks, or the update counts twice. */
  merge(model: LoraModel): void {
    const merged = this.mergedKernels(model)
    for (const [name, w] of merged) {
      model.get(name).assign(w)
      w.dispose()
    }
  }

  dispose(): void {
    disposeAll(this.params)
    this.pairs.clear()
    this.layers.length = 0
  }
}

/** Parses the settings string "qkv,proj" into target kinds, rejecting unknown ones. */
export function parseLoraTargets(list: string): LoraTarget[] {
  const kinds = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  if (kinds.length === 0) throw new Error('LoRA needs at least one target layer kind (qkv, proj, fc, out)')
  const out: LoraTarget[] = []
  for (const k of kinds) {
    if (!isLoraTarget(k)) throw new Error(`Unknown LoRA target "${k}": use qkv, proj, fc or out`)
    if (!out.includes(k)) out.push(k)
  }
  return out
}

function isLoraTarget(s: string): s is LoraTarget {
  return (LORA_TARGETS as readonly string[]).includes(s)
}

/** Layer names for the chosen kinds and blocks, in block order. */
export function targetLayers(model: LoraModel, targets: readonly LoraTarget[], blocks?: readonly number[]): string[] {
  const n = model.config.nLayers
  const chosen = blocks ?? Array.from({ length: n }, (_, i) => i)
  for (const b of chosen) {
    if (!Number.isInteger(b) || b < 0 || b >= n) throw new Error(`LoRA block ${b} does not exist: the model has blocks 0..${n - 1}`)
  }
  for (const t of targets) if (!isLoraTarget(t)) throw new Error(`Unknown LoRA target "${String(t)}": use qkv, proj, fc or out`)
  if (targets.length === 0) throw new Error('LoRA needs at least one target layer kind (qkv, proj, fc, out)')
  const sorted = [...new Set(chosen)].sort((x, y) => x - y)
  const kinds = [...new Set(targets)]
  return sorted.flatMap((b) => kinds.map((t) => `h${b}.${LORA_LAYER_OF[t]}`))
}

function kernelShape(model: LoraModel, layer: string): [number, number] {
  const [nIn, nOut] = model.get(`${layer}.kernel`).shape
  if (nIn === undefined || nOut === undefined) throw new Error(`Layer ${layer} has no 2-D kernel`)
  return [nIn, nOut]
}
