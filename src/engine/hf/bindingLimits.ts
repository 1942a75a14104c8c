/**
 * WebGPU's binding limit and the tensors it splits. A WebGPU shader reads each input through a
 * storage-buffer binding of at most `maxStorageBufferBindingSize` bytes (128 MiB unless the
 * device is requested with more); a buffer holds at most `maxBufferSize` (256 MiB by default).
 * GPT-2's 50,257 × 768 embedding (154 MB), which is also its tied LM head, is over the default.
 *
 * Requesting the real limits: tfjs-backend-webgpu 4.22 creates its device asking for the
 * adapter's own `maxStorageBufferBindingSize` and `maxBufferSize` (its base.js), so the device
 * the studio trains on already has the adapter's limits; `webgpuDeviceLimits()` reads them
 * back from the running backend (null on other backends). Desktop GPUs usually allow 2–4 GiB
 * per binding; some mobile and software adapters stay at 128 MiB. What is still over the limit
 * is split by rows (`HfModel.splitLargeTables`, `chunkedTiedLogits`, `chunkedEmbeddingLookup`).
 */
import * as tf from '@tensorflow/tfjs'
import { embeddingLookup } from '../models/embeddingLookup'
import { expectedWeights, type HfConfig } from './config'

export interface BindingLimits {
  maxStorageBufferBindingSize: number
  maxBufferSize: number
}

/** The WebGPU specification's defaults: what a device gets when it asks for nothing more. */
export const WEBGPU_DEFAULT_LIMITS: BindingLimits = { maxStorageBufferBindingSize: 134_217_728, maxBufferSize: 268_435_456 }

/** The limits of the running webgpu backend's device, or null when the backend is not webgpu. */
export function webgpuDeviceLimits(): BindingLimits | null {
  if (tf.getBackend() !== 'webgpu') return null
  const device = (tf.backend() as unknown as { device?: { limits?: Partial<BindingLimits> } }).device
  const l = device?.limits
  if (!l || typeof l.maxStorageBufferBindingSize !== 'number' || typeof l.maxBufferSize !== 'number') return null
  return { maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize }
}

/** The bytes one binding may hold: the smaller of the two limits. */
export function bindingBytes(limits: BindingLimits): number {
  return Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize)
}

/** Rows per chunk so that a chunk of rows × rowFloats float32 fits `maxBytes`. */
export function rowsPerChunk(rowFloats: number, maxBytes: number): number {
  const rows = Math.floor(maxBytes / (rowFloats * 4))
  if (rows < 1) throw new Error(`One row of ${rowFloats} floats (${rowFloats * 4} bytes) is over the ${maxBytes}-byte binding limit`)
  return rows
}

export interface OverLimit {
  name: string
  shape: number[]
  bytes: number
  /** Row chunks that fit the limit. */
  chunks: number
}

/** The tensors of a model (and, for language modelling, the logits of a batch) that one WebGPU
 *  binding cannot hold under `limits`, with the number of row chunks each needs. */
export function tensorsOverBindingLimit(cfg: HfConfig, limits: BindingLimits, batch?: { tokens: number }): OverLimit[] {
  const max = bindingBytes(limits)
  const out: OverLimit[] = []
  const add = (name: string, shape: number[]) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4
    if (bytes > max) out.push({ name, shape, bytes, chunks: Math.ceil(shape[0]! / rowsPerChunk(shape.slice(1).reduce((a, b) => a * b, 1), max)) })
  }
  for (const [name, shape] of expectedWeights(cfg)) add(name, [...shape])
  if (batch && (cfg.modelType === 'gpt2' || cfg.modelType === 'llama')) add('logits', [batch.tokens, cfg.vocabSize])
  return out
}

/** A [R, C] table as row chunks of at most `maxBytes` each, or, with `byColumns`, as column
 *  chunks. Built from the table's values read back to the CPU: on WebGPU a slice op would bind
 *  the whole table, the very thing that is over the limit. New tensors; the caller disposes. */
export async function splitRows(table: tf.Tensor2D, maxBytes: number, byColumns = false): Promise<tf.Tensor2D[]> {
  const [r, c] = table.shape
  const data = (await table.data()) as Float32Array
  const out: tf.Tensor2D[] = []
  if (!byColumns) {
    const per = rowsPerChunk(c, maxBytes)
    for (let start = 0; start < r; start += per) {
      const rows = Math.min(per, r - start)
      out.push(tf.tensor2d(data.subarray(start * c, (start + rows) * c), [rows, c]))
    }
    return out
  }
  const per = rowsPerChunk(r, maxBytes) // columns of r floats each
  for (let start = 0; start < c; start += per) {
    const cols = Math.min(per, c - start)
    const part = new Float32Array(r * cols)
    for (let i = 0; i < r; i++) part.set(data.subarray(i * c + start, i * c + start + cols), i * cols)
    out.push(tf.tensor2d(part, [r, cols]))
  }
  return out
}

