import { sendData } from '../../state/actions'
import { useDatasets } from '../../state/datasets'
import { formatBytes, formatCount } from '../../format/format'

/** Datasets kept in this browser: open one, or delete it. */
export function StoredDatasets({ disabled }: { disabled: boolean }) {
  const stored = useDatasets((s) => s.stored)
  const currentId = useDatasets((s) => s.currentId)
  const usage = useDatasets((s) => s.usage)
  if (stored.length === 0) return null
  return (
    <details className="stored" data-testid="stored-datasets">
      <summary>
        Kept in this browser ({stored.length})
        {usage && (
          <span className="muted">
            {' '}
            — {formatBytes(usage.used)} used of {formatBytes(usage.quota)}
          </span>
        )}
      </summary>
      <table>
        <thead>
          <tr>
            <th scope="col">Dataset</th>
            <th scope="col">Kind</th>
            <th scope="col">Rows</th>
            <th scope="col">Size</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {stored.map((d) => (
            <tr key={d.id} aria-current={d.id === currentId ? 'true' : undefined}>
              <td>
                {d.name}
                {d.validationName && <span className="muted"> + {d.validationName}</span>}
                {d.id === currentId && <strong> (open)</strong>}
              </td>
              <td>{d.kind === 'images' ? 'images' : d.task}</td>
              <td>{formatCount(d.rows)}</td>
              <td>{formatBytes(d.bytes)}</td>
              <td>
                <button type="button" disabled={disabled || d.id === currentId} onClick={() => sendData({ type: 'selectDataset', id: d.id })} aria-label={`Open ${d.name}`} title="Use this dataset (no re-parsing)">
                  Open
                </button>{' '}
                <button type="button" disabled={disabled} onClick={() => sendData({ type: 'deleteDataset', id: d.id })} aria-label={`Delete ${d.name}`} title="Remove it from this browser's storage">
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  )
}
