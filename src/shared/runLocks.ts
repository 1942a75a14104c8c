/** The Web Lock a tab holds while it trains a run (state/runsAcrossTabs.ts takes it from Train
 *  until the run ends or is refused; the browser lets it go when the tab closes or crashes).
 *  The page reads it to list another tab's live run as running and a dead tab's as
 *  interrupted; the worker reads it to refuse deleting or renaming a run another tab trains,
 *  and to offer no live run of another tab as one to resume. */
export const RUN_LOCK_PREFIX = 'finetune-studio-run:'

export const runLockName = (runId: string): string => `${RUN_LOCK_PREFIX}${runId}`

interface LocksLike {
  query(): Promise<{ held?: { name?: string }[] }>
}

/** The runs some tab holds the lock of now (this tab's own included), or null where the
 *  browser has no Web Locks (nothing can be told then). */
export async function runsTrainedByTabs(locks: LocksLike | undefined | null): Promise<Set<string> | null> {
  if (!locks) return null
  try {
    const { held = [] } = await locks.query()
    return new Set(held.flatMap((l) => (l.name?.startsWith(RUN_LOCK_PREFIX) ? [l.name.slice(RUN_LOCK_PREFIX.length)] : [])))
  } catch {
    return null
  }
}
