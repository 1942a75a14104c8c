import { formatNumber } from '../../format/format'
import { useState } from 'react'
import { tryModel } from '../../state/actions'
import { usePlayground, type Side } from '../../state/playground'
import { ProbabilityBars } from './ProbabilityBars'

/** One side's answer: class probabilities, or the predicted number (regression). */
export function SideResult({ side, title }: { side: Side; title: string }) {
  return (
    <>
      {side.value ? (
        <p className="predicted-value" data-testid="predicted-value">
          {side.value.name}: <strong>{formatNumber(side.value.value, 4)}</strong>
        </p>
      ) : side.classes ? (
        <ProbabilityBars classes={side.classes} label={`${title}: class probabilities`} />
      ) : (
        <p className="muted">–</p>
      )}
      {side.note && <p className="help">{side.note}</p>}
    </>
  )
}

/** Type a text, see the class probabilities (or the predicted number, for regression) of the
 *  base model with its untrained head and of the tuned one. */
export function TextClassification({ regression = false }: { regression?: boolean }) {
  const [text, setText] = useState('')
  const pending = usePlayground((s) => s.pending)
  const sides = usePlayground((s) => s.sides)
  const message = usePlayground((s) => s.message)
  return (
    <div className="playground-cls">
      <div className="field">
        <label htmlFor="pg-text">{regression ? 'Text to score' : 'Text to classify'}</label>
        <textarea id="pg-text" rows={3} value={text} onChange={(e) => setText(e.target.value)} aria-describedby="pg-text-help" />
        <p className="help" id="pg-text-help">
          Encoded exactly like the training rows (cut to the run's sequence length).
        </p>
      </div>
      <div className="controls">
        <button type="button" disabled={pending || !text.trim()} onClick={() => tryModel({ kind: 'text', text })} title={regression ? 'Show the predicted number before and after fine-tuning' : 'Show class probabilities before and after fine-tuning'}>
          {regression ? 'Predict' : 'Classify'}
        </button>
      </div>
      {message && <p className="muted" role="status">{message}</p>}
      <div className="side-by-side">
        {(['before', 'after'] as const).map((which) => {
          const side = sides[which]
          const title = which === 'before' ? 'Before fine-tuning' : 'After fine-tuning'
          return (
            <figure key={which} className="side" data-testid={`prediction-${which}`}>
              <figcaption>{title}</figcaption>
              <SideResult side={side} title={title} />
            </figure>
          )
        })}
      </div>
    </div>
  )
}
