/**
 * Forward passes of Hugging Face GPT-2, Llama and BERT/DistilBERT checkpoints in TensorFlow.js,
 * written from the Hugging Face modelling code's maths (modeling_gpt2.py, modeling_llama.py,
 * modeling_bert.py, modeling_distilbert.py) with matMul/softmax only, so every op has a
 * gradient (no einsum) and projections are 2-D matmuls (the BatchMatMul gradient does not
 * reduce broadcast batch dimensions).
 *
 * Weights live in variables under the checkpoint's canonical names (no model-class prefix),
 * except that every projection is stored as `<module>.kernel` in [in, out] layout (GPT-2's
 * Conv1D weights as they are, nn.Linear weights transposed once at load) with `<module>.bias`:
 * the studio's own convention, so its LoRA (tuning/lora.ts, layers named by module path such
 * as "h.0.attn.c_attn" or "layers.3.self_attn.q_proj") plugs in unchanged through
 * `hooks.linearDelta`.
 */
import * as tf from '@tensorflow/tfjs'
import { embeddingLookup } from '../models/embeddingLookup'
import { chunkedEmbeddingLookup, chunkedTiedLogits, splitRows } from './bindingLimits'
import { matMulFast, swapLast } from '../models/matMulFast'
import { oldKernels } from '../benchSwitches'
import type { ForwardHooks } from '../models/tinyGpt'
import type { Seed } from '../train/seeds'
import { type BertConfig, type Gpt2Config, type HfConfig, type LlamaConfig, expectedWeights, matchWeights, parseHfConfig } from './config'
import type { LoadedTensor } from './safetensors'

export interface HfForwardOptions {
  training?: boolean
  hooks?: ForwardHooks
  /** [B, T], 1 for real tokens and 0 for padding: padded keys get no attention. */
  attentionMask?: tf.Tensor2D
  /** [B, T] token type ids (BERT only; zeros when absent). */
  tokenTypeIds?: tf.Tensor2D
  /** The base projections do not train (LoRA, head only): their matmuls then keep no copy of
   *  the kernel for the backward pass (the engine clones every saved tensor, and on wasm a
   *  clone is a real copy: every kernel of the model, per step). */
  frozenBase?: boolean
  /** Decoders, inference only: the positions already seen, whose keys and values each block
   *  reads instead of recomputing them; the ids given are the next positions (from
   *  `cache.length` on) and each block appends theirs. See `KvCache`. */
  cache?: KvCache
  /** The pass's seed: LoRA dropout masks derive from it (train/seeds.ts), so a resumed run
   *  and a recomputed block (recompute.ts) draw the masks the first pass drew. */
  seed?: Seed
}

/** Keys and values of every block for the positions seen so far ([B, kv heads, T, head size],
 *  before grouped-query attention's repeat), so decoding one more token costs one position of
 *  work instead of the whole prefix. The tensors are kept outside any tf.tidy; each append
 *  disposes the block's previous pair, so the tensor count stays flat while the cache grows.
 *  `dispose()` when generation ends. */
export class KvCache {
  /** Positions cached. */
  length = 0
  private readonly keys: (tf.Tensor4D | null)[]
  private readonly values: (tf.Tensor4D | null)[]

  constructor(layers: number) {
    this.keys = new Array<tf.Tensor4D | null>(layers).fill(null)
    this.values = new Array<tf.Tensor4D | null>(layers).fill(null)
  }

  /** Block i's keys and values for all positions so far, this call's appended. */
  append(i: number, k: tf.Tensor4D, v: tf.Tensor4D): { k: tf.Tensor4D; v: tf.Tensor4D } {
    const pk = this.keys[i]
    const pv = this.values[i]
    const nk = pk ? (tf.concat([pk, k], 2) as tf.Tensor4D) : k
    const nv = pv ? (tf.concat([pv, v], 2) as tf.Tensor4D) : v
    tf.keep(nk)
    tf.keep(nv)
    pk?.dispose()
    pv?.dispose()
    this.keys[i] = nk
    this.values[i] = nv
    return { k: nk, v: nv }
  }

