import { useEffect, useId, useState } from 'react'
import { loadSample, uploadDataset } from '../../state/actions'
import { useStudio } from '../../state/store'
import { Panel } from '../common/Panel'

interface SampleCard {
  file: string
  title: string
  task: string
  rows?: number
  licence?: string
  description?: string
}

/** Step 1: which examples to learn from. */
export function DataPanel() {
  const dataset = useStudio((s) => s.dataset)
  const running = useStudio((s) => s.status === 'running' || s.status === 'paused' || s.status === 'starting')
  const [samples, setSamples] = useState<SampleCard[]>([])
  const fileId = useId()
  const sampleId = useId()

  useEffect(() => {
    fetch(new URL('samples/index.json', document.baseURI))
      .then((r) => (r.ok ? r.json() : []))
      .then((index: { datasets?: SampleCard[] }) => setSamples(Array.isArray(index.datasets) ? index.datasets : []))
      .catch(() => setSamples([]))
  }, [])

  const maxCount = Math.max(1, ...(dataset?.classes.map((c) => c.count) ?? [1]))
  return (
    <Panel step={1} title="Data" id="data">
      <div className="row">
        <div className="field">
          <label htmlFor={sampleId}>Sample dataset</label>
          <select id={sampleId} value="" disabled={running} onChange={(e) => e.target.value && loadSample(e.target.value)} title="Real datasets that ship with the studio, each with a card saying where it comes from.">
            <option value="">Choose a sample…</option>
            {samples.map((s) => (
              <option key={s.file} value={s.file}>
                {s.title} ({s.task}
                {s.rows ? `, ${s.rows} rows` : ''})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={fileId}>Your own file (CSV, TSV, JSON Lines, JSON, or plain text)</label>
          <input
            id={fileId}
            type="file"
            accept=".csv,.tsv,.txt,.json,.jsonl,.ndjson,text/csv,text/plain,application/json"
            disabled={running}
            onChange={(e) => {
              const f = e.target.files?.[0]
              if (f) uploadDataset(f)
              e.target.value = ''
            }}
            aria-describedby={`${fileId}-help`}
          />
          <p className="help" id={`${fileId}-help`}>
            Read in a background thread and kept in this browser only. A CSV needs a text column and a label column.
          </p>
        </div>
      </div>
      {dataset ? (
        <div className="dataset" data-testid="dataset-summary">
          <p>
            <strong>{dataset.name}</strong> ({dataset.source}) — {dataset.task === 'language-modelling' ? 'language modelling' : 'text classification'},{' '}
            <span data-testid="dataset-rows">{dataset.rows.toLocaleString('en')}</span> rows kept
            {dataset.rejected > 0 && <>, {dataset.rejected.toLocaleString('en')} rejected</>}, {(dataset.bytes / 1024).toFixed(0)} KB.
          </p>
          {dataset.classes.length > 0 && (
            <figure className="balance" aria-label="Class balance">
              <figcaption>Class balance</figcaption>
              {dataset.classes.map((c) => (
                <div className="bar-row" key={c.name}>
                  <span className="bar-label">{c.name}</span>
                  <span className="bar" style={{ width: `${(60 * c.count) / maxCount}%` }} />
                  <span className="bar-count">{c.count}</span>
                </div>
              ))}
            </figure>
          )}
          {dataset.warnings.length > 0 && (
            <ul className="warnings">
              {dataset.warnings.map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ul>
          )}
          {dataset.rejectedReasons.length > 0 && (
            <details>
              <summary>Why rows were rejected</summary>
              <ul>
                {dataset.rejectedReasons.map((r) => (
                  <li key={r.row}>
                    Row {r.row}: {r.reason}
                  </li>
                ))}
              </ul>
            </details>
          )}
          <details>
            <summary>First rows</summary>
            <table className="preview">
              <thead>
                <tr>
                  {dataset.columns.map((c) => (
                    <th key={c} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {dataset.preview.map((r, i) => (
                  <tr key={i}>
                    {r.map((cell, j) => (
                      <td key={j}>{cell}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </div>
      ) : (
        <p className="muted">Loading the sample dataset…</p>
      )}
    </Panel>
  )
}
