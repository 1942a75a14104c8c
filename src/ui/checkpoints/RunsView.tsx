import { useEffect, useId, useState } from 'react'
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { formatBytes, formatCount, formatNumber } from '../../format/format'
import { DEFAULTS, SCHEMA } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { sendCheckpoint } from '../../state/actions'
import { runDeleteWaits, useCheckpoints } from '../../state/checkpoints'
import { ELSEWHERE_WAITS, followRunsAcrossTabs, shownRunStatus, useRunTabs } from '../../state/runsAcrossTabs'
import { useStudio, runActive } from '../../state/store'
import type { CheckpointMeta, RunInfo } from '../../worker/checkpointProtocol'
import { ConfirmDelete } from '../common/ConfirmDelete'
import { inUseStays, runProgress, when } from './format'
import { differingSettings, valueText } from './runDiff'

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2']

/** Past runs side by side: pick some to see the settings that differ and their curves
 *  overlaid (linear or log, by step or by epoch); rename, delete, or start again from one. */
export function RunsView() {
  const runs = useCheckpoints((s) => s.runs)
  const checkpoints = useCheckpoints((s) => s.items)
  const restoredId = useCheckpoints((s) => s.restoredId)
  const status = useStudio((s) => s.status)
  const liveId = useStudio((s) => s.runId)
  const replace = useStudio((s) => s.replaceSettings)
  const notify = useStudio((s) => s.notify)
  const [chosen, setChosen] = useState<string[]>([])
  const [log, setLog] = useState(false)
  const [by, setBy] = useState<'step' | 'epoch'>('step')
  const logId = useId()
  const byName = useId()
  const busy = runActive(status)

  // Re-read the history when a run starts or ends, and when another tab's runs change.
  useEffect(() => {
    if (status === 'idle' || status === 'done' || status === 'running') sendCheckpoint({ type: 'listRuns' })
  }, [status])
  useEffect(() => followRunsAcrossTabs(), [])
  const { gone, elsewhere } = useRunTabs()

  const shown = runs.filter((r) => chosen.includes(r.id))
  const startFrom = (r: RunInfo) => {
    replace({ ...DEFAULTS, ...r.settings }) // a run saved before a setting existed gets its default
    notify({ kind: 'info', text: `Settings of "${r.name}" loaded: change what you like in step 3, then click Train.` })
    document.getElementById('settings')?.scrollIntoView({ block: 'start' })
  }
  return (
    <section aria-labelledby="runs-title" className="runs">
      <h3 id="runs-title">Runs</h3>
      {runs.length === 0 ? (
        <p className="muted">Every training run is recorded here (settings, data, curves), so you can compare them later.</p>
      ) : (
        <>
          <p className="help">Tick two or more runs to see the settings that differ and their curves on the same axes.</p>
          <ul className="run-list" data-testid="run-list">
            {runs.map((r) => (
              <RunItem
                key={r.id}
                run={r}
                status={shownRunStatus(r, gone)}
                checked={chosen.includes(r.id)}
                onToggle={(on) => setChosen((c) => (on ? [...c, r.id] : c.filter((x) => x !== r.id)))}
                deleteWaits={runDeleteWaits(r.id, 'run', { runId: liveId, status }) ?? (elsewhere.has(r.id) ? ELSEWHERE_WAITS : null)}
                busy={busy}
                held={checkpoints.filter((c) => c.runId === r.id)}
                restoredId={restoredId}
                onStartFrom={() => startFrom(r)}
              />
            ))}
          </ul>
          {shown.length >= 2 && <DiffTable runs={shown} />}
          <div className="run-options">
            <label htmlFor={logId}>
              <input id={logId} type="checkbox" checked={log} onChange={(e) => setLog(e.target.checked)} /> Log scale
            </label>
            <fieldset>
              <legend>Training loss by</legend>
              {(['step', 'epoch'] as const).map((x) => (
                <label key={x}>
                  <input type="radio" name={byName} value={x} checked={by === x} onChange={() => setBy(x)} /> {x}
                </label>
              ))}
            </fieldset>
            <p className="help">A log scale separates curves that differ late in training, when losses are small; by epoch lines up runs with different batch sizes.</p>
          </div>
          {shown.length === 0 ? (
            <p className="muted">Tick runs above to compare their curves.</p>
          ) : (
            <div className="charts">
              {by === 'step' ? (
                <Overlay runs={shown} log={log} x="step" id="step" title="Training loss of chosen runs, by step" pick={(r) => r.steps.map((p) => ({ x: p.step, y: p.loss }))} />
              ) : (
                <Overlay runs={shown} log={log} x="epoch" id="train-epoch" title="Training loss of chosen runs, by epoch" pick={(r) => r.epochs.map((p) => ({ x: p.epoch, y: p.trainLoss }))} />
              )}
              <Overlay runs={shown} log={log} x="epoch" id="epoch" title="Validation loss of chosen runs, by epoch" pick={(r) => r.epochs.map((p) => ({ x: p.epoch, y: p.valLoss }))} />
            </div>
          )}
        </>
      )}
    </section>
  )
}