/** x [N, D] · tableᵀ for a table kept as row chunks [Rᵢ, D]: each chunk's product (Rᵢ · xᵀ, as
 *  the unsplit tied head does it) is one matmul binding only that chunk; the [V, N] pieces are
 *  joined and transposed to [N, V]. */
export function chunkedTiedLogits(x: tf.Tensor2D, chunks: readonly tf.Tensor2D[]): tf.Tensor2D {
  return tf.tidy(() => tf.transpose(tf.concat(chunks.map((c) => tf.matMul(c, x, false, true)), 0)) as tf.Tensor2D)
}

/** The rows `ids` of a table kept as row chunks: each chunk gathers the ids that fall in it
 *  (others read its row 0 and are zeroed), and the pieces are added. */
export function chunkedEmbeddingLookup(chunks: readonly tf.Tensor2D[], ids: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    let start = 0
    let sum: tf.Tensor2D | null = null
    for (const c of chunks) {
      const rows = c.shape[0]
      const local = tf.sub(ids, tf.scalar(start, 'int32'))
      const inside = tf.logicalAnd(tf.greaterEqual(local, tf.scalar(0, 'int32')), tf.less(local, tf.scalar(rows, 'int32')))
      const picked = embeddingLookup(c, tf.where(inside, local, tf.zerosLike(local)) as tf.Tensor1D)
      const part = tf.mul(picked, tf.expandDims(tf.cast(inside, 'float32'), 1)) as tf.Tensor2D
      sum = sum ? (tf.add(sum, part) as tf.Tensor2D) : part
      start += rows
    }
    return sum!
  })
}

export interface BindingAdvice {
  /** Tables to keep in chunks (`HfModel.splitLargeTables(bindingBytes(limits))`). */
  split: string[]
  /** The most tokens a batch may have so that its logits fit one binding (language modelling). */
  maxTokensPerBatch: number | null
  /** Why the run cannot go as chosen, and what to do; null when it can (with the split). */
  refusal: string | null
}

const MB = (bytes: number) => `${Math.round(bytes / 1e6)} MB`

/** What a WebGPU device's binding limit means for a run: which tables to split, the batch size
 *  the logits allow, and a refusal naming what to change when full fine-tuning would have to
 *  train a table no binding holds (a split table is a frozen copy) or a batch's logits are over
 *  the limit. */
export function bindingAdvice(cfg: HfConfig, limits: BindingLimits, run: { method: 'full' | 'freeze' | 'lora' | 'head'; tokensPerBatch?: number }): BindingAdvice {
  const max = bindingBytes(limits)
  const all = tensorsOverBindingLimit(cfg, limits)
  const over = all.filter((t) => /(^|\.)(wte|embed_tokens|word_embeddings)\.weight$|^lm_head\.weight$/.test(t.name))
  const split = over.map((t) => (t.name === 'lm_head.weight' ? 'lm_head.kernel' : t.name))
  const others = all.filter((t) => !over.includes(t))
  const head = over.find((t) => t.name === 'lm_head.weight')
  const lm = cfg.modelType === 'gpt2' || cfg.modelType === 'llama'
  const maxTokensPerBatch = lm ? Math.floor(max / (cfg.vocabSize * 4)) : null
  let refusal: string | null = null
  if (others.length) refusal = `${others[0]!.name} (${MB(others[0]!.bytes)}) is over this GPU's ${MB(max)} storage-buffer limit, and the studio splits only embedding tables and LM heads. Use the WebAssembly backend for this model.`
  else if (run.method === 'full' && over.length)
    refusal = `The token embedding${over.length > 1 ? 's and the LM head' : ''} (${MB(over[0]!.bytes)}) ${over.length > 1 ? 'are' : 'is'} over this GPU's ${MB(max)} storage-buffer limit, so full fine-tuning cannot train ${over.length > 1 ? 'them' : 'it'} here. ${head ? 'Use LoRA, which keeps both frozen.' : 'Use LoRA, or train the last blocks only (freeze), which keep the embedding frozen.'}`
  // freezing trains the last blocks and what comes after them: an untied head too
  else if (run.method === 'freeze' && head)
    refusal = `The LM head (${MB(head.bytes)}) is over this GPU's ${MB(max)} storage-buffer limit, and training the last blocks trains the head too, which cannot be done here. Use LoRA, which keeps the head frozen.`
  else if (lm && run.tokensPerBatch != null && run.tokensPerBatch > maxTokensPerBatch!)
    refusal = `The logits of ${run.tokensPerBatch} tokens a batch (${MB(run.tokensPerBatch * cfg.vocabSize * 4)}) are over this GPU's ${MB(max)} storage-buffer limit. Use at most ${maxTokensPerBatch} tokens a batch (batch size × sequence length).`
  return { split, maxTokensPerBatch, refusal }
}
