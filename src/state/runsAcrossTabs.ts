/** The Runs list follows the runs of the studio's other tabs (same origin, one IndexedDB).
 *
 *  Each tab's worker writes its own runs' records and lists them only when its page asks
 *  (worker/checkpointHost.ts): a run trained in another tab stayed "running" in this tab's list
 *  until a reload. Now a tab whose runs' records changed says so on a BroadcastChannel, and the
 *  other tabs list the runs (and checkpoints) again. A tab knows its records changed when its
 *  worker's list of them changed (a run recorded as it starts, renamed, deleted, a recovery offer
 *  dismissed), when its run reported an epoch (its record is written right after), and when its
 *  run ended (its record's last write is done before the end is reported: session.ts).
 *
 *  A record says "running" (or "paused") until its run ends, and a tab closed or crashed mid-run
 *  never ends it. So a tab holds a Web Lock named after its run while the run is under way
 *  (from Train until it ends or is refused); the browser lets it go with the tab. The list shows a
 *  running record whose lock no tab holds as "interrupted", as the record of a run whose page
 *  went away reads once its recovery offer is dismissed (engine/storage/runs.ts markInterrupted),
 *  and it waits for the lock of each run another tab trains, so it says so the moment that tab
 *  goes; until then Delete and Rename of that run wait, and the recovery offer (the worker's
 *  findInterrupted takes any "running" record with a checkpoint for one the last visit left)
 *  is not made for it (ui/checkpoints/RecoveryAlerts.tsx). */
import { create } from 'zustand'
import type { RunInfo } from '../worker/checkpointProtocol'
import { sendCheckpoint } from './actions'
import { runActive, useStudio } from './store'
import { runLockName } from '../shared/runLocks'

const CHANNEL = 'finetune-studio-runs'
const lockName = runLockName

/** Which listed runs say "running" or "paused" while no tab trains them (gone), and which
 *  another tab trains now (elsewhere); `known`: whether this browser can tell (Web Locks). */
export const useRunTabs = create<{ gone: ReadonlySet<string>; elsewhere: ReadonlySet<string>; known: boolean }>(() => ({ gone: new Set(), elsewhere: new Set(), known: false }))

/** Whether the recovery offer for this run may be made: no tab trains it (asked before it is
 *  offered, so a run another tab trains is never offered, not even for a moment). */
export const offerable = (s: { gone: ReadonlySet<string>; known: boolean }, runId: string): boolean => !s.known || s.gone.has(runId)

const live = (r: RunInfo) => r.status === 'running' || r.status === 'paused'

/** The status the Runs list shows for a record: "interrupted" for a run no tab trains. */
export function shownRunStatus(r: RunInfo, gone: ReadonlySet<string>): RunInfo['status'] {
  return live(r) && gone.has(r.id) ? 'interrupted' : r.status
}

/** Why Delete (and Rename) of a run another tab trains waits: its tab writes the record at each
 *  epoch and as it ends, so a deleted record would come back and a new name would be lost. */
export const ELSEWHERE_WAITS = 'This run is training in another tab: delete or rename it once it has stopped or finished there.'

/** What a record's changes are compared by: what the list shows of it. */
const shape = (runs: readonly RunInfo[]) => runs.map((r) => `${r.id}\u0000${r.name}\u0000${r.status}\u0000${r.epochs.length}\u0000${r.updatedAt}`).join('\u0001')

/** Starts following the other tabs; the returned function stops. */
export function followRunsAcrossTabs(): () => void {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined
  const channel = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel(CHANNEL) : null
  let stopped = false

  // Another tab's records changed: list them again, once for a burst of messages.
  let relist: ReturnType<typeof setTimeout> | null = null
  if (channel)
    channel.onmessage = () => {
      if (relist) return
      relist = setTimeout(() => {
        relist = null
        sendCheckpoint({ type: 'listRuns' })
        sendCheckpoint({ type: 'listCheckpoints' })
      }, 50)
    }
  const changed = () => channel?.postMessage('runs')

  // This tab's run holds its lock from Train until it has ended.
  let held: { runId: string; release: () => void } | null = null
  const holdRunLock = (runId: string | null) => {
    if (held?.runId === runId) return
    held?.release()
    held = null
    if (!runId || !locks) return
    let release = () => {}
    const until = new Promise<void>((r) => (release = r))
    held = { runId, release }
    void locks.request(lockName(runId), () => until).catch(() => {})
  }

  // The runs other tabs train: each waited on, so the list hears when their tab goes. A live
  // record's lock is asked for if free: granted, no tab trains that run (let go at once);
  // held, its tab is there, and the request waits until that tab lets it go.
  const gone = new Set<string>()
  const waiting = new Map<string, AbortController>()
  const publish = () => useRunTabs.setState({ gone: new Set(gone), elsewhere: new Set(waiting.keys()) })
  const check = () => {
    if (!locks || stopped) return
    const { runId, status, checkpoints } = useStudio.getState()
    const others = new Set(checkpoints.runs.filter((r) => live(r) && !(r.id === runId && runActive(status))).map((r) => r.id))
    for (const id of gone) if (!others.has(id)) gone.delete(id)
    for (const [id, ac] of waiting) if (!others.has(id)) (ac.abort(), waiting.delete(id))
    for (const id of others) {
      if (waiting.has(id)) continue
      void locks
        .request(lockName(id), { ifAvailable: true }, async (free) => {
          if (stopped) return
          if (free) gone.add(id)
          else if (!waiting.has(id)) {
            gone.delete(id)
            const ac = new AbortController()
            waiting.set(id, ac)
            void locks
              .request(lockName(id), { signal: ac.signal }, async () => {
                if (waiting.get(id) !== ac) return
                // its tab let it go: the run ended, or the tab closed or crashed. Said once the
                // record is read again: an ended run's says how it ended. The recovery offer is
                // looked for again: a run that stopped with its tab can be continued here.
                waiting.delete(id)
                gone.add(id)
                sendCheckpoint({ type: 'listRuns' })
                sendCheckpoint({ type: 'findInterrupted' })
              })
              .catch(() => {})
          }
          publish()
        })
        .catch(() => {})
    }
    publish()
  }

  const unsubscribe = useStudio.subscribe((st, prev) => {
    holdRunLock(runActive(st.status) ? st.runId : null)
    if (st.checkpoints.runs !== prev.checkpoints.runs) {
      if (shape(st.checkpoints.runs) !== shape(prev.checkpoints.runs)) changed()
      check()
    }
    const running = runActive(prev.status) && prev.runId !== null
    if (running && st.epochs.length > prev.epochs.length) changed()
    if (running && !runActive(st.status)) changed()
  })
  holdRunLock(runActive(useStudio.getState().status) ? useStudio.getState().runId : null)
  useRunTabs.setState({ known: !!locks })
  check()

  return () => {
    stopped = true
    unsubscribe()
    channel?.close()
    if (relist) clearTimeout(relist)
    holdRunLock(null)
    for (const ac of waiting.values()) ac.abort()
    waiting.clear()
    useRunTabs.setState({ gone: new Set(), elsewhere: new Set(), known: false })
  }
}
