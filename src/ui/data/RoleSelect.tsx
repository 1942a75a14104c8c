import { useEffect, useId, useState } from 'react'
import { sendData } from '../../state/actions'
import type { DatasetDetails } from '../../worker/dataProtocol'

const join = (xs: readonly string[] | undefined) => (xs ?? []).join('\u0001')

/**
 * Which column plays which part: the text the model reads, the label(s) it classifies
 * (several: one head each, multitask), or a numeric target it predicts (regression), and
 * the numeric feature columns a table is read from. A label and a target exclude each other.
 */
export function RoleSelect({ details, disabled }: { details: DatasetDetails; disabled: boolean }) {
  const textId = useId()
  const targetId = useId()
  const [text, setText] = useState(details.roles.text ?? '')
  const [labels, setLabels] = useState<string[]>(details.roles.labels)
  const [target, setTarget] = useState(details.roles.target ?? '')
  const [features, setFeatures] = useState<string[]>(details.roles.features ?? [])
  // A new dataset (or roles applied in the worker) resets the form.
  useEffect(() => {
    setText(details.roles.text ?? '')
    setLabels(details.roles.labels)
    setTarget(details.roles.target ?? '')
    setFeatures(details.roles.features ?? [])
  }, [details])
  const changed = text !== (details.roles.text ?? '') || join(labels) !== join(details.roles.labels) || target !== (details.roles.target ?? '') || join(features) !== join(details.roles.features)
  if (details.allColumns.length < 2) return null
  const order = (xs: string[]) => xs.sort((a, b) => details.allColumns.indexOf(a) - details.allColumns.indexOf(b))
  const used = (c: string) => c === text || c === target || labels.includes(c)
  return (
    <form
      className="roles"
      aria-label="Column roles"
      onSubmit={(e) => {
        e.preventDefault()
        sendData({ type: 'setRoles', roles: { labels, features: features.filter((f) => !used(f)), ...(text ? { text } : {}), ...(target && labels.length === 0 ? { target } : {}) } })
      }}
    >
      <div className="field">
        <label htmlFor={textId}>Text column</label>
        <select id={textId} value={text} disabled={disabled} onChange={(e) => setText(e.target.value)} title="The column the model reads.">
          <option value="">(none: numeric features, or learn the label column as text)</option>
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
              onChange={(e) => {
                setLabels(e.target.checked ? order([...labels, c]) : labels.filter((l) => l !== c))
                if (e.target.checked) setTarget('') // a class to predict replaces a number to predict
              }}
            />
            {c}
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={targetId}>Numeric target</label>
        <select
          id={targetId}
          value={target}
          disabled={disabled}
          onChange={(e) => {
            setTarget(e.target.value)
            if (e.target.value) setLabels([])
          }}
          title="A number to predict (regression: MAE and RMSE are reported in its units). Choosing one clears the label columns."
        >
          <option value="">(none: classify the label column)</option>
          {details.allColumns.map((c) => (
            <option key={c} value={c} disabled={c === text}>
              {c}
            </option>
          ))}
        </select>
      </div>
      {!text && (
        <fieldset className="label-cols" disabled={disabled}>
          <legend title="Numeric columns the tabular model reads, each standardised with the training split's mean and standard deviation.">Feature columns</legend>
          {details.allColumns.map((c) => (
            <label key={c} className="check">
              <input type="checkbox" checked={features.includes(c) && !used(c)} disabled={used(c)} onChange={(e) => setFeatures(e.target.checked ? order([...features, c]) : features.filter((f) => f !== c))} />
              {c}
            </label>
          ))}
        </fieldset>
      )}
      <button type="submit" disabled={disabled || !changed} title="Check the rows again with these columns.">
        Use these columns
      </button>
    </form>
  )
}
