import { useEffect, useId } from 'react'
import { formatBytes } from '../../format/format'
import { sendCheckpoint } from '../../state/actions'
import { deleteHfStored, listHfStored, useHf } from '../../state/hfModels'

/** Hugging Face model files kept in this browser (worker/hfModelHost.ts, an IndexedDB cache of
 *  their own), listed under storage with their size; deleting a repo frees its space. */
export function HfStoredRepos() {
  const id = useId()
  const stored = useHf((s) => s.stored)
  useEffect(() => listHfStored(), [])
  // the storage bar's figure follows what was stored or deleted
  useEffect(() => {
    if (stored) sendCheckpoint({ type: 'storageEstimate' })
  }, [stored])
  return (
    <div className="field" data-testid="hf-stored">
      <h3 id={`${id}-stored`}>Hugging Face models stored in this browser</h3>
      {stored && stored.length === 0 && <p className="muted">No Hugging Face model files are stored.</p>}
      {stored && stored.length > 0 && (
        <ul aria-labelledby={`${id}-stored`}>
          {stored.map((r) => (
            <li key={`${r.repo}@${r.revision}`}>
              {r.repo}
              {r.revision !== 'main' ? `@${r.revision}` : ''}: {r.files.length} files, {formatBytes(r.bytes)}{' '}
              <button type="button" onClick={() => deleteHfStored(r.repo)} aria-label={`Delete ${r.repo} from this browser`} title="Frees the space; the next load downloads the files again">
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
