import { memo, useEffect, useId, useState } from 'react'
import { formatBytes, formatCount, formatPercent } from '../../format/format'
import { loadImageSample, loadSample, sendData } from '../../state/actions'
import { useStudio } from '../../state/store'
import { Panel } from '../common/Panel'
import { AugmentPreview } from './AugmentPreview'
import { LengthHistogram } from './LengthHistogram'
import { RoleSelect } from './RoleSelect'
import { SplitSummary } from './SplitSummary'
import { TargetHistogram } from './TargetHistogram'
import { StoredDatasets } from './StoredDatasets'
import { DropArea, UploadControls } from './UploadControls'

interface SampleCard {
  file: string
  title: string
  task: string
  rows?: number
  licence?: string
  description?: string
}

const TASK_NAMES: Record<string, string> = {
  'language-modelling': 'language modelling',
  'text-classification': 'text classification',
  'image-classification': 'image classification',
  'text-regression': 'text regression (predict a number from text)',
  'tabular-classification': 'tabular classification (numeric columns → a class)',
  'tabular-regression': 'tabular regression (numeric columns → a number)',
  regression: 'regression',
}

/** Reading progress (bytes and rows). Its own component, so progress events re-render
 *  only this bar, not the charts of the dataset already shown. */
function DataProgress() {
  const busy = useStudio((s) => (s.busy?.task === 'dataset' ? s.busy : null))
  if (!busy) return null
  return (
    <div className="data-progress" data-testid="data-progress">
      <label>
        {busy.label}
        <progress max={busy.total || 1} value={busy.done} aria-label={busy.label} />
      </label>
    </div>
  )
}

/** The first rows of the file. Memoised: rebuilding this table (long e-mail texts) whenever a
 *  run started or ended was most of the Data panel's share of those main-thread tasks. */
