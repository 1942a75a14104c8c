import { useEffect, useId } from 'react'
import { formatBytes, formatCount } from '../../format/format'
import { sendCheckpoint } from '../../state/actions'
import { deleteHfStored, hfDeleteWaits, listHfStored, useHf } from '../../state/hfModels'
import { useStudio } from '../../state/store'
import type { HfStoredRepo } from '../../worker/hfProtocol'
import { ConfirmDelete } from '../common/ConfirmDelete'

/** Hugging Face model files kept in this browser (worker/hfModelHost.ts, an IndexedDB cache of
 *  their own), listed under storage with their size; deleting a repo frees its space. */
export function HfStoredRepos() {
  const id = useId()
  const stored = useHf((s) => s.stored)
  const loading = useHf((s) => s.loading?.repo ?? null)
  const modelId = useStudio((s) => s.model?.id ?? null)
  const status = useStudio((s) => s.status)
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
          {stored.map((r) => {
            const waits = hfDeleteWaits(r.repo, { loading, modelId, status })
            return (
              <li key={`${r.repo}@${r.revision}`}>
                {r.repo}
                {r.revision !== 'main' ? `@${r.revision}` : ''}: {formatCount(r.files.length)} {r.files.length === 1 ? 'file' : 'files'}, {formatBytes(r.bytes)}{' '}
                <ConfirmDelete
                  disabled={waits !== null}
                  label={`Delete ${r.repo} from this browser`}
                  title={waits ?? 'Frees the space; the next load downloads the files again'}
                  question={deleteQuestion(r.repo, stored)}
                  onDelete={() => deleteHfStored(r.repo)}
                />
                {/* a disabled button is not focusable: its reason in words beside it */}
                {waits && <span className="muted"> {loading === r.repo ? '(loading)' : '(in use by the run)'}</span>}
              </li>
            )
          })}
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
