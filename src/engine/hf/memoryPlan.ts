/**
 * How much memory a training run on a Hugging Face body will need, before it starts, for a
 * method, batch and sequence length. All float32 (tfjs has no half-precision tensors).
 *
 * The peak of a step is the resident part (weights, the method's extra weights, the optimizer's
 * moments) plus the larger of two phases:
 *   - backward: what TensorFlow.js's tape holds until the gradients are done (every op's output
 *     that a gradient needs, the engine's copy of each saved tensor, the LoRA deltas) plus the
 *     gradients; full fine-tuning adds the embedding table's gradient pieces;
 *   - update: the gradients plus the optimizer's scratch for one variable at a time (measured:
 *     about 6 tensors of the variable's size for AdamW, src/engine/train/optimizers.ts freeing
 *     each stage's temporaries; SGD's 6 is an estimate, not measured), so the largest
 *     trainable tensor (GPT-2's embedding) sets it.
 * The activation coefficients are measured, not derived: tf.profile() peak bytes of one LoRA and
 * one full step (the studio's AdamW, logSoftmax·one-hot loss) on the wasm backend, tfjs 4.22,
 * over 41 shapes of GPT-2, Llama and BERT (1–3 blocks, hidden 128–512, MLP 256–2048, vocabulary
 * 4k–16k, 16–256 tokens), fitted per token and block (h = hidden size, ff = MLP width, a = query
 * heads, s = sequence length, V = vocabulary); the plan is within 6 % of each measured peak
 * (the cpu backend measures the same bytes):
 *   per block and token: 116·h + 30·ff + 12.4·a·s;  per block: h² (a transposed kernel copy)
 *   per token: 20·h (embeddings, final norm), and for language modelling 15·V (logits,
 *   log-softmax, one-hot, their gradients and copies)
 *   full fine-tuning: + 3.7·V·h (the embedding's scatter-add and the tied head's gradient)
 *   full / freeze: + 1.2 × the trained blocks' weights (the copies the tape saves)
 * That is an order of magnitude above the tensors a block strictly needs (8h + 2ff + 2as for
 * GPT-2): the tape keeps every intermediate. bench/node/hfBench.ts prints plan beside measured.
 *
 * Recomputing blocks (`recompute`, hf/recompute.ts) keeps one block's tape and weight copies at
 * a time and 1·h per token for each other trained block's input. Measured the same way
 * (`bench/node/hfMemoryFit.ts --recompute`, wasm, 9 shapes): the plan is 4 % under to 13 %
 * over the peak; it over-counts full fine-tuning, whose recomputed block no longer overlaps the
 * logits' gradients. On those shapes the peak fell 9–26 % (vocabulary terms dominate them);
 * on GPT-2 124M at 8 × 256 tokens the plan's activations fall from 28.9 GB to 8.8 GB.
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
  /** Blocks recomputed in the backward pass (the `recompute` setting, hf/recompute.ts). */
  recompute?: boolean
}

