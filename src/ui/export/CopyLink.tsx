import { useId, useRef, useState } from 'react'

/** Copies the settings link (the address bar is kept in sync with the settings). Where the
 *  Clipboard API is refused, the link is shown selected in a field to copy by hand. */
export function CopyLink() {
  const id = useId()
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'copied' } | { kind: 'manual'; url: string }>({ kind: 'idle' })
  const field = useRef<HTMLInputElement>(null)
  const copy = async () => {
    const url = location.href
    try {
      if (!navigator.clipboard) throw new Error('no clipboard')
      await navigator.clipboard.writeText(url)
      setState({ kind: 'copied' })
    } catch {
      setState({ kind: 'manual', url })
      setTimeout(() => field.current?.select(), 0)
    }
  }
  return (
    <div className="field">
      <div className="controls">
        <button type="button" onClick={() => void copy()} aria-describedby={`${id}-help`}>
          Copy link
        </button>
        <span role="status" data-testid="copy-status">
          {state.kind === 'copied' ? 'Link copied.' : ''}
        </span>
      </div>
      <p className="help" id={`${id}-help`}>
        A link with every setting you changed, the objectives panel’s choices and the Hugging Face model’s repo id if one is loaded (not your data or weights): whoever opens it gets the same settings, and is offered that model to download.
      </p>
      {state.kind === 'manual' && (
        <>
          <label htmlFor={`${id}-url`}>Copying was blocked; copy this link by hand</label>
          <input id={`${id}-url`} ref={field} readOnly value={state.url} onFocus={(e) => e.target.select()} />
        </>
      )}
    </div>
  )
}
