/**
 * Whole-validation-set passes outside a run, halved over the two engine workers as a run's are
 * (inferencePasses.ts, the `infer` request of dataParallel.ts): the Evaluate panel's blend of
 * base and tuned weights (an interpolation, a sweep over α), an evaluation, export's measured
 * figures, a checkpoint's restore. Not the playground: one text, nothing to halve.
 *
 * A split made here lives for one command (a whole sweep is one), then is disposed: the second
 * worker's replica is set up again by the next command or run, so it never holds another
 * command's model. Before each pass every weight the model and its tuning pieces hold is sent
 * (`refresh`): a blend rewrites the body between the points of a sweep, a restore rewrites it
 * between commands; the weights are transferred to the worker, not copied. Metrics are computed
 * once from the outputs put back in row order, so they are one worker's. Without a second worker
 * (one core, the threads mode, another backend) there is no split; if the worker fails the
 * split computes its half here (dataParallel.ts), with the same numbers.
 */
import { benchSwitch } from '../benchSwitches'
import type { Body } from '../models/body'
import { taskFor } from '../tasks'
import { DataParallel, whyNotSplitPasses, type GradientPeer, type SplitTask } from './dataParallel'
import { headNeedOf, type Encoded } from './encoded'
import type { Tuning } from './fineTune'
import { stableNames } from './loopState'

/** A split of `tuning`'s passes over `set`, or null when they run on one worker. */
export function evaluationSplit(peer: GradientPeer | readonly GradientPeer[] | null | undefined, model: Body, tuning: Tuning, set: Encoded, onPeerLost?: (message: string) => void): DataParallel | null {
  if (!peer || (Array.isArray(peer) && peer.length === 0) || set.n < 2 || benchSwitch.evaluationOneWorker) return null
  const task = taskFor(set, tuning)
  const need = headNeedOf(set)
  if (need === null || whyNotSplitPasses(model, tuning, tuning.settings, task)) return null
  const dp = new DataParallel(peer, model, tuning, tuning.settings, task.name as SplitTask, need, onPeerLost)
  dp.splitsSteps = false
  return dp
}

/** Every weight of the model and its tuning pieces goes with the next request: what the replica
 *  holds is then what this worker's model holds now. */
export function refresh(split: DataParallel, model: Body, tuning: Tuning): void {
  split.markDirty(stableNames(model, tuning.parts).keys())
}
