/**
 * The benches' switch back to the two-worker transport as it was before the step timeline
 * (request copied, not transferred; halves posted without a task boundary; the combine always
 * rows-weighted; no decoded image rows kept), to measure before and after in one run. Not a
 * setting: nothing in the studio sets it. Node benches and tests set it here; in the page the
 * worker entry points expose it as globalThis.__studioDataParallelLegacy outside the production
 * build only (worker/benchReadouts.ts).
 */
export const benchSwitch = {
  legacyTransport: false,
  /** The optimizers' update, the gradient clipping and the two workers' combine as tf ops (about
   *  14, 3 and 2 kernels a weight), as before the fused kernels of fusedUpdate.ts, on wasm and cpu
   *  too: to time old against new in one run. */
  unfusedOptimizer: false,
  /** Two workers' steps build the whole batch as tensors, slice it and read the second half back
   *  to post it, as before the halves were built apart from the host rows (dataParallel.ts
   *  HalvesApart): to time old against new in one run. */
  wholeBatchSplit: false,
}
