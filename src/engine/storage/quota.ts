/**
 * Telling that a storage write failed because the browser's storage for this site is full,
 * however IndexedDB reports it: a QuotaExceededError (often with an empty message), or a
 * transaction aborted by one (its `error`, or idb's `inner`).
 */
export function isQuotaExceeded(e: unknown, depth = 0): boolean {
  if (typeof e !== 'object' || e === null || depth > 3) return false
  const { name, message } = e as { name?: unknown; message?: unknown }
  if (name === 'QuotaExceededError') return true
  if (typeof message === 'string' && /quota/i.test(message)) return true
  for (const key of ['inner', 'error', 'cause'] as const) {
    const inner: unknown = (e as Record<string, unknown>)[key]
    if (inner !== e && isQuotaExceeded(inner, depth + 1)) return true
  }
  return false
}

/** What the page says when a dataset is loaded but storage is too full to keep it. */
export function datasetNotKeptMessage(name: string): string {
  return (
    `${name} is loaded and can be trained on, but the browser's storage for this site is full, so it is not kept: ` +
    'it will not be there after a reload. To keep it, delete stored datasets, checkpoints or runs you no longer need, then load it again.'
  )
}
