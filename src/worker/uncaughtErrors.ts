import { explainEngineError, type ErrorContext, type ExplainedError } from '../engine/engineErrors'

/**
 * Errors that nothing inside the worker caught. With WebAssembly threads, an engine that runs
 * out of memory can abort inside one of its own thread workers rather than in the call the
 * handler is awaiting: Emscripten's glue then rethrows that thread's ErrorEvent from its
 * `onerror`, so the abort surfaces as an uncaught error of the training worker (its message
 * reads "Uncaught [object ErrorEvent]"; the words are on the thrown event). Left alone, the
 * page would only learn that the worker "stopped after an error it could not handle".
 *
 * This reads the words wherever they are and, when they are an engine failure, explains them
 * as the handler explains a caught one. Anything else stays an ordinary uncaught error.
 */
export interface UncaughtLike {
  /** The error event's own message (for a thrown non-Error, "Uncaught [object …]"). */
  message?: string
  /** What was thrown (`ErrorEvent.error`) or rejected (`PromiseRejectionEvent.reason`). */
  error?: unknown
}

/** The text of everything the event carries: its message, and the thrown value's message
 *  (an Error, or an ErrorEvent rethrown from a thread worker) and file. */
export function uncaughtText(ev: UncaughtLike): string {
  const parts: string[] = []
  if (ev.message) parts.push(ev.message)
  const thrown = ev.error
  if (thrown instanceof Error) parts.push(`${thrown.name}: ${thrown.message}`)
  else if (thrown && typeof thrown === 'object') {
    const m = (thrown as { message?: unknown }).message
    if (typeof m === 'string' && m) parts.push(m)
  } else if (thrown !== undefined && thrown !== null) parts.push(String(thrown))
  return parts.join(' | ')
}

/** True when the thrown value is an error event of another worker (a WebAssembly thread),
 *  not an Error: only Emscripten's thread glue throws those. */
function fromThreadWorker(thrown: unknown): boolean {
  return !!thrown && typeof thrown === 'object' && !(thrown instanceof Error) && 'filename' in thrown && 'message' in thrown
}

/**
 * The engine failure an uncaught error stands for, in words, or null when it is not one.
 * An error from a WebAssembly thread always means the engine cannot go on (its module is
 * shared with the thread that died), so it restarts even when its words are not recognised.
 */
export function explainUncaught(ev: UncaughtLike, ctx: ErrorContext): ExplainedError | null {
  const text = uncaughtText(ev)
  const why = explainEngineError(new Error(text), ctx)
  if (why.failure) return why
  if (!fromThreadWorker(ev.error)) return null
  const engine = ctx.backend === 'wasm' ? 'WebAssembly' : 'numerical'
  return {
    failure: 'aborted',
    restart: true,
    message: `The ${engine} engine stopped inside one of its threads while ${ctx.doing ?? 'working'}. Try again; if it happens again, choose another Backend in the settings or a smaller batch. The page started a fresh engine: your dataset and checkpoints are kept.`,
  }
}
