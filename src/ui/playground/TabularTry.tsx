import { useEffect, useState } from 'react'
import { tryModel } from '../../state/actions'
import { usePlayground } from '../../state/playground'
import { useStudio } from '../../state/store'
import { SideResult } from './TextClassification'

/** Type one row of feature values (filled with the dataset's first row), see the untrained
 *  MLP's answer and the trained one's side by side. A tabular model loaded from a file (no
 *  tabular dataset) names its own columns and typical values, and answers on the "before" side. */
export function TabularTry() {
  const dataset = useStudio((s) => s.dataset)
  const input = useStudio((s) => s.model?.input)
  const fromData = dataset?.task === 'tabular-classification' || dataset?.task === 'tabular-regression'
  const features = (fromData ? dataset?.details?.roles.features : input?.features) ?? []
  const pending = usePlayground((s) => s.pending)
  const sides = usePlayground((s) => s.sides)
  const message = usePlayground((s) => s.message)
  const [values, setValues] = useState<Record<string, string>>({})
  // Start from the first preview row so a person sees realistic values to change.
  useEffect(() => {
    const first = fromData ? (dataset?.preview[0] ?? []) : []
    const typical = fromData ? undefined : input?.typical
    setValues(Object.fromEntries(features.map((f, j) => [f, first[dataset?.columns.indexOf(f) ?? -1] ?? (typical?.[j] !== undefined ? String(Number(typical[j].toPrecision(4))) : '')])))
  }, [dataset?.id, fromData, features.join('\u0001')])
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
            <input type="text" inputMode="decimal" value={values[f] ?? ''} onChange={(e) => setValues({ ...values, [f]: e.target.value })} title={`Value of "${f}" in its own units (the model standardises it as in training)`} />
          </label>
        ))}
        <div className="controls">
          <button type="submit" disabled={pending || features.length === 0} title={fromData ? 'Predict with the untrained and the trained model' : 'Predict with the loaded model'}>
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
        {(fromData ? (['before', 'after'] as const) : (['before'] as const)).map((which) => {
          const title = !fromData ? 'The loaded model' : which === 'before' ? 'Before training' : 'After training'
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