export interface MemoryPlan {
  params: number
  trainable: number
  weightsBytes: number
  gradBytes: number
  optimizerBytes: number
  /** What the tape holds for the backward pass (see the header). */
  activationBytes: number
  /** The optimizer's scratch for its largest variable. */
  updateScratchBytes: number
  /** Which phase of the step sets the peak. */
  peakPhase: 'backward' | 'update'
  /** The step's peak: weights + moments + the larger phase. */
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

/** Measured coefficients (see the header). */
export const TAPE = {
  perTokenHidden: 116,
  perTokenMlp: 30,
  perTokenScore: 12.4,
  perTokenEmbedding: 20,
  perTokenVocab: 15,
  fullEmbeddingGrads: 3.7,
  /** Full / freeze: copies of the trained blocks' weights the tape saves for their gradients. */
  trainedBlockCopies: 1.2,
  /** Recomputed blocks: floats per token and hidden unit each block's saved input costs. */
  recomputedInputPerToken: 1,
  /** Temporaries of one variable's size while the optimizer updates it. */
  adamScratch: 6,
  sgdScratch: 6,
} as const

/** Floats the tape holds per token for one block the gradient flows through (see the header). */
export function blockActivationsPerToken(cfg: HfConfig, seq: number): number {
  const { h, ff, a } = dims(cfg)
  return TAPE.perTokenHidden * h + TAPE.perTokenMlp * ff + TAPE.perTokenScore * a * seq
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
  let largestTrainable = head ? labels * h : 0
  let firstTrained = layers // first block whose activations are kept
  let trainedBlockWeights = 0 // full / freeze: weights inside the trained blocks
  if (p.method === 'full') {
    for (const [name, shape] of weights) if (blockOf(name, layers) >= 0 && blockOf(name, layers) < layers) trainedBlockWeights += shape.reduce((x, y) => x * y, 1)
    trainable += params
    largestTrainable = Math.max(largestTrainable, largest)
    firstTrained = 0
  } else if (p.method === 'freeze') {
    const n = p.frozenBlocks ?? 0
    for (const [name, shape] of weights) {
      if (blockOf(name, layers) < n) continue
      const size = shape.reduce((x, y) => x * y, 1)
      trainable += size
      if (blockOf(name, layers) < layers) trainedBlockWeights += size
      largestTrainable = Math.max(largestTrainable, size)
    }
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
      largestTrainable = Math.max(largestTrainable, r * Math.max(shape[0]!, shape[1]!))
    }
    firstTrained = 0
  }
  const tokens = p.batch * p.seq
  const optimizer = p.optimizer ?? 'adamw'
  const optimizerSlots = optimizer === 'sgd' ? 0 : 2
  let activations = 0
  const trainedBlocks = layers - firstTrained
  // Recomputing blocks (hf/recompute.ts): the tape keeps each trained block's input, and one
  // block's intermediates (and kernel copies) exist at a time, while its backward pass runs.
  const tapedBlocks = p.recompute ? Math.min(trainedBlocks, 1) : trainedBlocks
  if (trainedBlocks > 0) {
    activations += tapedBlocks * (blockActivationsPerToken(cfg, p.seq) * tokens + h * h)
    activations += (trainedBlocks - tapedBlocks) * TAPE.recomputedInputPerToken * h * tokens
    activations += TAPE.perTokenEmbedding * h * tokens
  }
  if (p.task === 'lm' && p.method !== 'head') activations += TAPE.perTokenVocab * vocab * tokens
  if (p.task === 'classify') activations += 10 * p.batch * (h + labels) // pooled features, head logits
  if (p.method === 'full') activations += TAPE.fullEmbeddingGrads * vocab * h
  activations += TAPE.trainedBlockCopies * (trainedBlocks > 0 ? (trainedBlockWeights * tapedBlocks) / trainedBlocks : trainedBlockWeights)
  const logitsFloats = p.task === 'lm' ? vocab * tokens : 0
  if (logitsFloats > largest) [largest, largestName] = [logitsFloats, 'logits']
  const weightsBytes = (params + extra) * F32
  const gradBytes = trainable * F32
  const optimizerBytes = optimizerSlots * trainable * F32
  const activationBytes = activations * F32
  const updateScratchBytes = (optimizer === 'sgd' ? TAPE.sgdScratch : TAPE.adamScratch) * largestTrainable * F32
  const backward = activationBytes + gradBytes
  const update = gradBytes + updateScratchBytes
  return {
    params,
    trainable,
    weightsBytes,
    gradBytes,
    optimizerBytes,
    activationBytes,
    updateScratchBytes,
    peakPhase: backward >= update ? 'backward' : 'update',
    totalBytes: weightsBytes + optimizerBytes + Math.max(backward, update),
    largestTensorBytes: largest * F32,
    largestTensor: largestName,
  }
}

export interface FitSuggestion {
  change: string
  input: PlanInput
  totalBytes: number
}

/** Settings close to `p` that fit in `budgetBytes`, cheapest change first: recomputing blocks
 *  (the same run, slower), LoRA instead of full fine-tuning or freezing, then the largest batch (halving) that fits, then the longest sequence
 *  (halving, down to 32), then LoRA with the largest batch that fits. */
export function settingsThatFit(cfg: HfConfig, p: PlanInput, budgetBytes: number): FitSuggestion[] {
  const out: FitSuggestion[] = []
  const tryInput = (change: string, input: PlanInput) => {
    const t = memoryPlan(cfg, input).totalBytes
    if (t <= budgetBytes) out.push({ change, input, totalBytes: t })
    return t <= budgetBytes
  }
  // the same run, recomputing blocks in the backward pass: same numbers, more compute
  if (!p.recompute && p.method !== 'head') tryInput('turn on Recompute activations', { ...p, recompute: true })
  const toLora = p.method === 'full' || p.method === 'freeze'
  const lora: PlanInput = { ...p, method: 'lora', loraRank: p.loraRank ?? 8 }
  const loraFits = toLora && tryInput(`use LoRA (rank ${lora.loraRank})`, lora)
  for (let b = Math.floor(p.batch / 2); b >= 1; b = Math.floor(b / 2)) if (tryInput(`batch size ${b}`, { ...p, batch: b })) break
  for (let s = Math.floor(p.seq / 2); s >= 32; s = Math.floor(s / 2)) if (tryInput(`sequence length ${s}`, { ...p, seq: s })) break
  if (toLora && !loraFits) for (let b = Math.floor(p.batch / 2); b >= 1; b = Math.floor(b / 2)) if (tryInput(`use LoRA (rank ${lora.loraRank}) with batch size ${b}`, { ...lora, batch: b })) break
  return out
}
