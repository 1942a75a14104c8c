import type { TrainingReport } from '../../shared/report'
import { useExport } from '../../state/exportState'
import { useStudio } from '../../state/store'

/** The training report's facts, gathered from what the page already shows. */
export function reportFromStore(): TrainingReport {
  const st = useStudio.getState()
  const ex = useExport.getState()
  const d = st.dataset
  const m = st.model
  return {
    title: `Fine-tuning report: ${m?.title ?? 'model'} on ${d?.name ?? 'data'}`,
    date: new Date().toISOString(),
    link: typeof location === 'undefined' ? null : location.href,
    baseModel: m ? { id: m.id, title: m.title, params: m.totalParams } : null,
    dataset: d ? { name: d.name, source: d.source, task: d.task, rows: d.rows, rejected: d.rejected, classes: d.classes } : null,
    settings: st.settings,
    outcome: st.result ? { reason: st.result.reason, message: st.result.message, epochs: st.result.summary.epochs, bestEpoch: st.result.summary.bestEpoch, seconds: st.result.summary.seconds } : null,
    metrics: { base: st.baseline?.metrics ?? null, baseName: st.baseline?.name ?? null, tuned: st.result?.summary.best ?? st.lastVal },
    series: { steps: st.steps.map((p) => ({ step: p.step, loss: p.loss })), epochs: st.epochs, sweep: ex.sweep },
  }
}
