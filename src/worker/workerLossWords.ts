/** What the page is told when engine workers of a split run stop (engine/train/dataParallel.ts
 *  then computes their shares on the first): for the backend badge and the run's end message. */

export interface LostCount {
  /** Workers that have stopped so far in the run. */
  lost: number
  /** The run's engine workers, the first included. */
  workers: number
}

/** The badge's words, after the backend's own reason. */
export function peerLostWords(count?: LostCount): string {
  if (!count || count.workers <= 2) return 'in this run the second worker stopped, so the first computes every batch'
  const others = count.workers - 1
  if (count.lost >= others) return `in this run the other ${others} workers stopped, so the first computes every batch`
  return `in this run ${count.lost} of the ${others} other workers stopped, so the first computes their shares of every batch`
}

/** Added to the run's end message: `why` the (last) worker stopped and what the run did then. */
export function peerLostTail(why: string, count?: LostCount): string {
  if (!count || count.workers <= 2) return ` ${why}; the run went on in one worker with the same numbers, at about half the speed.`
  const others = count.workers - 1
  if (count.lost >= others) return ` ${why}; the run went on in one worker with the same numbers, at about 1/${count.workers} of the speed.`
  return ` ${why}; the run went on with the same numbers, the first worker also computing the share of ${count.lost === 1 ? 'the worker that stopped' : `the ${count.lost} workers that stopped`}, so more slowly.`
}
