import { create } from 'zustand'
import type { ExportChoice, FromWorker, Metrics, SweepPoint } from '../worker/protocol'
import { saveBlob } from './download'
import { useStudio } from './store'

/** Interpolation, sweep, export and import: a small store of its own, like the playground's. */
export interface ExportState {
  alpha: number // the slider
  applied: { alpha: number; metrics: Metrics } | null // what the worker last applied and measured
  kept: number // α chosen with "Keep best α" (1 = the fine-tuned model)
  sweep: SweepPoint[]
  best: number | null
  pending: 'interpolate' | 'sweep' | 'export' | 'import' | null
  lastExport: { fileName: string; bytes: number; choice: ExportChoice } | null
  imported: { fileName: string; title: string; choice: ExportChoice; metrics: Metrics | null; note: string } | null
}

const fresh = (): Omit<ExportState, 'imported' | 'lastExport'> => ({ alpha: 1, applied: null, kept: 1, sweep: [], best: null, pending: null })

export const useExport = create<ExportState>()(() => ({ ...fresh(), lastExport: null, imported: null }))

// A new run starts from the tuned end again: forget the last run's α and sweep.
useStudio.subscribe((st, prev) => {
  if (st.runId !== prev.runId && st.runId !== null) useExport.setState(fresh())
})

export function beginExport(pending: NonNullable<ExportState['pending']>): void {
  useExport.setState({ pending })
}

export function endExportPending(): void {
  useExport.setState({ pending: null })
}

export function onExportEvent(e: Extract<FromWorker, { type: 'interpolation' | 'sweep' | 'exported' | 'imported' }>): void {
  switch (e.type) {
    case 'interpolation':
      useExport.setState({ applied: { alpha: e.alpha, metrics: e.metrics }, kept: e.kept, pending: null })
      break
    case 'sweep':
      useExport.setState({ sweep: e.points, best: e.best, pending: null })
      useStudio.setState({ busy: null })
      break
    case 'exported':
      saveBlob(new Blob([e.bytes], { type: 'application/zip' }), e.fileName)
      useExport.setState({ lastExport: { fileName: e.fileName, bytes: e.bytes.byteLength, choice: e.choice }, pending: null })
      useStudio.setState({ busy: null })
      break
    case 'imported':
      useExport.setState({ ...fresh(), imported: { fileName: e.fileName, title: e.title, choice: e.choice, metrics: e.metrics, note: e.note } })
      useStudio.setState({ busy: null })
      useStudio.getState().notify({ kind: 'info', text: `Loaded ${e.title} from ${e.fileName}.` })
      break
  }
}