const FirstRows = memo(function FirstRows({ columns, rows }: { columns: string[]; rows: string[][] }) {
  return (
    <details>
      <summary>First rows</summary>
      <table className="preview">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {r.map((cell, j) => (
                <td key={j}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  )
})

/** Step 1: which examples to learn from. */
export function DataPanel() {
  const dataset = useStudio((s) => s.dataset)
  const running = useStudio((s) => s.status === 'running' || s.status === 'paused' || s.status === 'starting')
  const [samples, setSamples] = useState<SampleCard[]>([])
  const sampleId = useId()

  useEffect(() => {
    fetch(new URL('samples/index.json', document.baseURI))
      .then((r) => (r.ok ? r.json() : []))
      .then((index: { datasets?: SampleCard[] }) => setSamples(Array.isArray(index.datasets) ? index.datasets : []))
      .catch(() => setSamples([]))
    sendData({ type: 'listDatasets' })
  }, [])

  const details = dataset?.details
  const multitask = (details?.roles.labels.length ?? 0) > 1
  const maxCount = Math.max(1, ...(dataset?.classes.map((c) => c.count) ?? [1]))
  const total = dataset?.classes.reduce((s, c) => s + c.count, 0) ?? 0
  return (
    <Panel step={1} title="Data" id="data">
      <DropArea disabled={running}>
        <div className="row">
          <div className="field">
            <label htmlFor={sampleId}>Sample dataset</label>
            <select
              id={sampleId}
              value={samples.find((s) => dataset?.source === `sample: ${s.file}`)?.file ?? ''} // the sample in use, if one is
              disabled={running}
              onChange={(e) => {
                const s = samples.find((x) => x.file === e.target.value)
                if (s) (s.task === 'image-classification' ? loadImageSample : loadSample)(s.file)
              }}
              title="Real datasets that ship with the studio, each with a card saying where it comes from."
            >
              <option value="">Choose a sample…</option>
              {samples.map((s) => (
                <option key={s.file} value={s.file}>
                  {s.title} ({TASK_NAMES[s.task] ?? s.task}
                  {s.rows ? `, ${s.rows} ${s.task === 'image-classification' ? 'images' : 'rows'}` : ''})
                </option>
              ))}
            </select>
          </div>
        </div>
        <UploadControls disabled={running} hasTable={details?.kind === 'table'} validationName={details?.split?.mode === 'file' ? (details.split.validationFile ?? null) : null} />
        <DataProgress />
      </DropArea>
      <StoredDatasets disabled={running} />
      {dataset ? (
        <div className="dataset" data-testid="dataset-summary">
          <p>
            <strong>{dataset.name}</strong> ({dataset.source}) — {TASK_NAMES[dataset.task] ?? dataset.task}
            {multitask && <> with {details?.roles.labels.length} label columns (multitask)</>},{' '}
            <span data-testid="dataset-rows">{formatCount(dataset.rows)}</span> {details?.kind === 'images' ? (dataset.rows === 1 ? 'image' : 'images') : dataset.rows === 1 ? 'row' : 'rows'} kept
            {dataset.rejected > 0 && (
              <>
                , <span data-testid="dataset-rejected">{formatCount(dataset.rejected)}</span> rejected
              </>
            )}
            , {formatBytes(dataset.bytes)}.{' '}
            {details && <span className="muted">{details.storedId ? 'Kept in this browser.' : 'Not saved in this browser.'}</span>}
          </p>
          {details?.kind === 'table' && <RoleSelect details={details} disabled={running} />}
          {details?.split?.mode === 'file' && (
            <p>
              <button type="button" className="link" disabled={running} onClick={() => sendData({ type: 'clearValidation' })} title="Hold out part of the training file instead.">
                Stop using {details.split.validationFile} for validation
              </button>
            </p>
          )}
          {dataset.classes.length > 0 && (
            <figure className="balance" aria-label="Class balance" data-testid="class-balance">
              <figcaption>Class balance{multitask && details ? ` ("${details.roles.labels[0]}")` : ''}</figcaption>
              {dataset.classes.map((c) => (
                <div className="bar-row" key={c.name}>
                  <span className="bar-label">{c.name}</span>
                  <span className="bar" style={{ width: `${(60 * c.count) / maxCount}%` }} />
                  <span className="bar-count">
                    {c.count} ({formatPercent(total ? c.count / total : 0, 0)})
                  </span>
                </div>
              ))}
            </figure>
          )}
          {details?.targetHistogram && details.roles.target && <TargetHistogram bins={details.targetHistogram} name={details.roles.target} />}
          {details && <LengthHistogram bins={details.lengthHistogram} stats={details.lengths} />}
          {details && <SplitSummary split={details.split} error={details.splitError} />}
          {details?.images && (
            <p className="muted">
              Images from {details.images.minSide} to {details.images.maxSide} pixels on a side, {formatBytes(details.images.storedBytes)} stored; decoded batch by batch when training.
            </p>
          )}
          {details?.kind === 'images' && <AugmentPreview disabled={running} />}
          {dataset.warnings.length > 0 && (
            <ul className="warnings" data-testid="dataset-warnings">
              {dataset.warnings.map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ul>
          )}
          {dataset.rejectedReasons.length > 0 && (
            <details>
              <summary>Why {details?.kind === 'images' ? 'files were' : 'rows were'} rejected</summary>
              <ul data-testid="rejected-reasons">
                {dataset.rejectedReasons.map((r) => (
                  // each reason names its own row, line or record ("row 3 has 3 fields…"): shown once, as a sentence
                  <li key={r.row}>{details?.kind === 'images' ? r.reason : r.reason.charAt(0).toUpperCase() + r.reason.slice(1)}</li>
                ))}
              </ul>
            </details>
          )}
          {dataset.preview.length > 0 && <FirstRows columns={dataset.columns} rows={dataset.preview} />}
        </div>
      ) : (
        <p className="muted">Loading the dataset…</p>
      )}
    </Panel>
  )
}
