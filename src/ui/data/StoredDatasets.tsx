import { sendData } from '../../state/actions'
import { useDatasets } from '../../state/datasets'
import { formatBytes, formatCount } from '../../format/format'
import type { StoredDatasetInfo } from '../../worker/dataProtocol'
import { ConfirmDelete } from '../common/ConfirmDelete'

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
                <ConfirmDelete
                  disabled={disabled}
                  label={`Delete ${d.name}`}
                  title="Remove it from this browser's storage"
                  question={deleteQuestion(d, d.id === currentId)}
                  onDelete={() => sendData({ type: 'deleteDataset', id: d.id })}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  )
}

/** Names what goes: the file, its validation file (stored with it), how many rows or images and
 *  the space; the open one stays loaded until the page is reloaded (worker/dataHost.ts). */
function deleteQuestion(d: StoredDatasetInfo, open: boolean): string {
  const rows = d.kind === 'images' ? `${formatCount(d.rows)} ${d.rows === 1 ? 'image' : 'images'}` : `${formatCount(d.rows)} ${d.rows === 1 ? 'row' : 'rows'}`
  const withVal = d.validationName ? ` and its validation file ${d.validationName}` : ''
  const after = open ? ' It stays open until you reload the page or open another; after that only adding the file again brings it back.' : ' Only adding the file again brings it back.'
  return `Delete ${d.name}${withVal} (${rows}, ${formatBytes(d.bytes)}) from this browser?${after}`
}
