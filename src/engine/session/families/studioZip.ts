/** The studio's own export (modelZip.ts) for a held model: its card facts from the session,
 *  its weights in its family's format. The text and image families leave this way. */
import { buildModelZip } from '../../export/modelZip'
import type { ExportCard } from '../../export/modelCard'
import type { TuningJson } from '../../export/tuningPack'
import { classesOf, type ExportRequest, type HeldModel } from '../family'

export async function studioZip(held: HeldModel, r: ExportRequest, task: TuningJson['task'], serialize: (card: ExportCard) => Promise<{ json: unknown; weights: ArrayBuffer }>) {
  const tuning = held.tuning!
  const val = held.validationSplit
  const measured = r.choice === 'interpolated' ? await r.measureAt(r.alpha) : null
  return buildModelZip({
    choice: r.choice,
    alpha: r.alpha,
    body: held.body,
    serialize,
    baseCard: held.card,
    base: held.base!,
    tuning,
    blend: r.blend(),
    task,
    classes: val ? classesOf(val) : null,
    facts: {
      baseModel: { id: held.summary.id, title: held.summary.title },
      dataset: r.data ? { name: r.data.name, source: r.data.source, task: r.data.task, rows: r.data.rows, classes: r.data.classes } : null,
      settings: tuning.settings,
      metrics: { base: r.metrics.base, baseName: r.metrics.baseName ?? null, tuned: r.metrics.tuned, exported: measured ?? (r.choice === 'interpolated' ? null : r.metrics.tuned) },
      date: new Date().toISOString(),
    },
    onProgress: r.onProgress,
  })
}
