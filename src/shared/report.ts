import type { Settings } from '../settings/types'
import type { Metrics } from '../engine/types/metrics'
import { escapeHtml } from './escapeHtml'
import { lineChartSvg } from './svgChart'
import { headlineFor } from './headlineMetric'
import { formatPerplexity } from '../format/format'

export { escapeHtml }

/** A training report: everything needed to judge and repeat a run, as JSON and as a
 *  self-contained printable HTML page (inline SVG charts, no scripts, no external files). */
export interface TrainingReport {
  title: string
  date: string
  link: string | null // the settings link that reproduces the run
  baseModel: { id: string; title: string; params: number } | null
  dataset: { name: string; source: string; task: string; rows: number; rejected: number; classes: { name: string; count: number }[] } | null
  settings: Settings
  /** An objectives-panel run (instruction or preference tuning, learning without labels): what
   *  it was and what it trained with beyond the settings (DPO's beta, …); absent for other runs. */
  objective?: { kind: string; options: Record<string, number | boolean | string> }
  outcome: { reason: string; message: string; epochs: number; bestEpoch: number; seconds: number } | null
  metrics: { base: Metrics | null; tuned: Metrics | null; baseName?: string | null } // baseName: what the line to beat is
  series: {
    steps: { step: number; loss: number }[]
    epochs: { epoch: number; trainLoss: number; valLoss: number; valAcc?: number; valPpl?: number; valRmse?: number }[]
    sweep: { alpha: number; loss: number; accuracy?: number; perplexity?: number; rmse?: number }[]
  }
}


export function reportJson(r: TrainingReport): string {
  return JSON.stringify({ format: 'studio-report', version: 1, ...r }, null, 2)
}

const pct = (x?: number) => (x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`)
const num = (x?: number, d = 3) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d))

export function reportHtml(r: TrainingReport): string {
  const e = escapeHtml
  const isLm = r.metrics.base?.perplexity !== undefined || r.metrics.tuned?.perplexity !== undefined
  const headline = headlineFor(null, r.metrics.tuned ?? r.metrics.base)
  const metricRows: [string, (m: Metrics) => string][] = headline.key === 'valRmse'
    ? [
        ['Loss (standardised MSE)', (m) => num(m.loss)],
        ['MAE', (m) => headline.format(m.mae)],
        ['RMSE', (m) => headline.format(m.rmse)],
      ]
    : isLm
    ? [
        ['Loss', (m) => num(m.loss)],
        ['Perplexity', (m) => formatPerplexity(m.perplexity, 2)],
      ]
    : [
        ['Loss', (m) => num(m.loss)],
        ['Accuracy', (m) => pct(m.accuracy)],
        ['Macro-F1', (m) => num(m.macroF1)],
      ]
  const cell = (m: Metrics | null, f: (m: Metrics) => string) => (m ? f(m) : '–')
  const settingsRows = Object.entries(r.settings)
    .map(([k, v]) => `<tr><th scope="row">${e(k)}</th><td>${e(v)}</td></tr>`)
    .join('')
  const lossChart = lineChartSvg({
    title: 'Training loss by step',
    xLabel: 'step',
    series: [{ name: 'train loss', color: '#2563eb', points: r.series.steps.map((p) => [p.step, p.loss]) }],
  })
  const valChart = lineChartSvg({
    title: `Validation ${headline.name} and loss by epoch`,
    xLabel: 'epoch',
    series: [
      { name: `val ${headline.name}`, color: '#16a34a', points: r.series.epochs.flatMap((p) => (p[headline.key] === undefined ? [] : [[p.epoch, p[headline.key]!] as [number, number]])) },
      { name: 'val loss', color: '#dc2626', points: r.series.epochs.map((p) => [p.epoch, p.valLoss]) },
      { name: 'train loss', color: '#2563eb', points: r.series.epochs.map((p) => [p.epoch, p.trainLoss]) },
    ],
  })
  const sweepChart = r.series.sweep.length
    ? lineChartSvg({
        title: `Validation ${headline.name} against interpolation α`,
        xLabel: 'α',
        series: [{ name: headline.name, color: '#7c3aed', points: r.series.sweep.map((p) => [p.alpha, headline.of(p) ?? NaN]) }],
      })
    : ''
  const d = r.dataset
  const unit = d?.task === 'image-classification' ? 'images' : 'rows' // an image set counts pictures
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${e(r.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#111}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left}
.muted{color:#555}figure{margin:1em 0;break-inside:avoid}svg{max-width:100%;height:auto}
@media print{body{margin:0}}
</style></head><body>
<h1>${e(r.title)}</h1>
<p class="muted">Generated ${e(r.date)} by the Fine-tuning Studio.${r.link ? ` Settings link: <span>${e(r.link)}</span>` : ''}</p>
<h2>Outcome</h2>
<p>${r.outcome ? e(r.outcome.message) : 'No completed run.'}</p>
<table><thead><tr><th scope="col">Validation metric</th><th scope="col">${r.metrics.baseName ? `Line to beat: ${e(r.metrics.baseName)}` : 'Base model'}</th><th scope="col">Fine-tuned</th></tr></thead><tbody>
${metricRows.map(([name, f]) => `<tr><th scope="row">${name}</th><td>${cell(r.metrics.base, f)}</td><td>${cell(r.metrics.tuned, f)}</td></tr>`).join('\n')}
</tbody></table>
${r.outcome ? `<p class="muted">${r.outcome.epochs} epoch(s), best epoch ${r.outcome.bestEpoch + 1}, ${num(r.outcome.seconds, 1)} s.</p>` : ''}
<h2>Base model</h2>
<p>${r.baseModel ? `${e(r.baseModel.title)} (${e(r.baseModel.id)}), ${r.baseModel.params.toLocaleString('en')} weights` : 'Not loaded.'}</p>
<h2>Dataset</h2>
${
  d
    ? `<p>${e(d.name)} — ${e(d.task)}, ${d.rows} ${unit} kept, ${d.rejected} rejected (${e(d.source)}).</p>
${d.classes.length ? `<table><thead><tr><th scope="col">Class</th><th scope="col">${unit[0]!.toUpperCase() + unit.slice(1)}</th></tr></thead><tbody>${d.classes.map((c) => `<tr><td>${e(c.name)}</td><td>${c.count}</td></tr>`).join('')}</tbody></table>` : ''}`
    : '<p>Not loaded.</p>'
}
${r.objective ? `<p>Objective: ${e(r.objective.kind)}${Object.keys(r.objective.options).length ? ` (${Object.entries(r.objective.options).map(([k, v]) => `${e(k)} ${e(v)}`).join(', ')})` : ''}.</p>` : ''}
<h2>Curves</h2>
<figure>${lossChart}</figure>
<figure>${valChart}</figure>
${sweepChart ? `<figure>${sweepChart}</figure>` : ''}
<h2>Settings</h2>
<table><tbody>${settingsRows}</tbody></table>
</body></html>
`
}
