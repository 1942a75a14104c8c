import { useId, useState } from 'react'
import { nameHfHeadClasses, newHfHead } from '../../state/hfModels'
import { useStudio } from '../../state/store'

/** A Hugging Face sequence classifier loaded with its own head (engine/session/families/hfSeqCls.ts):
 *  what the head classifies, that it answers before any training, and the way to a new head
 *  when the dataset's classes are other ones. */
export function SeqClsHeadNote() {
  const id = useId()
  const words = useStudio((s) => (s.model?.card?.source === 'huggingface' && typeof s.model.card.seqClsHead === 'string' ? s.model.card.seqClsHead : null))
  // the store's own values (a selector must not build a new array on every call)
  const placeholderValue = useStudio((s) => s.model?.card?.seqClsPlaceholders)
  const namedValue = useStudio((s) => s.model?.card?.seqClsNames)
  const dataset = useStudio((s) => s.dataset)
  const busy = useStudio((s) => s.busy !== null)
  if (!words) return null
  const placeholders = stringList(placeholderValue)
  const named = stringList(namedValue)
  const classes = dataset?.task === 'text-classification' ? dataset.classes.map((c) => c.name) : null
  return (
    <div className="field" role="group" aria-labelledby={`${id}-head`}>
      <p id={`${id}-head`} data-testid="hf-seq-cls-head">
        {words}
      </p>
      {placeholders && classes && <NameClasses key={`${placeholders.join('\u0000')}|${classes.join('\u0000')}|${named?.join('\u0000') ?? ''}`} placeholders={placeholders} classes={classes} named={named} busy={busy} />}
      <button type="button" disabled={busy} onClick={newHfHead} aria-describedby={`${id}-head-help`}>
        Use a new head
      </button>
      <p className="help" id={`${id}-head-help`}>
        For a dataset with other classes (or another kind of target): sets this head aside, and the next run trains a new one from scratch for the dataset. Classes are matched by name, so a dataset with the same names in another order keeps this head.
      </p>
    </div>
  )
}

function stringList(v: unknown): string[] | null {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null
}

/** The head's placeholder classes (LABEL_i) named after the dataset's classes, by the person:
 *  one choice per output, proposed in the dataset's sorted order, used only when the button is
 *  pressed (nothing is guessed silently). */
function NameClasses({ placeholders, classes, named, busy }: { placeholders: string[]; classes: string[]; named: string[] | null; busy: boolean }) {
  const id = useId()
  const proposal = named && named.every((n) => classes.includes(n)) ? named : [...classes].sort()
  const [choice, setChoice] = useState<string[]>(proposal)
  if (classes.length !== placeholders.length) {
    return (
      <p className="help" data-testid="hf-seq-cls-naming">
        The dataset has {classes.length} classes ({classes.join(', ')}) and this head {placeholders.length} ({placeholders.join(', ')}), so its classes cannot be named after the dataset's: press “Use a new head” to train one for these classes.
      </p>
    )
  }
  const twice = choice.find((c, i) => choice.indexOf(c) !== i)
  const inUse = named !== null && named.length === choice.length && named.every((n, i) => n === choice[i])
  return (
    <fieldset className="field" data-testid="hf-seq-cls-naming" aria-describedby={`${id}-help`}>
      <legend>Which of the dataset’s classes is each of the head’s outputs?</legend>
      {placeholders.map((p, i) => (
        <div key={p}>
          <label htmlFor={`${id}-${i}`}>{p} is</label>{' '}
          <select id={`${id}-${i}`} value={choice[i]} disabled={busy} onChange={(e) => setChoice(choice.map((c, j) => (j === i ? e.target.value : c)))}>
            {classes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
      ))}
      <p className="help" id={`${id}-help`}>
        The checkpoint’s config.json calls its classes only {placeholders.join(', ')}. Proposed: the dataset’s classes in sorted order (what a training script that numbered its classes in sorted order gave the head); check it against the model’s card. Nothing is used until you press the button; then the head is measured on the validation rows, and an accuracy far below the line to beat means the names are the wrong way round.
      </p>
      {twice !== undefined && (
        <p className="error" role="alert">
          {twice} is chosen for two outputs: each class of the dataset names one output.
        </p>
      )}
      {inUse ? (
        <p role="status" data-testid="hf-seq-cls-names-in-use">
          In use: {placeholders.map((p, i) => `${p} = ${named[i]}`).join(', ')}.
        </p>
      ) : (
        <button type="button" disabled={busy || twice !== undefined} onClick={() => nameHfHeadClasses(choice)}>
          Keep the trained head with these names
        </button>
      )}
    </fieldset>
  )
}
