/** One method's step times, shared by the bench page and its training worker (stepsWorker.ts). */
import * as tf from '@tensorflow/tfjs'
import type { TinyCnn } from '../../src/engine/models/tinyCnn'
import { Tuning } from '../../src/engine/train/fineTune'
import { trainableBlocks } from '../../src/engine/tuning/freeze'
import { LORA_LAYER_OF, parseLoraTargets } from '../../src/engine/tuning/lora'
import type { Settings } from '../../src/settings/types'
import { countCnnFlops, countFlops } from './flops'
import { benchSettings, planOf, referenceLoop, studioLoop } from './loops'
import { isText, workload, type BenchMethod, type Workload, type WorkloadId } from './workloads'

/** Analytic FLOPs per training sample of this method on this model (bench/page/flops.ts). */
export function flopsOf(w: Workload, s: Settings, tuning: Tuning) {
  const plan = planOf(w.model, tuning, s)
  const base = { trainableBlocks: trainableBlocks(w.model.config.nLayers, s, 0), cachedBlocks: plan.blocks, pooled: plan.pooled }
  if (isText(w)) {
    const lora = tuning.lora ? { lora: { rank: s.loraRank, targets: parseLoraTargets(s.loraTargets).map((t) => LORA_LAYER_OF[t]), blocks: tuning.lora.blocks } } : {}
    return countFlops(w.model.config, s.seqLen, w.classes, { ...base, ...lora })
  }
  const cnn = w.model as TinyCnn
  const lora = tuning.lora ? { lora: { rank: s.loraRank, targets: ['pw'], blocks: tuning.lora.blocks } } : {}
  return countCnnFlops(cnn.config, w.classes, { ...base, ...lora })
}

export interface StepsArgs {
  backend: string
  model: WorkloadId
  method: BenchMethod
  batchSize: number
  seqLen: number
  budgetSec: number
  minSteps: number
  maxRows: number
  /** Lean steps to run under tf.profile after the timed ones (kernel time by name). */
  profileSteps?: number
}

/** The lean loop's and the studio loop's step time for one method (the backend is current). */
export async function benchSteps(args: StepsArgs, threads: () => number | null) {
  if (tf.getBackend() !== args.backend && !(await tf.setBackend(args.backend))) throw new Error(`backend ${args.backend} did not start`)
  const w = await workload(args.model, args.seqLen)
  const s = benchSettings(w, args.method, args.batchSize, args.seqLen, 1)
  const probe = new Tuning(w.model, s, w.classes)
  const plan = planOf(w.model, probe, s)
  const flops = flopsOf(w, s, probe)
  probe.dispose()
  const lean = await referenceLoop(w, s, args.budgetSec, 2000, args.minSteps, args.maxRows, args.profileSteps ?? 0)
  const studio = await studioLoop(w, s, lean.steps, plan.blocks > 0 || plan.pooled, args.maxRows)
  return { steps: lean.steps, leanStepMs: lean.stepMs, studioStepMs: studio.stepMs, flopsPerSample: flops.perSampleStep, threads: threads(), ...(lean.profile ? { profile: lean.profile } : {}) }
}
