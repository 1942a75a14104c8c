import { useEffect } from 'react'
import { useCheckpoints } from '../../state/checkpoints'
import { formatBytes as bytes, formatPercent } from '../../format/format'

/** The page-side storage API: persistence is asked for here, never in the worker. */
function storageApi(): StorageManager | null {
  return typeof navigator !== 'undefined' && navigator.storage && typeof navigator.storage.persist === 'function' ? navigator.storage : null
}

/** Storage used against the browser's quota, and "Keep my data" (persistent storage). */
export function StorageBar() {
  const storage = useCheckpoints((s) => s.storage)
  const persisted = useCheckpoints((s) => s.persisted)
  const api = storageApi()

  useEffect(() => {
    void api?.persisted().then((p) => useCheckpoints.setState({ persisted: p }))
  }, [api])

  const frac = storage?.usage != null && storage.quota ? storage.usage / storage.quota : null
  const pct = frac === null ? null : 100 * frac
  return (
    <div className="storage-bar" data-testid="storage">
      <label>
        Storage used: {bytes(storage?.usage)} of {bytes(storage?.quota)}
        {frac !== null && ` (${formatPercent(frac, frac < 0.01 ? 2 : 0)})`}; checkpoints take {bytes(storage?.checkpointBytes ?? 0)}{' '}
        <progress max={100} value={pct ?? 0} aria-label="Storage used of the browser's quota for this site" />
      </label>{' '}
      {api &&
        (persisted ? (
          <span data-testid="persisted">Kept: the browser will not clear this site's data to free space.</span>
        ) : (
          <button
            type="button"
            title="Ask the browser not to clear this site's data (checkpoints, runs, datasets) when space runs low"
            onClick={() => void api.persist().then((p) => useCheckpoints.setState({ persisted: p }))}
          >
            Keep my data
          </button>
        ))}
      {persisted === false && <span className="muted"> The browser may clear stored data under storage pressure.</span>}
    </div>
  )
}
