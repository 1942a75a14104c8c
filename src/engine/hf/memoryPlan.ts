/**
 * How much memory a training run on a Hugging Face body will need, before it starts: weights +
 * gradients + optimizer state + activations kept for the backward pass, for a method, batch and
 * sequence length. All float32 (tfjs has no half-precision tensors).
 *
 * Activations are counted as the tensors each block keeps for its backward pass, per token
 * (h = hidden size, ff = MLP width, a = query heads, hd = head size, s = sequence length):
 *   GPT-2 / BERT block: norm in + out (2h), q, k, v (3h), scores + softmax (2·a·s), context (h),
 *                       second norm in + out (2h), MLP in-projection + activation (2·ff)
 *                       = 8h + 2ff + 2as
 *   Llama block:        norms (4h), q, k, v after repeat (3·a·hd), rotated q, k (2·a·hd),
 *                       scores + softmax (2·a·s), context (a·hd), gate, up, silu(gate), product (4·ff)
 * plus the embedding output and the final norm (3h per token) and, for language modelling, the
 * logits and their gradient (2·V per token). Only blocks the gradient flows through keep
 * activations: all of them for full fine-tuning and LoRA (the update sits in every block), the
 * unfrozen ones when the first n blocks are frozen, none for a head on cached features.
 * The bench compares this estimate with measured peaks.
 */
import { expectedWeights, type HfConfig } from './config'
import { HF_LORA_TARGETS } from './hfModel'

export type PlanMethod = 'full' | 'freeze' | 'lora' | 'head'

export interface PlanInput {
  method: PlanMethod
  batch: number
  seq: number
  /** 'lm' adds the logits; 'classify' a head of `labels` outputs on pooled features. */
  task: 'lm' | 'classify'
  labels?: number
  optimizer?: 'adamw' | 'adam' | 'sgd'
  loraRank?: number
  /** Hugging Face module names (c_attn, q_proj, …); default: all of the family's. */
  loraTargets?: readonly string[]
  /** Blocks frozen from the bottom, for method 'freeze'. */
  frozenBlocks?: number
}

export interface MemoryPlan {
  params: number
  trainable: number
  weightsBytes: number
  gradBytes: number
  optimizerBytes: number
  activationBytes: number
  totalBytes: number
  /** The largest single tensor (a WebGPU storage-buffer binding must hold it). */
  largestTensorBytes: number
  largestTensor: string
}

const F32 = 4

function dims(cfg: HfConfig) {
  if (cfg.modelType === 'gpt2') return { h: cfg.nEmbd, ff: cfg.nInner, a: cfg.nHead, hd: cfg.nEmbd / cfg.nHead, layers: cfg.nLayer, vocab: cfg.vocabSize }
  if (cfg.modelType === 'llama') return { h: cfg.hiddenSize, ff: cfg.intermediateSize, a: cfg.numHeads, hd: cfg.headDim, layers: cfg.numLayers, vocab: cfg.vocabSize }
  return { h: cfg.hiddenSize, ff: cfg.intermediateSize, a: cfg.numHeads, hd: cfg.hiddenSize / cfg.numHeads, layers: cfg.numLayers, vocab: cfg.vocabSize }
}

/** Floats one block keeps per token for its backward pass (see the header). */
export function blockActivationsPerToken(cfg: HfConfig, seq: number): number {
  const { h, ff, a, hd } = dims(cfg)
  if (cfg.modelType === 'llama') return 4 * h + 3 * a * hd + 2 * a * hd + 2 * a * seq + a * hd + 4 * ff
  return 8 * h + 2 * ff + 2 * a * seq
}

/** Block index of a canonical weight name (-1 embeddings, layers = final norm / head). */
function blockOf(name: string, layers: number): number {
  const m = /(?:^|\.)(?:h|layers|layer)\.(\d+)\./.exec(name)
  if (m) return Number(m[1])
  return /embed|wte|wpe|embeddings/.test(name) ? -1 : layers
}

