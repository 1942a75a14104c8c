import type { FromWorker } from '../worker/protocol'
import { exportForOtherWeights, freshExport as fresh, type ExportState } from './parts'
export type { ExportState } from './parts'
import { saveBlob } from './download'
import { sliceHook } from './sliceHook'
import { runActive, useStudio } from './store'

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

/** Another model has loaded (the worker's 'model' event with `loaded`), or an adapter-only
 *  import or this page's run set the weights back to the base ('weightsReset'): what described the
 *  weights before it goes, so that nothing offers to export, blend or report them: the record of
 *  a studio .zip's or a PEFT adapter's import (with what it opened: Export, the interpolation),
 *  the α, sweep and best α, and a finished run's result and evaluation. The run's charts stay:
 *  they are its history (Checkpoints and runs keeps it too). A load that fails leaves it all. */
export function forgetWeights(): void {
  useStudio.setState((st) => ({
    exporting: exportForOtherWeights(st.exporting),
    ...(runActive(st.status) ? {} : { result: null, baseline: null, lastVal: null }),
  }))
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
