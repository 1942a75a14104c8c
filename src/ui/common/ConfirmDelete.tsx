import { useEffect, useId, useRef, useState } from 'react'

/** A Delete that asks first, in place: pressed, it becomes the question with "Delete for good"
 *  and "Keep". Focus goes to Keep (the harmless answer; Escape answers it too) and back to
 *  Delete when kept, so a keyboard user is never left on a vanished button. */
export function ConfirmDelete({ label, question, title, disabled = false, onDelete }: { label: string; question: string; title?: string; disabled?: boolean; onDelete: () => void }) {
  const [asking, setAsking] = useState(false)
  const id = useId()
  const deleteRef = useRef<HTMLButtonElement>(null)
  const keepRef = useRef<HTMLButtonElement>(null)
  const asked = useRef(false)
  useEffect(() => {
    if (asking) keepRef.current?.focus()
    else if (asked.current) deleteRef.current?.focus()
    asked.current = asking
  }, [asking])
  if (!asking)
    return (
      <button ref={deleteRef} type="button" disabled={disabled} aria-label={label} title={title} onClick={() => setAsking(true)}>
        Delete
      </button>
    )
  return (
    <span
      role="group"
      aria-labelledby={`${id}-q`}
      onKeyDown={(e) => {
        if (e.key === 'Escape') setAsking(false)
      }}
    >
      <span id={`${id}-q`}>{question}</span>{' '}
      <button
        type="button"
        disabled={disabled}
        onClick={() => {
          asked.current = false // the item goes: no Delete to come back to
          setAsking(false)
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