  /** Bytes the cache holds now. */
  bytes(): number {
    let n = 0
    for (const t of [...this.keys, ...this.values]) if (t && !t.isDisposed) n += t.size * 4
    return n
  }

  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t?.dispose()
    this.keys.fill(null)
    this.values.fill(null)
    this.length = 0
  }
}

/** The projections LoRA may target in each family, named as Hugging Face and PEFT name them. */
export const HF_LORA_TARGETS = {
  gpt2: ['c_attn', 'c_proj', 'c_fc'],
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  bert: ['query', 'key', 'value', 'dense'],
  distilbert: ['q_lin', 'k_lin', 'v_lin', 'out_lin', 'lin1', 'lin2'],
} as const

const NEG = -1e9 // added to masked attention scores (HF adds the dtype's minimum; softmax gives 0 either way)

export class HfModel {
  readonly hf: HfConfig
  /** What the studio's generic pieces (LoRA, freezing) read. */
  readonly config: { nLayers: number; dModel: number }
  private readonly weights = new Map<string, tf.Variable>()
  /** Module paths of every projection (kernel + bias), in block order. */
  readonly linearLayers: string[] = []
  /** Copies of tables over a WebGPU binding limit, in chunks (see `splitLargeTables`). */
  private readonly chunks = new Map<string, tf.Tensor2D[]>()
  /** The data each table's chunks were copied from (the variable's data id then: an assign
   *  gives the variable new data, so chunks of another id are out of date), and the limit. */
  private readonly chunkSource = new Map<string, object>()
  private splitBytes = 0

  constructor(hf: HfConfig, weights: Map<string, tf.Variable>) {
    this.hf = hf
    this.weights = weights
    this.config = hf.modelType === 'gpt2' ? { nLayers: hf.nLayer, dModel: hf.nEmbd } : { nLayers: hf.numLayers, dModel: hf.hiddenSize }
    for (const name of weights.keys()) if (name.endsWith('.kernel') && name !== 'lm_head.kernel') this.linearLayers.push(name.slice(0, -'.kernel'.length))
  }

  get(name: string): tf.Variable {
    const v = this.weights.get(name)
    if (!v) throw new Error(`HfModel has no weight "${name}"`)
    return v
  }

  has(name: string): boolean {
    return this.weights.has(name)
  }

  /** Every weight by name (for export, freezing and counting). */
  entries(): [string, tf.Variable][] {
    return [...this.weights]
  }

  /** For a WebGPU device whose storage-buffer binding cannot hold the token embedding or the LM
   *  head (GPT-2's 50,257 × 768 table is 154 MB; WebGPU's default binding is 128 MiB): keeps a
   *  copy of each such table in chunks of at most `maxBindingBytes` (embedding tables by rows,
   *  an untied head kernel [D, V] by columns), which `embed` and `logits` then use, so no op binds
   *  the whole table. The chunks are copies of the frozen table: for inference, LoRA and heads,
   *  not for full fine-tuning (the trained variable would move away from them). Returns the
   *  names split; `unsplitTables()` drops the copies. */
  async splitLargeTables(maxBindingBytes: number): Promise<string[]> {
    this.unsplitTables()
    this.splitBytes = maxBindingBytes
    const names = ['wte.weight', 'embed_tokens.weight', 'embeddings.word_embeddings.weight', 'lm_head.kernel']
    for (const name of names) {
      const w = this.weights.get(name) as tf.Tensor2D | undefined
      if (!w || w.size * 4 <= maxBindingBytes) continue
      await this.splitOne(name)
    }
    return [...this.chunks.keys()]
  }

  private async splitOne(name: string): Promise<void> {
    const w = this.get(name) as tf.Tensor2D
    const source = dataIdOf(w)
    const parts = await splitRows(w, this.splitBytes, name === 'lm_head.kernel')
    tf.dispose(this.chunks.get(name))
    this.chunks.set(name, parts)
    this.chunkSource.set(name, source)
  }

  /** Copies again the split tables whose weight was assigned since they were copied (a run
   *  reset to the base weights, the base put in for a "before" answer, interpolation), so the
   *  chunks always hold the weight as it is. Cheap when nothing changed. Returns the names
   *  copied again. */
  async refreshSplit(): Promise<string[]> {
    const stale = [...this.chunks.keys()].filter((name) => this.chunkSource.get(name) !== dataIdOf(this.get(name)))
    for (const name of stale) await this.splitOne(name)
    return stale
  }

