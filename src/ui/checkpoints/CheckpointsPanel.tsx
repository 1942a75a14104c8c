import { useEffect, useState } from 'react'
import { bestOf } from '../../shared/bestCheckpoint'
import { resumeCheckpoint, sendCheckpoint } from '../../state/actions'
import { runDeleteWaits, useCheckpoints } from '../../state/checkpoints'
import { useStudio, runActive } from '../../state/store'
import type { CheckpointMeta } from '../../worker/checkpointProtocol'
import { ConfirmDelete } from '../common/ConfirmDelete'
import { Panel } from '../common/Panel'
import { bytes, inUseStays, metricsText, when } from './format'
import { RunsView } from './RunsView'
import { StorageBar } from './StorageBar'
import { HfStoredRepos } from '../models/HfStoredRepos'
import { StoredSelfTraining } from './StoredSelfTraining'

/** Step 6: every epoch is saved in this browser; restore, continue, rename, delete. */
export function CheckpointsPanel() {
  const items = useCheckpoints((s) => s.items)
  const restoredId = useCheckpoints((s) => s.restoredId)
  const status = useStudio((s) => s.status)
  const runId = useStudio((s) => s.runId)
  const busy = runActive(status)
  const bestIds = new Set(bestIdsByRun(items))

  useEffect(() => {
    sendCheckpoint({ type: 'storageEstimate' })
  }, [items])

  return (
    <Panel step={7} title="Checkpoints and runs" id="checkpoints">
      <p className="help">
        A checkpoint (weights and optimizer state) is saved in this browser after every epoch; the last few and the best are kept (see Validation settings).
        Nothing leaves your machine.
      </p>
      <StorageBar />
      <HfStoredRepos />
      <StoredSelfTraining />
      {items.length === 0 ? (
        <p className="muted" data-testid="no-checkpoints">
          No checkpoints yet: they appear here after each epoch of training.
        </p>
      ) : (
        <table className="checkpoints" data-testid="checkpoint-list">
          <caption>Saved checkpoints, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Saved</th>
              <th scope="col">Epoch</th>
              <th scope="col">Step</th>
              <th scope="col">Validation</th>
              <th scope="col">Method</th>
              <th scope="col">Size</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <CheckpointRow key={c.id} c={c} best={bestIds.has(c.id)} restored={c.id === restoredId} busy={busy} deleteWaits={runDeleteWaits(c.runId, 'checkpoint', { runId, status })} />
            ))}
          </tbody>
        </table>
      )}
      <RunsView />
    </Panel>
  )
}

function bestIdsByRun(items: CheckpointMeta[]): string[] {
  const byRun = new Map<string, CheckpointMeta[]>()
  for (const c of items) byRun.set(c.runId, [...(byRun.get(c.runId) ?? []), c])
  return [...byRun.values()].map((l) => bestOf(l)?.id).filter((x): x is string => !!x)
}

function CheckpointRow({ c, best, restored, busy, deleteWaits }: { c: CheckpointMeta; best: boolean; restored: boolean; busy: boolean; deleteWaits: string | null }) {
  const [editing, setEditing] = useState(false)
  const [name, setName] = useState(c.name)
  const inputId = `rename-${c.id}`
  return (
    <tr data-testid="checkpoint-row" data-epoch={c.epoch}>
      <td>
        {editing ? (
          <form
            onSubmit={(e) => {
              e.preventDefault()
              sendCheckpoint({ type: 'renameCheckpoint', id: c.id, name })
              setEditing(false)
            }}
          >
            <label htmlFor={inputId}>New name for {c.name}</label>{' '}
            <input id={inputId} value={name} maxLength={80} onChange={(e) => setName(e.target.value)} title="A renamed checkpoint is never deleted by pruning" autoFocus />{' '}
            <button type="submit">Save name</button>{' '}
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <span data-testid="checkpoint-name">{c.name}</span>
        )}
        {best && <strong title="Best epoch of its run by the monitored metric"> · best</strong>}
        {c.pinned && <span className="muted" title="Renamed: kept when older checkpoints are pruned"> · kept</span>}
        {restored && <span title="Evaluation and the playground use these weights"> · in use</span>}
      </td>
      <td>{when(c.createdAt)}</td>
      <td>
        {c.epoch} / {c.settings.epochs}
      </td>
      <td>{c.step}</td>
      <td>{metricsText(c.val)}</td>
      <td>{c.method}</td>
      <td>{bytes(c.bytes)}</td>
      <td>
        <div className="controls">
          <button type="button" disabled={busy} aria-label={`Restore ${c.name}`} title="Load these weights so Evaluate and the playground use them" onClick={() => sendCheckpoint({ type: 'restoreCheckpoint', id: c.id })}>
            Restore
          </button>
          {c.epoch >= c.settings.epochs ? (
            // written, not a disabled button's tooltip: keyboard, touch and screen readers get it too
            <span className="muted">This run trained all its epochs</span>
          ) : (
            <button
              type="button"
              disabled={busy}
              aria-label={`Continue training from ${c.name}`}
              title="Continue this run from here with the same settings and data; the chart continues"
              onClick={() => resumeCheckpoint(c.id, c.runId)}
            >
              Continue training
            </button>
          )}
          <button type="button" aria-label={`Rename ${c.name}`} title="Give it a name; renamed checkpoints are never pruned" onClick={() => setEditing(true)}>
            Rename
          </button>
          <ConfirmDelete
            label={`Delete ${c.name}`}
            title="Delete this checkpoint from the browser's storage"
            waits={deleteWaits}
            question={`Delete checkpoint ${c.name} (epoch ${c.epoch} of ${c.settings.epochs}${best ? ', the best of its run' : ''}, ${bytes(c.bytes)})? Its weights and optimizer state cannot be brought back.${restored ? inUseStays() : ''}`}
            onDelete={() => sendCheckpoint({ type: 'deleteCheckpoint', id: c.id })}
          />
        </div>
      </td>
    </tr>
  )
}
