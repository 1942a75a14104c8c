/**
 * Failures of the numerical engine itself, in words for a person. TensorFlow.js and the
 * browser report them in their own terms — "Aborted(). Build with -sASSERTIONS for more
 * info." when the WebAssembly backend's memory is exhausted, "RangeError: Array buffer
 * allocation failed", a WebGPU validation error, a lost WebGL context — which say nothing
 * about what happened or what to do. Anything else (the studio's own errors, already in
 * words) passes through unchanged.
 */
export type EngineFailure = 'aborted' | 'memory' | 'gpu-lost' | 'gpu-invalid' | 'too-large'

export interface ExplainedError {
  message: string
  /** What went wrong, or null for an ordinary error (message unchanged). */
  failure: EngineFailure | null
  /** The engine cannot go on in this worker (an aborted WebAssembly module stays aborted;
   *  its tensors, the model's weights included, are gone): start a fresh worker. */
  restart: boolean
}

export interface ErrorContext {
  /** What was being done, as a phrase: "training", "loading the model", … */
  doing?: string
  /** The backend in use: wasm, webgl, webgpu, cpu. */
  backend?: string
  /** The WebGPU device has been lost (webgpuFaults.ts webgpuDeviceLost): whatever the error
   *  says, and it may say nothing (a read on a lost device rejects with an AbortError and no
   *  message, measured on Dawn), the engine's tensors are gone. */
  deviceLost?: boolean
}

const ABORTED = /\bAborted\(|-sASSERTIONS|RuntimeError: (abort|unreachable)|memory access out of bounds|\bOOM\b/i
const MEMORY = /RangeError: (Array buffer allocation failed|Invalid (typed )?array length|.*allocat)|out of memory|Array buffer allocation failed|could not allocate memory|Cannot (allocate|enlarge memory)|Failed to allocate|allocation failed|WebAssembly\.Memory\(\)/i
const GPU_LOST = /context lost|CONTEXT_LOST|device (was |is )?lost|GPUDevice.*lost/i
const GPU_INVALID = /GPUValidationError|validation error|Invalid (BindGroup|CommandBuffer|ComputePipeline|Buffer)|WebGPU.*(invalid|error)/i
const TOO_LARGE = /greater than (the )?(WebGL )?maximum|texture size .* (is )?(too large|greater)|(exceeds|larger than) the max(imum)? (buffer |binding )?size|maxStorageBufferBindingSize/i

const BACKEND_NAMES: Record<string, string> = { wasm: 'WebAssembly', webgl: 'WebGL', webgpu: 'WebGPU', cpu: 'plain JavaScript (CPU)' }

function rawText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`
  return String(e)
}

/** `e` as a message for a person, and whether the worker must be restarted. */
export function explainEngineError(e: unknown, ctx: ErrorContext = {}): ExplainedError {
  const raw = rawText(e)
  const message = e instanceof Error ? e.message : String(e)
  // the loop's and the playground's own words for impossible numbers name the backend and what to do already
  if (e instanceof Error && (e.name === 'ImpossibleLossError' || e.name === 'ImpossibleOutputError')) return { failure: null, restart: false, message }
  // a run stopped on the device's own error report (webgpuFaults.ts): in words already; a lost
  // device took the model's weights with it, so the engine starts afresh
  if (e instanceof Error && e.name === 'WebgpuFaultError') {
    const lost = (e as Error & { deviceLost?: boolean }).deviceLost === true
    return { failure: lost ? 'gpu-lost' : 'gpu-invalid', restart: lost, message }
  }
  const doing = ctx.doing ?? 'working'
  const engine = ctx.backend ? (BACKEND_NAMES[ctx.backend] ?? ctx.backend) : null
  const other = ctx.backend === 'wasm' ? 'WebGL, or WebGPU where there is a GPU' : ctx.backend ? 'WebAssembly, or another one' : 'another one'
  const tryLess = `Try a smaller batch size, fewer images per pass (head only or more frozen blocks, so fewer activations are kept), a smaller model, or another backend in the Backend setting (${other}).`
  if (ABORTED.test(raw)) {
    return {
      failure: 'aborted',
      restart: true,
      message: `The ${engine ?? 'numerical'} engine ran out of memory and stopped while ${doing} (a browser tab gives it at most 4 GB). ${tryLess} The page started a fresh engine: your dataset and checkpoints are kept.`,
    }
  }
  if (TOO_LARGE.test(raw)) {
    return { failure: 'too-large', restart: false, message: `A tensor was too large for the ${engine ?? 'current'} backend while ${doing}. ${tryLess}` }
  }
  if (MEMORY.test(raw)) {
    return { failure: 'memory', restart: false, message: `The browser ran out of memory while ${doing}. ${tryLess} Your dataset is kept.` }
  }
  // a read on WebGPU aborted: only a lost device aborts tfjs' buffer mappings
  const abortedRead = ctx.backend === 'webgpu' && e instanceof Error && e.name === 'AbortError'
  if (GPU_LOST.test(raw) || ctx.deviceLost || abortedRead) {
    return {
      failure: 'gpu-lost',
      restart: true,
      message: `The graphics device was lost while ${doing} (the GPU driver reset, or the tab used too much GPU memory). ${tryLess} The page started a fresh engine: your dataset and checkpoints are kept.`,
    }
  }
  if (GPU_INVALID.test(raw)) {
    return { failure: 'gpu-invalid', restart: false, message: `The ${engine ?? 'GPU'} backend refused an operation while ${doing} (a WebGPU validation error: usually a buffer beyond the device's limits). ${tryLess}` }
  }
  // never an empty alert: an error with no words still says what was going on
  if (message.trim() === '') return { failure: null, restart: false, message: `Something failed while ${doing} without saying what (${e instanceof Error ? e.name : typeof e}). Try again; if it happens again, choose another backend in the Backend setting (${other}).` }
  return { failure: null, restart: false, message }
}