  /** The tables kept split now, with their size in bytes and the number of parts (what the
   *  page says about the split, hfModelHost.ts). */
  splitTables(): { name: string; bytes: number; parts: number }[] {
    return [...this.chunks].map(([name, parts]) => ({ name, bytes: this.get(name).size * 4, parts: parts.length }))
  }

  unsplitTables(): void {
    for (const parts of this.chunks.values()) tf.dispose(parts)
    this.chunks.clear()
    this.chunkSource.clear()
  }

  /** A split table's chunks; they must be copies of the weight as it is now (a forward pass
   *  with out-of-date chunks would silently read other weights than the model holds). */
  private chunksOf(name: string): tf.Tensor2D[] | undefined {
    const parts = this.chunks.get(name)
    if (parts && this.chunkSource.get(name) !== dataIdOf(this.get(name))) {
      throw new Error(`The GPU copy of ${name} (kept in parts for this GPU's storage-buffer limit) is older than the model's weights. Switch the backend off WebGPU and back, or reload the model.`)
    }
    return parts
  }

  /** A token table's rows for ids, from its chunks when it is split. */
  private lookup(name: string, ids: tf.Tensor1D): tf.Tensor2D {
    const parts = this.chunksOf(name)
    return parts ? chunkedEmbeddingLookup(parts, ids) : embeddingLookup(this.get(name) as tf.Tensor2D, ids)
  }

  parameterCount(): number {
    let n = 0
    for (const v of this.weights.values()) n += v.size
    return n
  }

  /** Token ids [B, T] → input of block 0, [B, T, D]. */
  embed(ids: tf.Tensor2D, opts: HfForwardOptions = {}): tf.Tensor3D {
    const [b, t] = ids.shape
    const d = this.config.dModel
    const flat = ids.reshape([b * t]) as tf.Tensor1D
    const hf = this.hf
    const offset = opts.cache?.length ?? 0
    const limit = hf.modelType === 'gpt2' ? hf.nPositions : hf.maxPositions
    if (hf.modelType !== 'llama' && offset + t > limit) throw new Error(`This ${hf.modelType} model reads at most ${limit} positions (its config's ${hf.modelType === 'gpt2' ? 'n_positions' : 'max_position_embeddings'}); ${offset + t} were given. Use a shorter text.`)
    if (hf.modelType === 'gpt2') {
      const tok = this.lookup('wte.weight', flat)
      const pos = this.get('wpe.weight').slice([offset, 0], [t, d])
      return tf.add(tok.reshape([b, t, d]), pos) as tf.Tensor3D
    }
    if (hf.modelType === 'llama') return this.lookup('embed_tokens.weight', flat).reshape([b, t, d])
    let x = tf.add(this.lookup('embeddings.word_embeddings.weight', flat).reshape([b, t, d]), this.get('embeddings.position_embeddings.weight').slice([0, 0], [t, d])) as tf.Tensor3D
    if (hf.modelType === 'bert') {
      const types = opts.tokenTypeIds ?? tf.zeros([b, t], 'int32')
      x = tf.add(x, embeddingLookup(this.get('embeddings.token_type_embeddings.weight') as tf.Tensor2D, types.reshape([b * t]) as tf.Tensor1D).reshape([b, t, d])) as tf.Tensor3D
    }
    return this.layerNorm(x, 'embeddings.LayerNorm', hf.layerNormEps)
  }

  /** Block i: [B, T, D] → [B, T, D]. */
  block(i: number, x: tf.Tensor3D, opts: HfForwardOptions = {}): tf.Tensor3D {
    const hf = this.hf
    if (hf.modelType === 'gpt2') return this.gpt2Block(hf, i, x, opts)
    if (hf.modelType === 'llama') return this.llamaBlock(hf, i, x, opts)
    return this.bertBlock(hf, i, x, opts)
  }

