/** Pause / resume / stop for a running loop. The loop calls `checkpoint()` between steps;
 *  while paused it waits there, so no step is ever cut in half. */
export class RunControl {
  private pausedFlag = false
  private stoppedFlag = false
  private wake: (() => void) | null = null

  get paused(): boolean {
    return this.pausedFlag
  }
  get stopped(): boolean {
    return this.stoppedFlag
  }

  pause(): void {
    this.pausedFlag = true
  }

  resume(): void {
    this.pausedFlag = false
    this.wake?.()
  }

  stop(): void {
    this.stoppedFlag = true
    this.wake?.()
  }

  private lastYield = -Infinity

  /** Yields to the event loop (so pause/stop messages are heard), then waits while paused.
   *  Short steps yield only every YIELD_EVERY_MS: a macrotask turn per step was a measurable
   *  share of a sub-millisecond head-only step, and messages are still heard within ~10 ms. */
  async checkpoint(onPause?: () => void, onResume?: () => void): Promise<void> {
    stepStarts.push(performance.now())
    if (stepStarts.length > 2000) stepStarts.splice(0, 1000)
    if (this.pausedFlag || performance.now() - this.lastYield >= YIELD_EVERY_MS) {
      await yieldToEventLoop()
      this.lastYield = performance.now()
    }
    if (!this.pausedFlag || this.stoppedFlag) return
    onPause?.()
    while (this.pausedFlag && !this.stoppedFlag) await new Promise<void>((r) => (this.wake = r))
    this.wake = null
    if (!this.stoppedFlag) onResume?.()
  }
}

const YIELD_EVERY_MS = 10

/** When the loop's last steps began (performance.now(), at most 2,000, oldest first): the
 *  bench reads every step's time from them in the page (worker/benchReadouts.ts, not in the
 *  production build), one run a page, whatever the backend or number of workers. */
export const stepStarts: number[] = []

/** One macrotask turn. Not setTimeout: nested timers are clamped to 4 ms (HTML spec), which
 *  made a ~1 ms head-only step take 5 ms (bench/results); a MessageChannel message is not. */
function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel !== 'function') return new Promise<void>((r) => setTimeout(r, 0))
  return new Promise<void>((r) => {
    const ch = new MessageChannel()
    ch.port1.onmessage = () => {
      ch.port1.close()
      r()
    }
    ch.port2.postMessage(null)
  })
}
