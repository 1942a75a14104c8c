import type { CheckpointMeta } from '../engine/storage/types'

/** The run's best checkpoint by its monitored value (ties: the earlier one). */
export function bestOf(list: readonly CheckpointMeta[]): CheckpointMeta | null {
  let best: CheckpointMeta | null = null
  for (const c of list) {
    if (!Number.isFinite(c.monitored)) continue
    const better = best === null || (c.mode === 'max' ? c.monitored > best.monitored : c.monitored < best.monitored) || (c.monitored === best.monitored && c.epoch < best.epoch)
    if (better) best = c
  }
  return best
}