  /** After the last block: GPT-2's ln_f, Llama's norm; BERT has none (post-LN blocks). */
  final(x: tf.Tensor3D): tf.Tensor3D {
    const hf = this.hf
    if (hf.modelType === 'gpt2') return this.layerNorm(x, 'ln_f', hf.layerNormEps)
    if (hf.modelType === 'llama') return this.rmsNorm(x, 'norm', hf.rmsNormEps)
    return x
  }

  /** Token ids [B, T] → final hidden states [B, T, D]. */
  forward(ids: tf.Tensor2D, opts: HfForwardOptions = {}): tf.Tensor3D {
    if (opts.cache && this.hf.modelType !== 'gpt2' && this.hf.modelType !== 'llama') throw new Error('A key/value cache is for decoders (GPT-2, Llama) only')
    let x = this.embed(ids, opts)
    for (let i = 0; i < this.config.nLayers; i++) x = this.block(i, x, opts)
    if (opts.cache) opts.cache.length += ids.shape[1]
    return this.final(x)
  }

  /** Hidden [B, T, D] → next-token logits [B, T, V] (tied to the embedding unless the
   *  checkpoint has its own lm_head). Decoders only. */
  logits(hidden: tf.Tensor3D, opts: { headFrozen?: boolean } = {}): tf.Tensor3D {
    const [b, t, d] = hidden.shape
    const flat = hidden.reshape([b * t, d]) as tf.Tensor2D
    let out: tf.Tensor2D
    const untied = this.weights.has('lm_head.kernel')
    if (this.hf.modelType !== 'gpt2' && this.hf.modelType !== 'llama') throw new Error(`A ${this.hf.modelType} encoder has no language-modelling head`)
    const headName = untied ? 'lm_head.kernel' : this.hf.modelType === 'gpt2' ? 'wte.weight' : 'embed_tokens.weight'
    const w = this.get(headName) as tf.Tensor2D
    const parts = this.chunksOf(headName)
    // split (a WebGPU binding limit): each chunk's product separately; the chunks are constants,
    // so the gradient reaches the hidden states only, as with headFrozen
    if (parts) out = untied ? (tf.concat(parts.map((c) => tf.matMul(flat, c)), 1) as tf.Tensor2D) : chunkedTiedLogits(flat, parts)
    else if (opts.headFrozen) out = frozenHead(flat, w, !untied)
    else if (untied) out = matMulFast(flat, w)
    else out = tiedLogits(flat, w)
    return out.reshape([b, t, out.shape[1]])
  }

  /** Encoder features [B, D]: the [CLS] token's hidden state, or the mean over real tokens. */
  pool(hidden: tf.Tensor3D, how: 'cls' | 'mean', mask?: tf.Tensor2D): tf.Tensor2D {
    const [b, t, d] = hidden.shape
    if (how === 'cls') return hidden.slice([0, 0, 0], [b, 1, d]).reshape([b, d])
    const m = (mask ?? tf.ones([b, t])).toFloat().reshape([b, t, 1])
    return tf.div(tf.sum(tf.mul(hidden, m), 1), tf.maximum(tf.sum(m, 1), 1e-9)) as tf.Tensor2D
  }

  dispose(): void {
    this.unsplitTables()
    for (const v of this.weights.values()) v.dispose()
    this.weights.clear()
  }

  // ---- blocks -------------------------------------------------------------------------

