/** The engine's typed view of every setting. The schema (schema.ts) declares each key once
 *  with its default, range, help text and URL short name; this type mirrors it. */
export type Method = 'full' | 'freeze' | 'head' | 'lora' | 'adapter' | 'custom'
export type OptimizerKind = 'adamw' | 'adam' | 'sgd'
export type Schedule = 'constant' | 'linear' | 'cosine' | 'step'
export type BackendChoice = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu'
export type MonitorMetric = 'val_loss' | 'val_acc'
/** How a Hugging Face encoder's token states become one vector for a head: 'auto' = as the
 *  checkpoint says (mean for a sentence-transformers encoder, else [CLS]). */
export type PoolingChoice = 'auto' | 'cls' | 'mean'

export interface Settings {
  // method
  method: Method // how much of the network trains
  freezeFirst: number // 'freeze': number of blocks (from the input side) kept frozen
  frozenBlocks: string // 'custom': frozen units, e.g. "emb,0-1,norm" (settings/frozenBlocks.ts)
  unfreezeEvery: number // gradual unfreezing: unfreeze one more block every K epochs (0 = off)
  headFirstEpochs: number // two-stage: epochs training the head alone before unfreezing (0 = off)
  loraRank: number
  loraAlpha: number
  loraDropout: number
  loraTargets: string // comma list of projection kinds: qkv,proj,fc,out
  adapterSize: number // bottleneck width of adapters
  pooling: PoolingChoice // Hugging Face encoders: what a classification/regression head reads (HfBody.pool)
  // optimisation
  learningRate: number
  batchSize: number
  epochs: number
  optimizer: OptimizerKind
  momentum: number // SGD momentum
  weightDecay: number // decoupled (AdamW) weight decay
  schedule: Schedule
  warmupSteps: number
  stepEvery: number // 'step' schedule: epochs between decays
  stepGamma: number // 'step' schedule: factor per decay
  plateauPatience: number // reduce-on-plateau: epochs without improvement before halving LR (0 = off)
  clipNorm: number // clip gradients by global norm (0 = off)
  accumSteps: number // micro-batches per optimizer step
  recompute: boolean // Hugging Face bodies: recompute each block in the backward pass (engine/hf/recompute.ts)
  dropout: number // dropout in the body (training only) and on new heads
  labelSmoothing: number
  taskWeights: string // multitask: loss weight per label column, e.g. "1,0.5" ('' = all 1)
  // image augmentation of training batches (engine/data/images/augment.ts)
  augFlip: boolean // random horizontal flips (half the images)
  augShift: number // random crop of at least 1 − augShift of the side, resized back (0 = off)
  augRotate: number // random rotation up to ± this many degrees (0 = off)
  augColor: number // brightness, contrast and saturation jitter, relative (0 = off)
  // validation
  valSplit: number // fraction held out for validation
  earlyStopPatience: number // epochs without improvement before stopping (0 = off)
  monitor: MonitorMetric
  restoreBest: boolean // restore the best weights when training ends
  keepLast: number // checkpoints: keep the last K epochs' checkpoints (older ones are deleted)
  keepBest: boolean // checkpoints: also keep the best epoch's checkpoint
  seed: number
  seqLen: number // tokens per example (text models)
  // environment
  backend: BackendChoice
}
