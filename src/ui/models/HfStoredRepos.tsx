import { useEffect, useId } from 'react'
import { formatBytes, formatCount } from '../../format/format'
import { sendCheckpoint } from '../../state/actions'
import { deleteHfStored, listHfStored, useHf } from '../../state/hfModels'
import type { HfStoredRepo } from '../../worker/hfProtocol'
import { ConfirmDelete } from '../common/ConfirmDelete'

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
              <ConfirmDelete
                label={`Delete ${r.repo} from this browser`}
                title="Frees the space; the next load downloads the files again"
                question={deleteQuestion(r.repo, stored)}
                onDelete={() => deleteHfStored(r.repo)}
              />
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

/** Deleting removes every stored revision of the repo (hubFetch's deleteRepo), so the question
 *  counts them all; nothing is lost for good, but the next load downloads it again (maybe GBs). */
function deleteQuestion(repo: string, stored: readonly HfStoredRepo[]): string {
  const all = stored.filter((r) => r.repo === repo)
  const files = all.reduce((n, r) => n + r.files.length, 0)
  const what = `${formatCount(files)} ${files === 1 ? 'file' : 'files'}, ${formatBytes(all.reduce((n, r) => n + r.bytes, 0))}`
  const which = all.length > 1 ? `all ${all.length} stored revisions of ${repo} (${what})` : `${repo} (${what})`
  return `Delete ${which} from this browser? The next load of ${repo} downloads ${files === 1 ? 'it' : 'them'} again.`
}
