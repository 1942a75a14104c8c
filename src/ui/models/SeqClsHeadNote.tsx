import { useId } from 'react'
import { newHfHead } from '../../state/hfModels'
import { useStudio } from '../../state/store'

/** A Hugging Face sequence classifier loaded with its own head (engine/session/families/hfSeqCls.ts):
 *  what the head classifies, that it answers before any training, and the way to a new head
 *  when the dataset's classes are other ones. */
export function SeqClsHeadNote() {
  const id = useId()
  const words = useStudio((s) => (s.model?.card?.source === 'huggingface' && typeof s.model.card.seqClsHead === 'string' ? s.model.card.seqClsHead : null))
  const busy = useStudio((s) => s.busy !== null)
  if (!words) return null
  return (
    <div className="field" role="group" aria-labelledby={`${id}-head`}>
      <p id={`${id}-head`} data-testid="hf-seq-cls-head">
        {words}
      </p>
      <button type="button" disabled={busy} onClick={newHfHead} aria-describedby={`${id}-head-help`}>
        Use a new head
      </button>
      <p className="help" id={`${id}-head-help`}>
        For a dataset with other classes (or another kind of target): sets this head aside, and the next run trains a new one from scratch for the dataset. Classes are matched by name, so a dataset with the same names in another order keeps this head.
      </p>
    </div>
  )
}
