/** Every task a run can train, and which one the encoded data asks for. This is the one
 *  place that looks at what the data predicts; the loop asks the module it returns. */
import type { Encoded } from '../train/encoded'
import { labelsOf, tasksOf, valuesOf } from '../train/encoded'
import type { Tuning } from '../train/fineTune'
import { classification } from './classification'
import { dpoTask } from './dpoTask'
import { sft } from './sftTask'
import { languageModelling } from './languageModelling'
import { multitask } from './multitask'
import { regression } from './regression'
import type { Task } from './task'

export type { Task }
export { classification, dpoTask, languageModelling, multitask, regression, sft }

/** The task `set` is encoded for (with several label columns, multitask when the run built
 *  one head per column). */
export function taskFor(set: Encoded, tuning: Pick<Tuning, 'multi'>): Task {
  if (set.kind === 'sft') return sft
  if (set.kind === 'pairs') return dpoTask(set)
  if (tuning.multi && tasksOf(set)) return multitask
  if (valuesOf(set)) return regression
  if (labelsOf(set)) return classification
  return languageModelling
}
