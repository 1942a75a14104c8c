/** What a model is, as the rest of the studio sees it: the task it is trained for, what it
 *  reads, and its layers. */

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
