import type { DataEvent } from '../worker/dataProtocol'
export type { DatasetsState } from './parts'
import { sliceHook } from './sliceHook'

export const useDatasets = sliceHook('datasets')

export function onDataEvent(e: DataEvent): void {
  if (e.type === 'datasets') useDatasets.setState({ stored: e.list, currentId: e.currentId, usage: e.usage ?? null })
  else useDatasets.setState({ augment: { size: e.size, samples: e.samples, note: e.note } })
}
