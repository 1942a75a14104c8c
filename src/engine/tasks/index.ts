/** Every task a run can train, and which one the encoded data asks for: each module says what
 *  it reads (`Task.reads`), the first that reads the data trains it. The loop asks the module
 *  this returns and never which task it runs. A new task is its module plus one line in TASKS. */
import type { Encoded } from '../train/encoded'
import type { Tuning } from '../train/fineTune'
import { classification } from './classification'
import { dpoTask } from './dpoTask'
import { sft } from './sftTask'
import { languageModelling } from './languageModelling'
import { multitask } from './multitask'
import { regression } from './regression'
import type { ReadingTask, Task } from './task'
import type { PairsEncoded } from './lmEncoded'

export type { ReadingTask, Task }
export { classification, dpoTask, languageModelling, multitask, regression, sft }

/** A task module, or one made per set when its parameters travel with the data (DPO's β). */
type TaskEntry = ReadingTask | { reads: ReadingTask['reads']; make(set: Encoded): Task }

// Instruction tuning reads answer-masked token rows; DPO's β and SFT-term weight travel with
// the pairs, so its module is made for the set (tasks/lmEncoded.ts).
const sftRows: TaskEntry = { ...sft, reads: (set) => set.kind === 'sft' }
const dpoPairs: TaskEntry = { reads: (set) => set.kind === 'pairs', make: (set) => dpoTask(set as PairsEncoded) }

// In order: several label columns before one (multitask when the run built one head per column).
const TASKS: TaskEntry[] = [sftRows, dpoPairs, multitask, regression, classification, languageModelling]

/** The task `set` is encoded for. */
export function taskFor(set: Encoded, tuning: Pick<Tuning, 'multi'>): Task {
  const entry = TASKS.find((t) => t.reads(set, tuning))
  if (!entry) throw new Error(`No training task reads ${set.kind} data.`)
  return 'make' in entry ? entry.make(set) : entry
}

/** Adds a task ahead of the built-in ones (it trains what it reads from now on); returns the
 *  function that removes it again. */
export function registerTask(task: ReadingTask): () => void {
  TASKS.unshift(task)
  return () => {
    const i = TASKS.indexOf(task)
    if (i >= 0) TASKS.splice(i, 1)
  }
}
