import { useEffect, useId } from 'react'
import { formatBytes, formatCount } from '../../format/format'
import { sendCheckpoint } from '../../state/actions'
import { deleteHfStored, hfDeleteWaits, listHfStored, loadingRepos, useHf } from '../../state/hfModels'
import { useStudio } from '../../state/store'
import type { HfStoredRepo } from '../../worker/hfProtocol'
import { ConfirmDelete } from '../common/ConfirmDelete'

/** Hugging Face model files kept in this browser (worker/hfModelHost.ts, an IndexedDB cache of
 *  their own), listed under storage with their size; deleting a repo frees its space. */
export function HfStoredRepos() {
  const id = useId()
  const stored = useHf((s) => s.stored)
  const loading = loadingRepos(useHf((s) => s.loads))
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
                {rowName(r)}: {formatCount(r.files.length)} {r.files.length === 1 ? 'file' : 'files'}, {formatBytes(r.bytes)}
                {r.whole ? '' : '; not all its files are known to be here, so its next load asks the Hub for the rest'}{' '}
                {/* while it waits, Delete stays focusable and says why, beside it and as its
                    description (ConfirmDelete's waits), as the checkpoints' Delete does */}
                <ConfirmDelete
                  waits={waits}
                  label={`Delete ${rowName(r)} from this browser`}
                  title="Frees the space; the next load downloads the files again"
                  question={deleteQuestion(r, stored)}
                  onDelete={() => deleteHfStored(r.repo, r.revision)}
                />
              </li>
            )
          })}
        </ul>
      )}
    </div>
  )
}

/** A row's name: the repo, with its revision unless main. */
const rowName = (r: HfStoredRepo) => (r.revision !== 'main' ? `${r.repo}@${r.revision}` : r.repo)

/** Deleting removes this row's revision only (the worker's hfDeleteStored), so the question
 *  names the revision where the repo has others, and says that they stay; nothing is lost for
 *  good, but the next load of it downloads the files again (maybe GBs). */
function deleteQuestion(row: HfStoredRepo, stored: readonly HfStoredRepo[]): string {
  const others = stored.filter((r) => r.repo === row.repo && r.revision !== row.revision).map((r) => r.revision)
  const files = row.files.length
  const what = `${formatCount(files)} ${files === 1 ? 'file' : 'files'}, ${formatBytes(row.bytes)}`
  const which = others.length || row.revision !== 'main' ? `revision ${row.revision} of ${row.repo}` : row.repo
  const stay = others.length ? ` The other stored ${others.length === 1 ? 'revision' : 'revisions'} of ${row.repo} (${others.join(', ')}) ${others.length === 1 ? 'stays' : 'stay'}.` : ''
  return `Delete ${which} (${what}) from this browser?${stay} The next load of ${which} downloads ${files === 1 ? 'it' : 'them'} again.`
}
