import { create } from 'zustand'
import type { AugmentSample, DataEvent, StoredDatasetInfo } from '../worker/dataProtocol'

/** Datasets kept in this browser and the augmentation preview, as the worker reports them. */
export interface DatasetsState {
  stored: StoredDatasetInfo[]
  currentId: string | null
  usage: { used: number; quota: number } | null
  augment: { size: number; samples: AugmentSample[] } | null
}

export const useDatasets = create<DatasetsState>()(() => ({ stored: [], currentId: null, usage: null, augment: null }))

export function onDataEvent(e: DataEvent): void {
  if (e.type === 'datasets') useDatasets.setState({ stored: e.list, currentId: e.currentId, usage: e.usage ?? null })
  else useDatasets.setState({ augment: { size: e.size, samples: e.samples } })
}
