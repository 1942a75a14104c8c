import { useEffect, useId } from 'react'
import { formatBytes, formatDateTime } from '../../format/format'
import { sendCheckpoint } from '../../state/actions'
import { deleteSavedSelfTraining, listSavedSelfTraining, useLm } from '../../state/lmObjectives'
import { useStudio, runActive } from '../../state/store'
import { ConfirmDelete } from '../common/ConfirmDelete'

/** Self-training jobs kept in this browser (engine/storage/selfTraining.ts: each finished
 *  round's figures, charts, weights and the labels the next round trains on), listed under
 *  storage with what each takes; deleting one frees its space. Restoring is in step 3
 *  (Learning without labels), where the texts and the model are. */
export function StoredSelfTraining() {
  const id = useId()
  const saved = useLm((s) => s.saved)
  const status = useStudio((s) => s.status)
  const running = runActive(status)
  useEffect(() => listSavedSelfTraining(), [])
  // the storage bar's figure follows what was kept or deleted
  useEffect(() => {
    if (saved) sendCheckpoint({ type: 'storageEstimate' })
  }, [saved])
  const total = saved?.reduce((n, j) => n + j.bytes, 0) ?? 0
  return (
    <div className="field" data-testid="stored-self-training">
      <h3 id={`${id}-stored`}>Self-training kept in this browser</h3>
      {saved && saved.length === 0 && <p className="muted">No self-training rounds are kept.</p>}
      {saved && saved.length > 0 && (
        <>
          <p data-testid="stored-self-training-total">
            {saved.length} {saved.length === 1 ? 'job takes' : 'jobs take'} {formatBytes(total)}: each finished round’s figures, charts and model, and the labels the next round trains on. Restore one in step 3 (Learning without labels).
          </p>
          <ul aria-labelledby={`${id}-stored`}>
            {saved.map((j) => (
              <li key={j.id}>
                {j.name} ({j.classes.join(' / ')}): {j.roundsDone} of {j.rounds} {j.rounds === 1 ? 'round' : 'rounds'}, {formatDateTime(j.updatedAt, false)}, {formatBytes(j.bytes)}{' '}
                <ConfirmDelete
                  disabled={running}
                  onDelete={() => deleteSavedSelfTraining(j.id)}
                  label={`Delete the self-training on ${j.name} from this browser`}
                  title="Frees the space: its rounds' figures, charts, models and labels are gone"
                  question={`Delete the self-training on ${j.name} (${j.roundsDone} of ${j.rounds} ${j.rounds === 1 ? 'round' : 'rounds'}, ${formatBytes(j.bytes)})? Its rounds' figures, charts, models and labels cannot be brought back.`}
                />
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  )
}
