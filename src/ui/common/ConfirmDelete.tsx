import { useEffect, useId, useRef, useState } from 'react'

/** The headings above `el`, nearest first: where focus goes once the deleted item (and maybe
 *  its list) has left the page. */
function headingsAbove(el: Element | null): HTMLElement[] {
  const out: HTMLElement[] = []
  for (let a = el?.parentElement ?? null; a; a = a.parentElement) {
    const h = a.querySelector<HTMLElement>(':scope > h1, :scope > h2, :scope > h3, :scope > h4, :scope > h5, :scope > h6')
    if (h) out.push(h)
  }
  return out
}

/** A Delete that asks first, in place: pressed, it becomes the question with "Delete for good"
 *  and "Keep". Focus goes to Keep (the harmless answer; Escape answers it too) and back to
 *  Delete when kept or when the delete leaves the item there (it failed), so a keyboard user
 *  is never left on a vanished button; when the item goes, focus goes to the nearest heading
 *  still on the page (its list's, or the panel's when the list went too).
 *  `waits`: why Delete waits for now (null: it does not), in words beside it; the button stays
 *  focusable (aria-disabled, described by the words) so a keyboard or screen-reader user meets
 *  the reason, and a question open when it starts waiting closes, focus back on Delete if it
 *  was in the question (else it stays where the person is). */
export function ConfirmDelete({ label, question, title, disabled = false, waits = null, className, onDelete }: { label: string; question: string; title?: string; disabled?: boolean; waits?: string | null; className?: string; onDelete: () => void }) {
  const [asking, setAsking] = useState(false)
  const id = useId()
  const deleteRef = useRef<HTMLButtonElement>(null)
  const keepRef = useRef<HTMLButtonElement>(null)
  const asked = useRef(false)
  const landing = useRef<HTMLElement[]>([])
  const questionRef = useRef<HTMLSpanElement>(null)
  /** Whether focus goes back to Delete as the question closes: it does when it was answered; when
   *  it closes because Delete started waiting, only if focus was in it (the person may be on the
   *  button elsewhere that made it wait, as Download and load or Continue training). */
  const refocus = useRef(true)
  useEffect(() => {
    if (asking) keepRef.current?.focus()
    else if (asked.current && refocus.current) deleteRef.current?.focus()
    asked.current = asking
    refocus.current = true
  }, [asking])
  useEffect(() => {
    if (!waits || !questionRef.current) return // not asking
    refocus.current = questionRef.current.contains(document.activeElement)
    setAsking(false)
  }, [waits])
  useEffect(
    () => () => {
      // unmounted after "Delete for good": the focused button left with the item
      const active = document.activeElement
      if (!landing.current.length || (active && active !== document.body && active.isConnected)) return
      const target = landing.current.find((h) => h.isConnected)
      if (!target) return
      if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1')
      target.focus()
    },
    [],
  )
  if (!asking)
    return (
      <>
        <button
          ref={deleteRef}
          type="button"
          className={className}
          disabled={disabled}
          aria-disabled={waits ? true : undefined}
          aria-describedby={waits ? `${id}-waits` : undefined}
          aria-label={label}
          title={waits ?? title}
          onClick={() => {
            if (!waits) setAsking(true)
          }}
        >
          Delete
        </button>
        {waits && (
          <span id={`${id}-waits`} className="muted" data-testid="delete-waits">
            {' '}
            {waits}
          </span>
        )}
      </>
    )
  return (
    <span
      ref={questionRef}
      role="group"
      aria-labelledby={`${id}-q`}
      onKeyDown={(e) => {
        if (e.key !== 'Escape') return
        e.stopPropagation()
        setAsking(false)
      }}
    >
      <span id={`${id}-q`}>{question}</span>{' '}
      <button
        type="button"
        disabled={disabled}
        onClick={(e) => {
          landing.current = headingsAbove(e.currentTarget)
          setAsking(false) // focus back on Delete while the item is still here
          onDelete()
        }}
      >
        Delete for good
      </button>{' '}
      <button ref={keepRef} type="button" onClick={() => setAsking(false)}>
        Keep
      </button>
    </span>
  )
}