/** One row per setting on which the chosen runs differ; one column per run. */
function DiffTable({ runs }: { runs: RunInfo[] }) {
  const keys = differingSettings(runs)
  const label = (k: keyof Settings) => SCHEMA.find((s) => s.key === k)?.label ?? k
  const dataDiffers = new Set(runs.map((r) => r.dataset.name)).size > 1
  return (
    <div className="diff-wrap">
      <table className="diff" data-testid="runs-diff">
        <caption>{keys.length === 0 ? 'The chosen runs have the same settings' : `Settings that differ between the ${runs.length} chosen runs`}</caption>
        <thead>
          <tr>
            <th scope="col">Setting</th>
            {runs.map((r) => (
              <th scope="col" key={r.id}>
                {r.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k} data-setting={k}>
              <th scope="row">{label(k)}</th>
              {runs.map((r) => (
                <td key={r.id}>{valueText(k, r.settings[k])}</td>
              ))}
            </tr>
          ))}
          {dataDiffers && (
            <tr data-setting="dataset">
              <th scope="row">Dataset</th>
              {runs.map((r) => (
                <td key={r.id}>{r.dataset.name}</td>
              ))}
            </tr>
          )}
        </tbody>
      </table>
    </div>
  )
}

function RunItem({ run, status, checked, onToggle, deleteWaits, busy, held, restoredId, onStartFrom }: { run: RunInfo; status: RunInfo['status']; checked: boolean; onToggle: (on: boolean) => void; deleteWaits: string | null; busy: boolean; held: readonly CheckpointMeta[]; restoredId: string | null; onStartFrom: () => void }) {
  const live = deleteWaits !== null
  const id = useId()
  const [editing, setEditing] = useState(false)
  const [name, setName] = useState(run.name)
  return (
    <li data-testid="run-item">
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault()
            sendCheckpoint({ type: 'renameRun', id: run.id, name })
            setEditing(false)
          }}
        >
          <label htmlFor={`${id}-name`}>New name for run {run.name}</label>{' '}
          <input id={`${id}-name`} value={name} maxLength={80} onChange={(e) => setName(e.target.value)} autoFocus />{' '}
          <button type="submit">Save run name</button>{' '}
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <>
          <input id={id} type="checkbox" checked={checked} onChange={(e) => onToggle(e.target.checked)} title="Compare this run: its settings and curves" />
          <label htmlFor={id}>{run.name}</label>
        </>
      )}
      <span className="muted">
        · {runProgress({ status, epochs: run.epochs })} · {valueText('method', run.settings.method)}, learning rate {formatNumber(run.settings.learningRate)}
        {/* an encoder's run records the pooling its head read ('auto' is resolved when it starts) */}
        {run.settings.pooling === 'cls' || run.settings.pooling === 'mean' ? `, pooling ${valueText('pooling', run.settings.pooling)}` : ''} · started {when(run.startedAt)}
      </span>
      <button type="button" className="link" disabled={busy} aria-label={`Start a new run from the settings of ${run.name}`} title="Load this run's settings into step 3 (data and model stay as they are)" onClick={onStartFrom}>
        Use these settings
      </button>
      <button type="button" className="link" disabled={live} aria-label={`Rename run ${run.name}`} title="Give this run a name you will recognise" onClick={() => setEditing(true)}>
        Rename
      </button>
      <ConfirmDelete
        className="link"
        waits={deleteWaits}
        label={`Delete run ${run.name}`}
        title="Delete this run's record and its checkpoints"
        question={deleteRunQuestion(run.name, held, restoredId)}
        onDelete={() => sendCheckpoint({ type: 'deleteRun', id: run.id })}
      />
    </li>
  )
}

/** The question before a run goes: its record (settings, curves) and the checkpoints that go
 *  with it, counted and sized; the one in use, if it is among them, named. */
function deleteRunQuestion(name: string, held: readonly CheckpointMeta[], restoredId: string | null): string {
  if (held.length === 0) return `Delete run ${name}? It holds no checkpoints; its settings and curves cannot be brought back.`
  const size = formatBytes(held.reduce((n, c) => n + c.bytes, 0))
  const what = held.length === 1 ? `its checkpoint (${size})` : `its ${formatCount(held.length)} checkpoints (${size})`
  const inUse = held.find((c) => c.id === restoredId)
  return `Delete run ${name} and ${what}? Its settings, curves and checkpoints cannot be brought back.${inUse ? inUseStays(inUse.name) : ''}`
}

function Overlay({ runs, log, x, id, title, pick }: { runs: RunInfo[]; log: boolean; x: string; id: string; title: string; pick: (r: RunInfo) => { x: number; y: number }[] }) {
  return (
    <figure className="chart" aria-label={title} data-testid={`runs-chart-${id}`} data-series={runs.length} data-scale={log ? 'log' : 'linear'}>
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart margin={{ left: 8, right: 16, top: 8, bottom: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="x" type="number" domain={['dataMin', 'dataMax']} allowDuplicatedCategory={false} label={{ value: x, position: 'insideBottomRight', offset: -4 }} />
          <YAxis width={52} scale={log ? 'log' : 'auto'} domain={['auto', 'auto']} allowDataOverflow tickFormatter={(v: number) => formatNumber(v, 2)} />
          <Tooltip formatter={(v) => formatNumber(Number(v), 4)} />
          <Legend />
          {runs.map((r, i) => (
            <Line key={r.id} data={pick(r).filter((p) => !log || p.y > 0)} dataKey="y" name={r.name} dot={x === 'epoch'} isAnimationActive={false} stroke={COLORS[i % COLORS.length]} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  )
}