export function memoryPlan(cfg: HfConfig, p: PlanInput): MemoryPlan {
  const { h, layers, vocab } = dims(cfg)
  const weights = expectedWeights(cfg)
  let params = 0
  let largest = 0
  let largestName = ''
  for (const [name, shape] of weights) {
    const n = shape.reduce((x, y) => x * y, 1)
    params += n
    if (n > largest) [largest, largestName] = [n, name]
  }
  const labels = p.labels ?? 2
  const head = p.task === 'classify' ? labels * h + labels : 0
  let trainable = head
  let extra = head // weights the method adds (head, LoRA factors)
  let firstTrained = layers // first block whose activations are kept
  if (p.method === 'full') {
    trainable += params
    firstTrained = 0
  } else if (p.method === 'freeze') {
    const n = p.frozenBlocks ?? 0
    for (const [name, shape] of weights) if (blockOf(name, layers) >= n) trainable += shape.reduce((x, y) => x * y, 1)
    firstTrained = n
  } else if (p.method === 'lora') {
    const r = p.loraRank ?? 8
    const targets = new Set(p.loraTargets ?? HF_LORA_TARGETS[cfg.modelType])
    for (const [name, shape] of weights) {
      if (shape.length !== 2 || !name.endsWith('.weight')) continue
      const module = name.slice(0, -'.weight'.length)
      if (!targets.has(module.slice(module.lastIndexOf('.') + 1)) || blockOf(name, layers) < 0 || blockOf(name, layers) >= layers) continue
      const lora = r * (shape[0]! + shape[1]!) // in + out, whichever layout
      trainable += lora
      extra += lora
    }
    firstTrained = 0
  }
  const tokens = p.batch * p.seq
  const optimizerSlots = (p.optimizer ?? 'adamw') === 'sgd' ? 0 : 2
  let activations = 0
  if (firstTrained < layers) {
    activations += (layers - firstTrained) * blockActivationsPerToken(cfg, p.seq) * tokens
    activations += 3 * h * tokens // embedding output, final norm in + out
  }
  if (p.task === 'lm' && p.method !== 'head') activations += 2 * vocab * tokens
  const logitsFloats = p.task === 'lm' ? vocab * tokens : 0
  if (logitsFloats > largest) [largest, largestName] = [logitsFloats, 'logits']
  const weightsBytes = (params + extra) * F32
  const gradBytes = trainable * F32
  const optimizerBytes = optimizerSlots * trainable * F32
  const activationBytes = activations * F32
  return {
    params,
    trainable,
    weightsBytes,
    gradBytes,
    optimizerBytes,
    activationBytes,
    totalBytes: weightsBytes + gradBytes + optimizerBytes + activationBytes,
    largestTensorBytes: largest * F32,
    largestTensor: largestName,
  }
}

export interface FitSuggestion {
  change: string
  input: PlanInput
  totalBytes: number
}

/** Settings close to `p` that fit in `budgetBytes`, cheapest change first: LoRA instead of full
 *  fine-tuning, then halving the batch, then halving the sequence (down to 1 and 32). */
export function settingsThatFit(cfg: HfConfig, p: PlanInput, budgetBytes: number): FitSuggestion[] {
  const out: FitSuggestion[] = []
  const tryInput = (change: string, input: PlanInput) => {
    const t = memoryPlan(cfg, input).totalBytes
    if (t <= budgetBytes) out.push({ change, input, totalBytes: t })
    return t <= budgetBytes
  }
  if (p.method === 'full' || p.method === 'freeze') tryInput('use LoRA (rank 8)', { ...p, method: 'lora', loraRank: p.loraRank ?? 8 })
  for (let b = Math.floor(p.batch / 2); b >= 1; b = Math.floor(b / 2)) if (tryInput(`batch size ${b}`, { ...p, batch: b })) break
  for (let s = Math.floor(p.seq / 2); s >= 32; s = Math.floor(s / 2)) if (tryInput(`sequence length ${s}`, { ...p, seq: s })) break
  return out
}
