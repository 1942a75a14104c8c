import type { FromWorker } from '../worker/protocol'
import { freshExport as fresh, type ExportState } from './parts'
export type { ExportState } from './parts'
import { saveBlob } from './download'
import { sliceHook } from './sliceHook'
import { useStudio } from './store'

export const useExport = sliceHook('exporting')

export function beginExport(pending: NonNullable<ExportState['pending']>): void {
  useExport.setState({ pending })
}

export function endExportPending(): void {
  useExport.setState({ pending: null })
}

/** A long export task ended: its result, nothing pending and the busy bar cleared, in one update. */
function done(patch: Partial<ExportState>): void {
  useStudio.setState((st) => ({ exporting: { ...st.exporting, ...patch, pending: null }, busy: null }))
}

/** Another model has loaded (the worker's 'model' event with `loaded`): the record of a studio
 *  .zip's or a PEFT adapter's import belongs to the model before it, so it goes, and with it
 *  what it opened (Export, the interpolation). A load that fails leaves it. */
export function forgetImport(): void {
  if (useExport.getState().imported !== null) useExport.setState({ imported: null })
}

export function onExportEvent(e: Extract<FromWorker, { type: 'interpolation' | 'sweep' | 'exported' | 'imported' }>): void {
  switch (e.type) {
    case 'interpolation':
      useExport.setState({ applied: { alpha: e.alpha, metrics: e.metrics }, kept: e.kept, pending: null })
      break
    case 'sweep':
      done({ sweep: e.points, best: e.best })
      break
    case 'exported':
      saveBlob(new Blob([e.bytes], { type: 'application/zip' }), e.fileName)
      done({ lastExport: { fileName: e.fileName, bytes: e.bytes.byteLength, choice: e.choice } })
      break
    case 'imported':
      done({ ...fresh(), imported: { fileName: e.fileName, title: e.title, choice: e.choice, metrics: e.metrics, note: e.note } })
      useStudio.getState().notify({ kind: 'info', text: `Loaded ${e.title} from ${e.fileName}.` })
      break
  }
}
