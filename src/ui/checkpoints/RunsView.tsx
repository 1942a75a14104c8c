import { useEffect, useId, useState } from 'react'
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts'
import { sendCheckpoint } from '../../state/actions'
import { useCheckpoints } from '../../state/checkpoints'
import { useStudio } from '../../state/store'
import type { RunInfo } from '../../worker/checkpointProtocol'
import { when } from './format'

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2']

/** Past runs: pick some and overlay their loss and validation curves. */
export function RunsView() {
  const runs = useCheckpoints((s) => s.runs)
  const status = useStudio((s) => s.status)
  const [chosen, setChosen] = useState<string[]>([])
  const [log, setLog] = useState(false)
  const logId = useId()

  // Re-read the history when a run starts or ends.
  useEffect(() => {
    if (status === 'idle' || status === 'done' || status === 'running') sendCheckpoint({ type: 'listRuns' })
  }, [status])

  const shown = runs.filter((r) => chosen.includes(r.id))
  return (
    <section aria-labelledby="runs-title" className="runs">
      <h3 id="runs-title">Runs</h3>
      {runs.length === 0 ? (
        <p className="muted">Every training run is recorded here (settings, data, curves), so you can compare them later.</p>
      ) : (
        <>
          <ul className="run-list" data-testid="run-list">
            {runs.map((r) => (
              <RunItem
                key={r.id}
                run={r}
                checked={chosen.includes(r.id)}
                onToggle={(on) => setChosen((c) => (on ? [...c, r.id] : c.filter((x) => x !== r.id)))}
                live={r.status === 'running' && status !== 'idle' && status !== 'done'}
              />
            ))}
          </ul>
          <div className="field">
            <label htmlFor={logId}>
              <input id={logId} type="checkbox" checked={log} onChange={(e) => setLog(e.target.checked)} /> Log scale
            </label>
            <p className="help">A log scale separates curves that differ late in training, when losses are small.</p>
          </div>
          {shown.length === 0 ? (
            <p className="muted">Tick runs above to compare their curves.</p>
          ) : (
            <div className="charts">
              <Overlay runs={shown} log={log} x="step" title="Training loss of chosen runs" pick={(r) => r.steps.map((p) => ({ x: p.step, y: p.loss }))} />
              <Overlay runs={shown} log={log} x="epoch" title="Validation loss of chosen runs" pick={(r) => r.epochs.map((p) => ({ x: p.epoch, y: p.valLoss }))} />
            </div>
          )}
        </>
      )}
    </section>
  )
}

function RunItem({ run, checked, onToggle, live }: { run: RunInfo; checked: boolean; onToggle: (on: boolean) => void; live: boolean }) {
  const id = useId()
  return (
    <li data-testid="run-item">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onToggle(e.target.checked)} title="Show this run on the comparison charts" />{' '}
      <label htmlFor={id}>{run.name}</label>{' '}
      <span className="muted">
        · {run.status} · {run.epochs.length} epoch{run.epochs.length === 1 ? '' : 's'} · {run.settings.method}, lr {run.settings.learningRate} · started {when(run.startedAt)}
      </span>{' '}
      <button type="button" className="link" disabled={live} aria-label={`Delete run ${run.name}`} title="Delete this run's record and its checkpoints" onClick={() => sendCheckpoint({ type: 'deleteRun', id: run.id })}>
        Delete
      </button>
    </li>
  )
}

function Overlay({ runs, log, x, title, pick }: { runs: RunInfo[]; log: boolean; x: string; title: string; pick: (r: RunInfo) => { x: number; y: number }[] }) {
  return (
    <figure className="chart" aria-label={title} data-testid={`runs-chart-${x}`} data-series={runs.length}>
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart margin={{ left: 8, right: 16, top: 8, bottom: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="x" type="number" domain={['dataMin', 'dataMax']} allowDuplicatedCategory={false} label={{ value: x, position: 'insideBottomRight', offset: -4 }} />
          <YAxis width={52} scale={log ? 'log' : 'auto'} domain={['auto', 'auto']} allowDataOverflow tickFormatter={(v: number) => v.toFixed(2)} />
          <Tooltip formatter={(v) => Number(v).toFixed(4)} />
          <Legend />
          {runs.map((r, i) => (
            <Line key={r.id} data={pick(r).filter((p) => !log || p.y > 0)} dataKey="y" name={r.name} dot={x === 'epoch'} isAnimationActive={false} stroke={COLORS[i % COLORS.length]} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  )
}
