/**
 * What the benches and browser tests read in an engine worker, put on its globalThis: the
 * two-worker step timeline, the loop's step starts, the requests the second worker answered,
 * and the benches' and browser tests' switches (engine/benchSwitches.ts: the old transport, the
 * unfused optimizer, the CNN's op path, evaluations on one worker, WebGPU's binding split off). The worker entry
 * points call this only outside the production build (`import.meta.env.MODE !== 'production'`,
 * so the call and this module drop out of `vite build`; e2e/production-build.spec.ts checks no
 * `__studio` name is left): the e2e build and the benches' build (mode "bench",
 * bench/pageServer.mjs) have them.
 */
import { recentSteps } from '../engine/train/dataParallel'
import { benchSwitch } from '../engine/benchSwitches'
import { stepStarts } from '../engine/train/runControl'
import { imageWaits } from '../engine/train/imageBatches'
import { heapModuleLoads } from '../engine/models/heapModules'

export function installBenchReadouts(extra: { replicaRequests?: Record<string, number> } = {}): void {
  const g = globalThis as Record<string, unknown>
  g.__studioDataParallelSteps = recentSteps
  g.__studioStepStarts = stepStarts
  g.__studioImageWaits = imageWaits
  // e2e/data-parallel.spec.ts: our SIMD modules (heapTranspose, lmSimd) instantiated in this worker, not the JavaScript fallback
  g.__studioHeapModules = heapModuleLoads
  if (extra.replicaRequests) g.__studioReplicaRequests = extra.replicaRequests
  // bench/dataParallelBrowser.mjs `…-opcnn` modes: the emoji CNN as tf ops, as before models/cnnFused.ts
  // bench/dataParallelBrowser.mjs's `…-unfused` modes: the optimizer's update, the clipping and the
  // two workers' combine as tf ops, as before engine/train/fusedUpdate.ts
  Object.defineProperty(g, '__studioUnfusedOptimizer', {
    configurable: true,
    get: () => benchSwitch.unfusedOptimizer,
    set: (on: unknown) => {
      benchSwitch.unfusedOptimizer = on === true
    },
  })
  // bench/dataParallelBrowser.mjs `…-oplm` modes: tiny-lm's pieces between the products as tf ops, as
  // before models/lmFused.ts
  Object.defineProperty(g, '__studioLmOpPath', {
    configurable: true,
    get: () => benchSwitch.lmOpPath,
    set: (on: unknown) => {
      benchSwitch.lmOpPath = on === true
    },
  })
  Object.defineProperty(g, '__studioCnnOpPath', {
    configurable: true,
    get: () => benchSwitch.cnnOpPath,
    set: (on: unknown) => {
      benchSwitch.cnnOpPath = on === true
    },
  })
  // bench/dataParallelBrowser.mjs's `…-copies` modes: gradients and changed weights read tensor by
  // tensor into fresh arrays, as before train/dataParallel.ts's readFloatsInto and pooled arrays
  Object.defineProperty(g, '__studioTensorCopies', {
    configurable: true,
    get: () => benchSwitch.tensorCopies,
    set: (on: unknown) => {
      benchSwitch.tensorCopies = on === true
    },
  })
  // bench/dataParallelBrowser.mjs's `…-nests` modes: cnnFused.ts's JavaScript kernels as loop nests
  Object.defineProperty(g, '__studioCnnLoopNests', {
    configurable: true,
    get: () => benchSwitch.cnnLoopNests,
    set: (on: unknown) => {
      benchSwitch.cnnLoopNests = on === true
    },
  })
  // bench/dataParallelBrowser.mjs's `…-serial` modes: stored images loaded batch by batch when a
  // step needs them, decoded one after another (train/imageBatches.ts loadImagesAhead)
  Object.defineProperty(g, '__studioSerialImageLoads', {
    configurable: true,
    get: () => benchSwitch.serialImageLoads,
    set: (on: unknown) => {
      benchSwitch.serialImageLoads = on === true
    },
  })
  // bench/dataParallelBrowser.mjs's `…-old` modes (--old-switches): benchSwitch keys set by name,
  // each worker answering the values it now has (null for a name that is no switch)
  g.__studioSetBenchSwitches = (names: unknown, on: unknown): (boolean | null)[] => {
    const sw = benchSwitch as Record<string, boolean>
    const list = Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : []
    for (const n of list) if (n in sw) sw[n] = on === true
    return list.map((n) => (n in sw ? sw[n]! : null))
  }
  Object.defineProperty(g, '__studioDataParallelLegacy', {
    configurable: true,
    get: () => benchSwitch.legacyTransport,
    set: (on: unknown) => {
      benchSwitch.legacyTransport = on === true
    },
  })
  // e2e/data-parallel.spec.ts and bench/blendSweepBrowser.mjs: the blend's and other evaluations
  // outside a run on one worker in a page that has two (engine/train/evaluationSplit.ts)
  Object.defineProperty(g, '__studioEvaluationOneWorker', {
    configurable: true,
    get: () => benchSwitch.evaluationOneWorker,
    set: (on: unknown) => {
      benchSwitch.evaluationOneWorker = on === true
    },
  })
  // e2e/webgpu-binding-split.spec.ts: WebGPU's binding split off, to reproduce the fault
  Object.defineProperty(g, '__studioBindingSplitOff', {
    configurable: true,
    get: () => benchSwitch.bindingSplitOff,
    set: (on: unknown) => {
      benchSwitch.bindingSplitOff = on === true
    },
  })
}
