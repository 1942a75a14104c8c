import { useEffect, useState } from 'react'
import { tryModel } from '../../state/actions'
import { usePlayground } from '../../state/playground'
import { useStudio } from '../../state/store'
import { SideResult } from './TextClassification'

/** Type one row of feature values (filled with the dataset's first row), see the untrained
 *  MLP's answer and the trained one's side by side. */
export function TabularTry() {
  const dataset = useStudio((s) => s.dataset)
  const features = dataset?.details?.roles.features ?? []
  const pending = usePlayground((s) => s.pending)
  const sides = usePlayground((s) => s.sides)
  const message = usePlayground((s) => s.message)
  const [values, setValues] = useState<Record<string, string>>({})
  // Start from the first preview row so a person sees realistic values to change.
  useEffect(() => {
    const first = dataset?.preview[0] ?? []
    setValues(Object.fromEntries(features.map((f) => [f, first[dataset?.columns.indexOf(f) ?? -1] ?? ''])))
  }, [dataset?.id, features.join('\u0001')])
  return (
    <div className="playground-cls">
      <form
        className="tabular-row"
        aria-label="Feature values"
        onSubmit={(e) => {
          e.preventDefault()
          tryModel({ kind: 'row', values })
        }}
      >
        {features.map((f) => (
          <label key={f} className="field compact">
            {f}
            <input type="text" inputMode="decimal" value={values[f] ?? ''} onChange={(e) => setValues({ ...values, [f]: e.target.value })} title={`Value of "${f}" (standardised like the training rows)`} />
          </label>
        ))}
        <div className="controls">
          <button type="submit" disabled={pending || features.length === 0} title="Predict with the untrained and the trained model">
            Predict
          </button>
        </div>
      </form>
      {message && (
        <p className="muted" role="status">
          {message}
        </p>
      )}
      <div className="side-by-side">
        {(['before', 'after'] as const).map((which) => {
          const title = which === 'before' ? 'Before training' : 'After training'
          return (
            <figure key={which} className="side" data-testid={`prediction-${which}`}>
              <figcaption>{title}</figcaption>
              <SideResult side={sides[which]} title={title} />
            </figure>
          )
        })}
      </div>
    </div>
  )
}
