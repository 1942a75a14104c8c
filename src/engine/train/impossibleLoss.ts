/**
 * Losses no objective can produce, caught by the loop (fineTune.ts) before a run "completes" on
 * them. A backend can compute garbage without raising anything: measured on WebGPU over ANGLE
 * on lavapipe with a 135 MB embedding bound over the adapter's 128 MiB storage-buffer limit
 * (the binding split switched off), TensorFlow.js surfaced no validation error and the run
 * ended "Training complete" with a held-out loss of 0 and step losses 0 and -1e9.
 *
 * Every objective the studio trains is a sum of non-negative terms, so its loss is never
 * below 0: cross-entropy (classification, language modelling, instruction tuning, the
 * pseudo-labels of self-training; label smoothing only adds positive weights), squared error
 * (regression), the weighted sum of multitask heads (weights ≥ 0, MultiHead checks them), and
 * DPO's −log σ(β·margin) computed as softplus (≥ 0) plus its optional SFT term (a
 * cross-entropy). DPO's reward margins and rewards can be negative, but they are metrics the
 * page charts, not the loss the loop reads. A task declares its range (Task.lossRange); a
 * task without one is not checked.
 *
 * Exactly 0 is possible in float32 for a classifier that has memorised its rows (every logit
 * margin over about 17), so 0 alone stops nothing there. For next-token prediction over a
 * vocabulary, the model before its first update scoring exactly 0 on real text would need
 * every token predicted with a margin over about 17 + ln V: `zeroUntrained` says so, and the
 * check applies it only to the untrained held-out loss and the first step of a fresh run.
 */
import { BACKEND_WORDS, type BackendName } from '../backend'

export interface LossRange {
  /** The least value the loss can take (0 for every built-in objective). */
  min: number
  /** What the loss is, for the message: "a cross-entropy", "a mean squared error", … */
  what: string
  /** A loss of exactly 0 from the model before any update is impossible too. */
  zeroUntrained?: boolean
}

/** Slack for float rounding below the bound: a mean of non-negative float32 terms is ≥ 0
 *  exactly, so anything this far below is not rounding. */
export const BELOW_BOUND = 1e-6

/** Which loss was read: a training step's, the untrained model's held-out loss, or an epoch's
 *  validation loss. */
export type LossAt = { kind: 'step'; step: number; untrained: boolean } | { kind: 'untrained' } | { kind: 'validation'; epoch: number }

/** Why `value` is impossible for an objective of `range`, or null when it is possible (NaN and
 *  Infinity are the divergence check's, not this one's). */
export function impossibleLossWhy(range: LossRange | undefined, value: number, at: LossAt): string | null {
  if (!range || !Number.isFinite(value)) return null
  if (value < range.min - BELOW_BOUND) return `${range.what} is never below ${range.min}`
  const untrained = at.kind === 'untrained' || (at.kind === 'step' && at.untrained)
  if (range.zeroUntrained && untrained && value === 0) {
    return `${range.what} over a vocabulary is exactly 0 only when every token is predicted with certainty, which no model does on real text before it is trained`
  }
  return null
}

/** A run stopped on numbers its objective cannot produce; its message is for the person and
 *  passes through engineErrors.explainEngineError unchanged. */
export class ImpossibleLossError extends Error {
  override name = 'ImpossibleLossError'
}

function where(at: LossAt): string {
  if (at.kind === 'step') return `the training loss at step ${at.step}`
  if (at.kind === 'untrained') return 'the held-out loss of the model before training'
  return `the validation loss after epoch ${at.epoch}`
}

function valueText(v: number): string {
  return v === 0 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)))
}

/** The words the page shows: what was read, why it cannot be, what was kept, what to do. */
export function impossibleLossMessage(backend: string | undefined, value: number, at: LossAt, why: string, kept: string): string {
  const name = backend && backend in BACKEND_WORDS ? BACKEND_WORDS[backend as BackendName] : backend
  const engine = name ? `The ${name} backend` : 'The numerical backend'
  const other = backend === 'wasm' ? 'WebGL, or plain JavaScript on the CPU' : backend === 'cpu' ? 'WebAssembly' : 'WebAssembly'
  return `${engine} produced impossible numbers: ${where(at)} was ${valueText(value)}, but ${why}. The run was stopped (${kept}). This is the backend computing wrongly on this device, not your data or settings: choose ${other} in the Backend setting and train again.`
}

/** The words for a held-out loss that is not a number (NaN or ±Infinity) before any training:
 *  no update has run, so it is not divergence; either the backend computes wrongly or the
 *  weights the run starts from are not finite (a loaded model whose weights overflowed). */
export function nonFiniteHeldOutMessage(backend: string | undefined, value: number): string {
  const name = backend && backend in BACKEND_WORDS ? BACKEND_WORDS[backend as BackendName] : backend
  const engine = name ? `the ${name} backend` : 'the numerical backend'
  const other = backend === 'wasm' ? 'WebGL, or plain JavaScript on the CPU' : 'WebAssembly'
  return `The model before training gave a held-out loss of ${String(value)} on the validation rows, so there is nothing to train from. The run was stopped before its first step; nothing was changed. Either ${engine} computes wrongly on this device (choose ${other} in the Backend setting and train again), or the weights the run starts from are not finite numbers (load the model again, or start from a built-in one).`
}

/** The words for a run stopped because WebGPU refused its kernels (webgpuFaults.ts): the loss
 *  read may look ordinary, but the kernels that should have made it did not run. The device's
 *  own text goes to the console, not here. */
export function webgpuFaultMessage(fault: { count: number; lost: boolean }, at: LossAt, kept: string): string {
  if (fault.lost) return `The GPU stopped working for the page while computing ${where(at)} (WebGPU lost its device: the driver reset, or the GPU ran out of memory). The run was stopped (${kept}). Choose WebAssembly in the Backend setting, or a smaller batch or model, and train again.`
  const errors = fault.count === 1 ? 'an error' : `${fault.count} errors`
  return `The GPU refused to run part of this model: WebGPU reported ${errors} by the time of ${where(at)}, so the numbers the run read were never computed and cannot be trusted. This usually means a tensor is larger than this GPU allows in one buffer. The run was stopped (${kept}). Choose WebAssembly in the Backend setting and train again, or use a smaller model or batch.`
}
