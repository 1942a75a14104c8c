import { useState } from 'react'
import { tryModel } from '../../state/actions'
import { usePlayground } from '../../state/playground'
import { ProbabilityBars } from './ProbabilityBars'

/** Type a text, see the class probabilities of the base model (untrained head) and the tuned one. */
export function TextClassification() {
  const [text, setText] = useState('')
  const pending = usePlayground((s) => s.pending)
  const sides = usePlayground((s) => s.sides)
  const message = usePlayground((s) => s.message)
  return (
    <div className="playground-cls">
      <div className="field">
        <label htmlFor="pg-text">Text to classify</label>
        <textarea id="pg-text" rows={3} value={text} onChange={(e) => setText(e.target.value)} aria-describedby="pg-text-help" />
        <p className="help" id="pg-text-help">
          Encoded exactly like the training rows (cut to the run's sequence length).
        </p>
      </div>
      <div className="controls">
        <button type="button" disabled={pending || !text.trim()} onClick={() => tryModel({ kind: 'text', text })} title="Show class probabilities before and after fine-tuning">
          Classify
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
              {side.classes ? <ProbabilityBars classes={side.classes} label={`${title}: class probabilities`} /> : <p className="muted">–</p>}
              {side.note && <p className="help">{side.note}</p>}
            </figure>
          )
        })}
      </div>
    </div>
  )
}