  private gpt2Block(c: Gpt2Config, i: number, x: tf.Tensor3D, opts: HfForwardOptions): tf.Tensor3D {
    const [b, t, d] = x.shape
    const p = `h.${i}.`
    const a = this.layerNorm(x, `${p}ln_1`, c.layerNormEps).reshape([b * t, d]) as tf.Tensor2D
    const qkv = this.linear(a, `${p}attn.c_attn`, opts) // [B*T, 3D]: q | k | v
    const [q, k, v] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]
    let kh = this.heads(k, b, t, c.nHead)
    let vh = this.heads(v, b, t, c.nHead)
    if (opts.cache) ({ k: kh, v: vh } = opts.cache.append(i, kh, vh))
    const y = this.attention(this.heads(q, b, t, c.nHead), kh, vh, true, opts.attentionMask)
    x = tf.add(x, this.linear(y, `${p}attn.c_proj`, opts).reshape([b, t, d])) as tf.Tensor3D
    const m = this.layerNorm(x, `${p}ln_2`, c.layerNormEps).reshape([b * t, d]) as tf.Tensor2D
    const h = geluTanh(this.linear(m, `${p}mlp.c_fc`, opts))
    return tf.add(x, this.linear(h, `${p}mlp.c_proj`, opts).reshape([b, t, d])) as tf.Tensor3D
  }

  private llamaBlock(c: LlamaConfig, i: number, x: tf.Tensor3D, opts: HfForwardOptions): tf.Tensor3D {
    const [b, t, d] = x.shape
    const p = `layers.${i}.`
    const a = this.rmsNorm(x, `${p}input_layernorm`, c.rmsNormEps).reshape([b * t, d]) as tf.Tensor2D
    const offset = opts.cache?.length ?? 0
    const { cos, sin } = rotaryTables(c, t, offset)
    const q = applyRotary(this.heads(this.linear(a, `${p}self_attn.q_proj`, opts), b, t, c.numHeads), cos, sin)
    let k = applyRotary(this.heads(this.linear(a, `${p}self_attn.k_proj`, opts), b, t, c.numKvHeads), cos, sin)
    let v = this.heads(this.linear(a, `${p}self_attn.v_proj`, opts), b, t, c.numKvHeads)
    if (opts.cache) ({ k, v } = opts.cache.append(i, k, v))
    const tk = k.shape[2] // keys: the cached positions and these
    const rep = c.numHeads / c.numKvHeads
    if (rep > 1) {
      // repeat_kv: kv head j serves query heads j·rep … j·rep + rep − 1 (tiled at rank 4:
      // tfjs has no tile gradient for rank 5)
      const expand = (z: tf.Tensor4D) => tf.tile(z.reshape([b, c.numKvHeads, 1, tk * c.headDim]), [1, 1, rep, 1]).reshape([b, c.numHeads, tk, c.headDim]) as tf.Tensor4D
      k = expand(k)
      v = expand(v)
    }
    const y = this.attention(q, k, v, true, opts.attentionMask)
    x = tf.add(x, this.linear(y, `${p}self_attn.o_proj`, opts).reshape([b, t, d])) as tf.Tensor3D
    const m = this.rmsNorm(x, `${p}post_attention_layernorm`, c.rmsNormEps).reshape([b * t, d]) as tf.Tensor2D
    const gate = this.linear(m, `${p}mlp.gate_proj`, opts)
    const swish = tf.mul(gate, tf.sigmoid(gate)) as tf.Tensor2D
    const inner = tf.mul(swish, this.linear(m, `${p}mlp.up_proj`, opts)) as tf.Tensor2D
    return tf.add(x, this.linear(inner, `${p}mlp.down_proj`, opts).reshape([b, t, d])) as tf.Tensor3D
  }

  private bertBlock(c: BertConfig, i: number, x: tf.Tensor3D, opts: HfForwardOptions): tf.Tensor3D {
    const [b, t, d] = x.shape
    const distil = c.modelType === 'distilbert'
    const p = distil ? `transformer.layer.${i}.` : `encoder.layer.${i}.`
    const n = {
      q: distil ? `${p}attention.q_lin` : `${p}attention.self.query`,
      k: distil ? `${p}attention.k_lin` : `${p}attention.self.key`,
      v: distil ? `${p}attention.v_lin` : `${p}attention.self.value`,
      o: distil ? `${p}attention.out_lin` : `${p}attention.output.dense`,
      ln1: distil ? `${p}sa_layer_norm` : `${p}attention.output.LayerNorm`,
      fc: distil ? `${p}ffn.lin1` : `${p}intermediate.dense`,
      out: distil ? `${p}ffn.lin2` : `${p}output.dense`,
      ln2: distil ? `${p}output_layer_norm` : `${p}output.LayerNorm`,
    }
    const flat = x.reshape([b * t, d]) as tf.Tensor2D
    const y = this.attention(this.heads(this.linear(flat, n.q, opts), b, t, c.numHeads), this.heads(this.linear(flat, n.k, opts), b, t, c.numHeads), this.heads(this.linear(flat, n.v, opts), b, t, c.numHeads), false, opts.attentionMask)
    const h1 = this.layerNorm(tf.add(x, this.linear(y, n.o, opts).reshape([b, t, d])) as tf.Tensor3D, n.ln1, c.layerNormEps)
    const f = geluErf(this.linear(h1.reshape([b * t, d]) as tf.Tensor2D, n.fc, opts))
    return this.layerNorm(tf.add(h1, this.linear(f, n.out, opts).reshape([b, t, d])) as tf.Tensor3D, n.ln2, c.layerNormEps)
  }

  // ---- pieces -------------------------------------------------------------------------

  /** x [N, in] · kernel [in, out] + bias, plus a LoRA delta when a hook gives one. */
  private linear(x: tf.Tensor2D, layer: string, opts: HfForwardOptions): tf.Tensor2D {
    const kernel = this.get(`${layer}.kernel`) as tf.Tensor2D
    let y = opts.frozenBase ? frozenMatMul(x, kernel) : matMulFast(x, kernel)
    const bias = this.weights.get(`${layer}.bias`)
    if (bias) y = tf.add(y, bias) as tf.Tensor2D
    const delta = opts.hooks?.linearDelta?.(layer, x, opts.training ?? false, opts.seed)
    return delta ? (tf.add(y, delta) as tf.Tensor2D) : y
  }

  /** [B·T, H·hd] → [B, H, T, hd]. */
  private heads(x: tf.Tensor2D, b: number, t: number, h: number): tf.Tensor4D {
    const hd = x.shape[1] / h
    return x.reshape([b, t, h, hd]).transpose([0, 2, 1, 3])
  }

  /** Scaled dot-product attention of queries [B, H, T, hd] over keys and values [B, H, Tk, hd]
   *  (Tk ≥ T: with a cache the queries are the last T of Tk positions; `mask` is [B, Tk]) →
   *  [B·T, H·hd]. */
  private attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, causal: boolean, mask?: tf.Tensor2D): tf.Tensor2D {
    const [b, h, t, hd] = q.shape
    const tk = k.shape[2]
    let scores = tf.mul(product(q, k, true), 1 / Math.sqrt(hd)) as tf.Tensor4D // [B, H, T, Tk]
    if (causal && t > 1) scores = tf.add(scores, causalBias(t, tk)) as tf.Tensor4D // one query (decoding) sees every key
    if (mask) scores = tf.add(scores, tf.mul(tf.sub(1, mask.toFloat()), NEG).reshape([b, 1, 1, tk])) as tf.Tensor4D
    const y = product(tf.softmax(scores, -1), v) // [B, H, T, hd]
    return y.transpose([0, 2, 1, 3]).reshape([b * t, h * hd])
  }

  private layerNorm(x: tf.Tensor3D, name: string, eps: number): tf.Tensor3D {
    const { mean, variance } = tf.moments(x, -1, true)
    const norm = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)))
    return tf.add(tf.mul(norm, this.get(`${name}.weight`)), this.get(`${name}.bias`)) as tf.Tensor3D
  }

  private rmsNorm(x: tf.Tensor3D, name: string, eps: number): tf.Tensor3D {
    const ms = tf.mean(tf.square(x), -1, true)
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), this.get(`${name}.weight`)) as tf.Tensor3D
  }
}

