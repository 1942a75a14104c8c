import { useEffect, useId, useState } from 'react'
import { sendData } from '../../state/actions'
import type { DatasetDetails } from '../../worker/dataProtocol'

/** Which column is the text and which are labels (several labels: one head per label). */
export function RoleSelect({ details, disabled }: { details: DatasetDetails; disabled: boolean }) {
  const textId = useId()
  const [text, setText] = useState(details.roles.text ?? '')
  const [labels, setLabels] = useState<string[]>(details.roles.labels)
  // A new dataset (or roles applied in the worker) resets the form.
  useEffect(() => {
    setText(details.roles.text ?? '')
    setLabels(details.roles.labels)
  }, [details])
  const changed = text !== (details.roles.text ?? '') || labels.join('\u0001') !== details.roles.labels.join('\u0001')
  if (details.allColumns.length < 2) return null
  return (
    <form
      className="roles"
      aria-label="Column roles"
      onSubmit={(e) => {
        e.preventDefault()
        sendData({ type: 'setRoles', roles: { labels, ...(text ? { text } : {}) } })
      }}
    >
      <div className="field">
        <label htmlFor={textId}>Text column</label>
        <select id={textId} value={text} disabled={disabled} onChange={(e) => setText(e.target.value)} title="The column the model reads.">
          <option value="">(none: learn the label column as text)</option>
          {details.allColumns.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </div>
      <fieldset className="label-cols" disabled={disabled}>
        <legend title="The class to predict. Tick several for several heads (multitask).">Label column(s)</legend>
        {details.allColumns.map((c) => (
          <label key={c} className="check">
            <input
              type="checkbox"
              checked={labels.includes(c)}
              disabled={c === text}
              onChange={(e) => setLabels(e.target.checked ? [...labels, c].sort((a, b) => details.allColumns.indexOf(a) - details.allColumns.indexOf(b)) : labels.filter((l) => l !== c))}
            />
            {c}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={disabled || !changed} title="Check the rows again with these columns.">
        Use these columns
      </button>
    </form>
  )
}
