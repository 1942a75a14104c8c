import { useStudio } from '../../state/store'

/** Progress for the long operations that are not training steps: loading, caching features. */
export function BusyBar() {
  const busy = useStudio((s) => s.busy)
  if (!busy) return null
  const pct = busy.total > 0 ? Math.min(100, (100 * busy.done) / busy.total) : undefined
  return (
    <div className="busy" role="status" aria-live="polite">
      <label>
        {busy.label}
        <progress max={100} {...(pct !== undefined ? { value: pct } : {})} aria-label={busy.label} />
      </label>
    </div>
  )
}