/** The backend data a tensor reads now (a variable's changes on every assign). */
function dataIdOf(t: tf.Tensor): object {
  return (t as unknown as { dataId: object }).dataId
}

/**
 * Products on wasm. tfjs-backend-wasm 4.22's BatchMatMul gives XNNPACK only a product with a
 * batch of 1 and no transposed operand; batched products (attention's [B, H, T, hd] slices)
 * and transposeA/transposeB ones (tfjs' own MatMul gradient asks for those) run its scalar loop
 * at about 2 GFLOP/s. On wasm the products below transpose explicitly (the backend's
 * Transpose, well under the product's cost) and multiply through matMulFast: one XNNPACK
 * product per slice (models/slicedMatMul.ts) and a gradient of plain products. Other backends
 * (WebGPU, WebGL, cpu) keep tf.matMul with its flags, as before; oldKernels.hfProducts switches
 * wasm back too, for the benches.
 */
function wasmProducts(): boolean {
  return !oldKernels.hfProducts && tf.getBackend() === 'wasm'
}

/** a · b, or a · bᵀ (last two axes) with `transposeB`; differentiable. */
function product<T extends tf.Tensor>(a: T, b: T, transposeB = false): T {
  if (!wasmProducts()) return tf.matMul(a, b, false, transposeB)
  return matMulFast(a, transposeB ? swapLast(b) : b)
}

