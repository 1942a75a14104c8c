/** How many optimizer steps a run takes: one count for the learning-rate preview (main
 *  thread) and the training loop (worker). `trainExamples` is what one epoch steps over:
 *  rows of the training split, or token windows for language modelling (the worker counts
 *  them and reports the number in its `plan` event). */
export function runSteps(trainExamples: number, s: { batchSize: number; accumSteps: number; epochs: number }): { stepsPerEpoch: number; totalSteps: number } {
  const microBatches = Math.ceil(Math.max(0, trainExamples) / s.batchSize)
  const stepsPerEpoch = Math.ceil(microBatches / s.accumSteps)
  return { stepsPerEpoch, totalSteps: stepsPerEpoch * s.epochs }
}
