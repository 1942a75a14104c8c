/** What a model is, as the rest of the studio sees it: the task it is trained for, what it
 *  reads, its layers and its limits. */
import type { Method } from '../../settings/types'

export type TaskKind = 'text-classification' | 'text-regression' | 'tabular-classification' | 'tabular-regression' | 'language-modelling' | 'image-classification'

export interface LayerSummary {
  name: string
  type: string
  block: number
  outputShape: string
  params: number
  trainable: boolean
}

export interface ModelInput {
  kind: 'text' | 'image' | 'tabular'
  shape: string // e.g. "[B, 224, 224, 3]"
  description: string // e.g. "224×224 RGB images, pixels scaled to [-1, 1]"
  features?: string[] // tabular: the feature columns, in input order
  typical?: number[] // tabular: a typical value per feature (training means), to start a row from
}

/** What a model allows, declared by the engine and sent with the model (ModelSummary.limits),
 *  so the page checks settings against it as they change and the worker re-checks with the
 *  same rules (settings/validate.ts). */
export interface ModelLimits {
  nLayers: number // blocks the freezing settings count
  width: number // width of the layers adapters attach to
  methods: readonly Method[] // how this model can train; the rest are refused on the Method control
  /** Why a method is not offered, in words for the Method control (absent: a plain refusal). */
  why?: Partial<Record<Method, string>>
  /** For each LoRA target the model has, the narrowest layer it wraps and the largest rank
   *  that layer allows (min(in, out) of its kernel). Empty when LoRA is not available. */
  lora: readonly { target: string; layer: string; maxRank: number }[]
  /** True when the LoRA targets setting picks among `lora` (the LM's qkv, proj, fc, out);
   *  false when LoRA always wraps all of them (the CNN's pointwise convs). */
  loraTargetsChosen: boolean
  maxSeqLen?: number // longest sequence the model's position table covers (text models)
}

/** A model as the page shows it: its card, layers, sizes, what it reads and what it allows. */
export interface ModelSummary {
  id: string
  title: string
  description: string
  pretrained: boolean
  /** The base model these weights were fine-tuned from, when the file says so (a studio merged
   *  export loaded back); absent for a model as published. */
  finetunedFrom?: string
  card?: Record<string, unknown>
  layers: LayerSummary[]
  totalParams: number
  trainableParams: number
  nLayers: number
  dModel: number
  seqLen: number
  vocabSize: number
  /** What the model reads, for the panel and the playground (absent: TinyGpt text). */
  input?: ModelInput
  /** What the model allows (methods, LoRA rank per target, context length): the page checks
   *  settings against it as they change (settings/validate.ts). Absent for the tabular MLP,
   *  whose method is fixed. */
  limits?: ModelLimits
}

/** The parameter counts and refusals for a set of settings, before anything trains. */
export interface SettingsPlan {
  trainableParams: number
  totalParams: number
  problems: { field: string; message: string }[]
  /** What one epoch steps over (rows, or token windows for language modelling), when known. */
  trainExamples?: number
}