/** a [N, K] · b [M, K]ᵀ for a gradient function (no gradient of its own). On wasm the
 *  transpose moves whichever is fewer elements: b, or a and the [M, N] result (bᵀ's for a
 *  weight much larger than the batch: (b · aᵀ)ᵀ). */
function timesTransposed(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!wasmProducts()) return tf.matMul(a, b, false, true)
  if (b.size <= a.size + a.shape[0] * b.shape[0]) return tf.matMul(a, tf.transpose(b))
  return tf.transpose(tf.matMul(b, tf.transpose(a))) as tf.Tensor2D
}

/** x [N, D] · embᵀ for a tied head emb [V, D], as (emb · xᵀ)ᵀ: backends that transpose a
 *  `transposeB` operand by copying it (wasm) then copy the small x, not the V × D table
 *  (154 MB for GPT-2, on every forward pass). On wasm xᵀ is explicit (see product). */
function tiedLogits(x: tf.Tensor2D, emb: tf.Tensor2D): tf.Tensor2D {
  return tf.transpose(product(emb, x, true)) as tf.Tensor2D
}

/** x [N, D] times the head (tied: the embedding [V, D], transposed; untied: a kernel [D, V])
 *  with a gradient for x only. The head is not an input of the op, so backpropagation never
 *  computes a [V, D] gradient nobody trains (154 MB for GPT-2, plus the backend's transposed
 *  copies): for LoRA, heads and frozen embeddings. Do not use it when the head trains. */
function frozenHead(x: tf.Tensor2D, w: tf.Tensor2D, tied: boolean): tf.Tensor2D {
  const f = tf.customGrad(((input: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([input])
    return {
      value: tied ? tiedLogits(input, w) : tf.matMul(input, w),
      gradFunc: (dy: tf.Tensor2D) => (tied ? tf.matMul(dy, w) : timesTransposed(dy, w)),
    }
  }) as never) as (x: tf.Tensor2D) => tf.Tensor2D
  return f(x)
}

/** x [N, in] · w [in, out] with a gradient for x only (dy · wᵀ); w is closed over, not saved. */
function frozenMatMul(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((input: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([])
    return { value: tf.matMul(input, w), gradFunc: (dy: tf.Tensor2D) => timesTransposed(dy, w) }
  }) as never) as (x: tf.Tensor2D) => tf.Tensor2D
  return f(x)
}

/** [1, 1, T, Tk]: query i sits at position Tk − T + i; 0 where the key's position is at most
 *  the query's, a large negative number after it. */
function causalBias(t: number, tk = t): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([t, tk]), -1, tk - t)), NEG).reshape([1, 1, t, tk]))
}

/** GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). On wasm as the same
 *  function x·σ(2·√(2/π)·(x + 0.044715·x·x·x)): tfjs-wasm's Pow and Tanh are scalar loops (Pow's
 *  gradient also takes a Log and a Where for the exponent), its Sigmoid is XNNPACK's, as
 *  models/tinyGpt.ts's gelu. Other backends, and oldKernels.tanhGelu, keep the tanh form. */
function geluTanh(x: tf.Tensor2D): tf.Tensor2D {
  if (wasmProducts() && !oldKernels.tanhGelu) return tf.mul(x, tf.sigmoid(tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), 2 * Math.sqrt(2 / Math.PI)))) as tf.Tensor2D
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(inner))) as tf.Tensor2D
}

/** BERT's gelu: 0.5·x·(1 + erf(x/√2)). */
function geluErf(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as tf.Tensor2D
}

