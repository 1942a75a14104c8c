import type { TrainingReport } from '../../shared/report'
import { useExport } from '../../state/exportState'
import { currentLmRun, objectiveWords } from '../../state/lmObjectives'
import { useStudio } from '../../state/store'

/** The training report's facts, gathered from what the page already shows. */
export function reportFromStore(): TrainingReport {
  const st = useStudio.getState()
  const ex = useExport.getState()
  const d = st.dataset
  const m = st.model
  // A run of the objectives panel trained on its own file, not on step 1's dataset.
  const lm = currentLmRun()
  return {
    title: `Fine-tuning report: ${m?.title ?? 'model'} on ${lm?.file ?? d?.name ?? 'data'}`,
    date: new Date().toISOString(),
    link: typeof location === 'undefined' ? null : location.href,
    baseModel: m ? { id: m.id, title: m.title, params: m.totalParams } : null,
    dataset: lm
      ? { name: lm.file, source: lm.validation ? `file; held out: ${lm.validation.file}` : 'file', task: objectiveWords(lm.objective), rows: lm.rows, rejected: lm.rejected, classes: [] }
      : d
        ? { name: d.name, source: d.source, task: d.task, rows: d.rows, rejected: d.rejected, classes: d.classes }
        : null,
    settings: st.settings,
    ...(lm ? { objective: { kind: objectiveWords(lm.objective), options: lm.options } } : {}),
    outcome: st.result ? { reason: st.result.reason, message: st.result.message, epochs: st.result.summary.epochs, bestEpoch: st.result.summary.bestEpoch, seconds: st.result.summary.seconds } : null,
    metrics: { base: st.baseline?.metrics ?? null, baseName: st.baseline?.name ?? null, tuned: st.result?.summary.best ?? st.lastVal },
    series: { steps: st.steps.map((p) => ({ step: p.step, loss: p.loss })), epochs: st.epochs, sweep: ex.sweep },
  }
}
