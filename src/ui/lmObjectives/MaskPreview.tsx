import { useLm } from '../../state/lmObjectives'
import type { MaskToken } from '../../worker/lmProtocol'

/** The first rows token by token: the tokens the loss counts are marked (and said so to
 *  screen readers), the rest are context. */
export function MaskPreview() {
  const d = useLm((s) => s.data)
  if (!d || !d.preview.length) return null
  return (
    <figure className="mask-preview" data-testid="mask-preview">
      <figcaption>
        Which tokens train: <mark className="trained">answer tokens</mark> count in the loss, the rest is context the model reads
        {d.objective === 'dpo' ? ' (for each pair, the chosen and then the rejected answer)' : ''}.
      </figcaption>
      {d.preview.map((r) => (
        <div key={r.row} className="mask-row">
          <span className="muted">Row {r.row}{r.rejected ? ', chosen' : ''}:</span> <Tokens tokens={r.tokens} />
          {r.rejected && (
            <>
              <br />
              <span className="muted">Row {r.row}, rejected:</span> <Tokens tokens={r.rejected} />
            </>
          )}
        </div>
      ))}
    </figure>
  )
}

function Tokens({ tokens }: { tokens: MaskToken[] }) {
  return (
    <span className="tokens">
      {tokens.map((t, i) =>
        t.trained ? (
          <mark key={i} className="tok trained" data-trained="true" title="counts in the loss">
            {t.text}
          </mark>
        ) : (
          <span key={i} className="tok" data-trained="false">
            {t.text}
          </span>
        ),
      )}
    </span>
  )
}
