/** The dataset part of the worker protocol (protocol.ts includes these unions): stored
 *  datasets, roles, a separate validation file, image sets and augmentation previews. */
import type { HistogramBin, SplitSummary } from '../engine/data/datasetPreview'
import type { ImageSetInfo } from '../engine/data/images/types'
import type { TextLengthStats } from '../engine/data/types'

export type { HistogramBin, SplitSummary, TextLengthStats } // the Data panel's charts read these

/** Everything the Data panel shows beyond the basic summary. */
export interface DatasetDetails {
  kind: 'table' | 'images'
  /** Id in the browser's dataset storage; absent when it could not be saved. */
  storedId?: string
  /** Every column of the file, for the role selects. */
  allColumns: string[]
  roles: { text?: string; labels: string[]; features?: string[]; target?: string }
  lengthHistogram: HistogramBin[]
  targetHistogram?: HistogramBin[] // regression: the numeric target's spread
  lengths?: TextLengthStats
  split?: SplitSummary
  /** Why the current split cannot be made (such as a validation file with unknown classes). */
  splitError?: string
  images?: Omit<ImageSetInfo, 'labels'>
}

export interface StoredDatasetInfo {
  id: string
  name: string
  kind: 'table' | 'images'
  bytes: number
  rows: number
  task: string
  source: string
  lastUsedAt: number
  validationName?: string
}

export interface AugmentSample {
  label: string
  /** size × size RGBA of the image as loaded, then augmented. */
  original: Uint8ClampedArray
  augmented: Uint8ClampedArray
}

export type ImageUpload =
  | { kind: 'zip'; file: File }
  | { kind: 'files'; files: { path: string; file: File }[]; name: string }
  | { kind: 'url'; url: string; name: string }

export type DataCommand =
  | { type: 'loadValidation'; file: File }
  | { type: 'clearValidation' }
  | { type: 'setRoles'; roles: { text?: string; labels: string[]; features?: string[]; target?: string } }
  | { type: 'listDatasets' }
  | { type: 'selectDataset'; id: string }
  | { type: 'deleteDataset'; id: string }
  /** Opens the last used stored dataset, or loads the sample when there is none. */
  | { type: 'restoreDataset'; fallback: { url: string; name: string } }
  | { type: 'loadImages'; source: ImageUpload }
  /** A few images as training step `step` (0-based) would augment them, with the current
   *  settings' augmentation and seed (the same code and draws as the training loop). */
  | { type: 'augmentPreview'; count: number; size: number; step: number }
  /** Test hook: lower the size limits so tests need no 200 MB files. */
  | { type: 'setDataLimits'; maxBytes?: number; maxImageFiles?: number; maxImageBytes?: number }

export type DataEvent =
  | { type: 'datasets'; list: StoredDatasetInfo[]; currentId: string | null; usage?: { used: number; quota: number } }
  | { type: 'augmentPreview'; size: number; samples: AugmentSample[]; note: string }

export const DATA_COMMANDS = [
  'loadValidation',
  'clearValidation',
  'setRoles',
  'listDatasets',
  'selectDataset',
  'deleteDataset',
  'restoreDataset',
  'loadImages',
  'augmentPreview',
  'setDataLimits',
] as const satisfies readonly DataCommand['type'][]
