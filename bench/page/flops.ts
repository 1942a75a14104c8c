/** Analytic FLOP counts for one TinyGpt classification training step, per sample.
 *
 * Counting rules (only matrix products are counted; layer norm, softmax, GELU, adds and
 * the optimizer update are left out, so achieved GFLOP/s is a slight under-estimate):
 *  - a product of [m, k] by [k, n] costs 2·m·k·n forward;
 *  - backward, a product costs one more 2·m·k·n for the weight gradient when that weight
 *    trains, and one more for the input gradient when its input depends on a trained
 *    weight (tfjs prunes the tape to paths from the trained variables, so frozen layers
 *    below every trained one cost only their forward pass, and frozen layers above one
 *    cost forward + input gradient = ×2). Fully trained layers therefore cost ×3;
 *  - the embedding is a lookup, its gradient a scatter-add (src/engine/models/embeddingLookup.ts):
 *    no product, so it counts nothing (until 2026-12-06 it was a one-hot [T, V]·[V, D]
 *    product counted as 2·T·V·D, ×2 when the table trained: figures before then include it);
 *  - attention: Q·Kᵀ and P·V cost 2·T·T·D each per sample (all heads together, the causal
 *    mask does not skip work), ×3 when gradients flow through them;
 *  - blocks the loop caches (frozen prefix, or all of the body for head-only) cost nothing
 *    per step: they run once per example per run, counted separately as `cacheOnce`.
 */
export interface GptShape {
  vocabSize: number
  dModel: number
  nLayers: number
  dFF: number
}

export interface StepPlan {
  /** Blocks whose own weights train (-1 = embeddings, nLayers = final norm). */
  trainableBlocks: Set<number>
  /** Leading blocks served from the loop's cache; nLayers + pooled = the whole body. */
  cachedBlocks: number
  pooled: boolean
  /** LoRA rank per targeted projection kind ('attn.qkv' …), applied in `loraBlocks`. */
  lora?: { rank: number; targets: string[]; blocks: number[] }
}

export interface FlopCount {
  perSampleStep: number // forward + backward FLOPs of one training step, per sample
  perSampleForward: number // forward only of the full model (inference), per sample
  cacheOnce: number // one-off forward FLOPs per sample to fill the cache
}

export function countFlops(c: GptShape, seqLen: number, classes: number, plan: StepPlan): FlopCount {
  const T = seqLen
  const { dModel: D, dFF: F, nLayers: L } = c
  let step = 0
  let cache = 0
  let forwardAll = 0
  let flows = false // does the activation entering the next op depend on a trained weight?

  /** A product with a weight of shape [k, n] applied to T rows (or 1 row for the head). */
  const linear = (rows: number, k: number, n: number, trains: boolean, inCache: boolean, inputNeedsNoGrad = false) => {
    const f = 2 * rows * k * n
    forwardAll += f
    if (inCache) {
      cache += f
      return
    }
    step += f * (1 + (trains ? 1 : 0) + (flows && !inputNeedsNoGrad ? 1 : 0))
    if (trains) flows = true
  }
  const attention = (inCache: boolean) => {
    const f = 2 * (2 * T * T * D)
    forwardAll += f
    if (inCache) cache += f
    else step += f * (flows ? 3 : 1)
  }

  // The embedding is a lookup: no FLOPs, but gradients flow from it when its tables train.
  if (plan.trainableBlocks.has(-1)) flows = true
  const proj = (i: number, name: string, k: number, n: number, inCache: boolean) => {
    const trains = plan.trainableBlocks.has(i)
    const lora = plan.lora && plan.lora.blocks.includes(i) && plan.lora.targets.includes(name) ? plan.lora.rank : 0
    const before = flows
    linear(T, k, n, trains, inCache)
    if (lora && !inCache) {
      flows = before
      linear(T, k, lora, true, false) // x·A
      linear(T, lora, n, true, false) // (x·A)·B
      flows = true
    }
  }
  for (let i = 0; i < L; i++) {
    const inCache = plan.pooled || i < plan.cachedBlocks
    if (plan.trainableBlocks.has(i) && !inCache) flows = true // ln1 gamma/beta train
    proj(i, 'attn.qkv', D, 3 * D, inCache)
    attention(inCache)
    proj(i, 'attn.proj', D, D, inCache)
    proj(i, 'mlp.fc', D, F, inCache)
    proj(i, 'mlp.out', F, D, inCache)
  }
  if (plan.trainableBlocks.has(L) && !plan.pooled) flows = true
  // Mean pooling is not a product; the head is one [D, C] dense layer on one row per sample.
  const headF = 2 * D * classes
  forwardAll += headF
  step += headF * (2 + (flows ? 1 : 0))
  return { perSampleStep: step, perSampleForward: forwardAll, cacheOnce: cache }
}

/** FLOPs of one square n×n matmul. */
export const matmulFlops = (n: number) => 2 * n * n * n

export interface CnnShape {
  imageSize: number
  stemChannels: number
  blocks: { channels: number; stride: 1 | 2 }[]
}

/** The same rules for one TinyCnn classification training step, per image. The 3×3 stem is an
 *  im2col product [S², 27]·[27, C] at full resolution (then a 2×2 average pool); a block is a
 *  depthwise 3×3 (9 multiply-adds per output value, counted as 2·9·H·W·C like a product) and a
 *  pointwise [H·W, Cin]·[Cin, Cout] product, with LoRA's two thin products beside it. */
export function countCnnFlops(c: CnnShape, classes: number, plan: StepPlan): FlopCount {
  let step = 0
  let cache = 0
  let forwardAll = 0
  let flows = false
  const op = (f: number, trains: boolean, inCache: boolean, inputNeedsNoGrad = false) => {
    forwardAll += f
    if (inCache) {
      cache += f
      return
    }
    step += f * (1 + (trains ? 1 : 0) + (flows && !inputNeedsNoGrad ? 1 : 0))
    if (trains) flows = true
  }
  const embCached = plan.cachedBlocks > 0 || plan.pooled
  let side = c.imageSize
  op(2 * side * side * 27 * c.stemChannels, plan.trainableBlocks.has(-1), embCached, true)
  side /= 2
  let cin = c.stemChannels
  c.blocks.forEach((b, i) => {
    const inCache = plan.pooled || i < plan.cachedBlocks
    const trains = plan.trainableBlocks.has(i)
    if (b.stride === 2) side /= 2
    const hw = side * side
    op(2 * 9 * hw * cin, trains, inCache)
    const before = flows
    op(2 * hw * cin * b.channels, trains, inCache)
    const rank = plan.lora && plan.lora.blocks.includes(i) && plan.lora.targets.includes('pw') ? plan.lora.rank : 0
    if (rank && !inCache) {
      const after = flows
      flows = before
      op(2 * hw * cin * rank, true, false)
      op(2 * hw * rank * b.channels, true, false)
      flows = after || true
    }
    if (trains && !inCache) flows = true // the block's norm gamma/beta train
    cin = b.channels
  })
  if (plan.trainableBlocks.has(c.blocks.length) && !plan.pooled) flows = true
  const headF = 2 * cin * classes
  forwardAll += headF
  step += headF * (2 + (flows ? 1 : 0))
  return { perSampleStep: step, perSampleForward: forwardAll, cacheOnce: cache }
}