/** Rotary tables [T, hd] for positions offset … offset + T − 1: angle(pos, j) =
 *  pos·θ^(−2(j mod hd/2)/hd), the two halves repeated (HF's cat(freqs, freqs)); linear scaling
 *  divides the positions by its factor. */
export function rotaryTables(c: LlamaConfig, t: number, offset = 0): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = c.headDim / 2
  const angles = new Float32Array(t * c.headDim)
  const scale = c.ropeScaling?.type === 'linear' ? c.ropeScaling.factor : 1
  for (let row = 0; row < t; row++) {
    const pos = offset + row
    for (let j = 0; j < half; j++) {
      // as HF: inv_freq in float32, then the product in float32
      const invFreq = Math.fround(1 / Math.pow(c.ropeTheta, (2 * j) / c.headDim))
      const a = Math.fround(Math.fround(pos / scale) * invFreq)
      angles[row * c.headDim + j] = a
      angles[row * c.headDim + j + half] = a
    }
  }
  const cos = new Float32Array(angles.length)
  const sin = new Float32Array(angles.length)
  for (let i = 0; i < angles.length; i++) {
    cos[i] = Math.cos(angles[i]!)
    sin[i] = Math.sin(angles[i]!)
  }
  return { cos: tf.tensor2d(cos, [t, c.headDim]), sin: tf.tensor2d(sin, [t, c.headDim]) }
}

/** x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x₂, x₁) over the last axis's halves. */
function applyRotary(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const hd = x.shape[3]
  const [x1, x2] = tf.split(x, [hd / 2, hd / 2], 3)
  const rotated = tf.concat([tf.neg(x2!), x1!], 3)
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D
}

/** Builds the model from config.json and a checkpoint's tensors (any prefix), checking every
 *  shape first (nothing is allocated for a mismatched checkpoint). */
export function buildHfModel(config: string | HfConfig, tensors: ReadonlyMap<string, LoadedTensor>, file = 'model.safetensors'): HfModel {
  const hf = typeof config === 'string' ? parseHfConfig(config) : config
  const shapes = new Map<string, readonly number[]>()
  for (const [k, v] of tensors) shapes.set(k, v.shape)
  const names = matchWeights(hf, shapes, file)
  const want = expectedWeights(hf)
  const weights = new Map<string, tf.Variable>()
  const conv1d = hf.modelType === 'gpt2'
  for (const [name, key] of names) {
    const src = tensors.get(key)!
    const shape = want.get(name)!
    const isProjection = name.endsWith('.weight') && shape.length === 2 && !/(^|\.)(wte|wpe|embed_tokens|word_embeddings|position_embeddings|token_type_embeddings)\.weight$/.test(name)
    if (isProjection) {
      const base = name.slice(0, -'.weight'.length)
      const w = tf.tensor2d(src.data, shape as [number, number])
      // Conv1D is [in, out] already; nn.Linear [out, in] is transposed once here.
      const kernel = conv1d ? w : tf.tidy(() => w.transpose())
      weights.set(`${base}.kernel`, tf.variable(kernel, true))
      if (kernel !== w) w.dispose()
      kernel.dispose()
    } else {
      const t = tf.tensor(src.data, shape)
      weights.set(name, tf.variable(t, true))
      t.dispose()
    }
  }
  return new HfModel(hf, weights)
}

/** Greedy decoding: appends the arg-max token `steps` times (full recompute each step; the
 *  reference fixtures are tiny). Returns the generated ids only. */
export async function greedyGenerate(model: HfModel, prompt: number[], steps: number, opts: HfForwardOptions = {}): Promise<number[]> {
  const ids = [...prompt]
  const out: number[] = []
  for (let s = 0; s < steps; s++) {
    const next = tf.tidy(() => {
      const hidden = model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'), opts)
      // only the last position's logits: the vocabulary-wide product is most of a small model's pass
      const last = hidden.slice([0, ids.length - 1, 0], [1, 1, hidden.shape[2]])
      return model.logits(last).reshape([-1]).argMax()
    })
    const id = (await next.data())[0]!
    next.dispose()
    ids.push(id)
    out.push(id)
  }
  return out
}
