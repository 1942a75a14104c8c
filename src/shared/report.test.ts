import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../settings/schema'
import { reportHtml, reportJson, type TrainingReport } from './report'

const evil = '<script>alert(1)</script>'

function report(): TrainingReport {
  return {
    title: `Report for ${evil}`,
    date: '2026-11-24T10:00:00.000Z',
    link: `https://studio.example/?v=2&lr=0.002#"><script>x</script>`,
    baseModel: { id: 'tiny-lm', title: 'Tiny LM', params: 1000 },
    dataset: { name: `${evil}.csv`, source: `file: ${evil}.csv`, task: 'text-classification', rows: 20, rejected: 1, classes: [{ name: evil, count: 12 }, { name: `<img src=x onerror=alert(2)>`, count: 8 }] },
    settings: { ...DEFAULTS },
    outcome: { reason: 'finished', message: `Training complete on ${evil}`, epochs: 2, bestEpoch: 1, seconds: 3.5 },
    metrics: { base: { loss: 0.7, accuracy: 0.5 }, tuned: { loss: 0.3, accuracy: 0.875 } },
    series: {
      steps: [{ step: 1, loss: 0.9 }, { step: 2, loss: 0.6 }, { step: 3, loss: 0.5 }],
      epochs: [{ epoch: 1, trainLoss: 0.6, valLoss: 0.5, valAcc: 75 }, { epoch: 2, trainLoss: 0.4, valLoss: 0.3, valAcc: 87.5 }],
      sweep: [{ alpha: 0, loss: 0.7, accuracy: 0.5 }, { alpha: 1, loss: 0.3, accuracy: 0.875 }],
    },
  }
}

describe('training report', () => {
  it('escapes every user string, so no markup or script from a dataset reaches the page', () => {
    const html = reportHtml(report())
    expect(html).not.toContain('<script')
    expect(html).not.toContain('<img')
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.csv')
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;')
    expect(html).toContain(`default-src 'none'`) // and scripts could not run anyway
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//) // no external resources
  })

  it('holds settings, dataset, base model, base vs tuned metrics and the curves as inline SVG', () => {
    const html = reportHtml(report())
    expect(html).toMatch(/<tr><th scope="row">Accuracy<\/th><td>50\.0%<\/td><td>87\.5%<\/td><\/tr>/)
    expect(html).toContain('Tiny LM (tiny-lm), 1,000 weights')
    expect(html).toContain('<tr><th scope="row">learningRate</th>')
    expect((html.match(/<svg /g) ?? []).length).toBe(3) // loss, validation, α sweep
    expect(html).toMatch(/<path d="M[\d.]+,[\d.]+L[\d.]+,[\d.]+L[\d.]+,[\d.]+" fill="none" stroke="#2563eb"/) // 3 loss points
    const json = JSON.parse(reportJson(report())) as { format: string; dataset: { name: string }; series: { steps: unknown[] } }
    expect(json.format).toBe('studio-report')
    expect(json.dataset.name).toBe(`${evil}.csv`) // JSON keeps the data as data
    expect(json.series.steps).toHaveLength(3)
  })

  it('names the line to beat in the metrics table, escaped', () => {
    const r = report()
    const html = reportHtml({ ...r, metrics: { ...r.metrics, baseName: `majority class (${evil})` } })
    expect(html).toContain('<th scope="col">Line to beat: majority class (&lt;script&gt;alert(1)&lt;/script&gt;)</th>')
    expect(html).not.toContain('<th scope="col">Base model</th>')
  })

  it('says an objectives-panel run\'s objective and what it trained with beyond the settings, escaped', () => {
    const html = reportHtml({ ...report(), objective: { kind: 'preference tuning (DPO)', options: { beta: 0.05, sftWeight: 0, note: evil } } })
    expect(html).toContain('<p>Objective: preference tuning (DPO) (beta 0.05, sftWeight 0, note &lt;script&gt;alert(1)&lt;/script&gt;).</p>')
    expect(reportHtml(report())).not.toContain('Objective:')
  })
})
