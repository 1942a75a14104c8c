/**
 * Time left in a run, from what is left of each phase. A run whose frozen prefix is cached
 * spends its first epoch (and any epoch after the cache plan changes, e.g. gradual
 * unfreezing) running the frozen body to fill the cache; the epochs after that only run
 * what trains and are many times faster. Timing every step alike said "about 14 min left"
 * for a head-only run that ended 80 s later. Here each step's time is split into caching
 * and the rest, and the steps left are priced by phase:
 *
 *   left = cachingStepsLeft · (fill + compute) + otherStepsLeft · compute + epochsLeft · eval
 *
 * with fill, compute and eval smoothed means of what was measured. Pure: no clocks, no tfjs.
 */
export class EtaEstimator {
  private fill = 0 // mean seconds of caching per caching step
  private compute = 0 // mean seconds of a step without its caching
  private evalSec = 0 // mean seconds of an epoch's validation pass (cache filled already)
  private steps = 0
  private fillSteps = 0
  private evals = 0

  constructor(private readonly smoothing = 0.3) {}

  /** One optimizer step: its whole duration and how much of it filled the feature cache. */
  step(seconds: number, fillSeconds: number): void {
    const compute = Math.max(0, seconds - fillSeconds)
    this.compute = this.steps === 0 ? compute : this.mix(this.compute, compute)
    this.steps++
    if (fillSeconds > 0) {
      this.fill = this.fillSteps === 0 ? fillSeconds : this.mix(this.fill, fillSeconds)
      this.fillSteps++
    }
  }

  /** One epoch-end validation pass. */
  evaluation(seconds: number): void {
    this.evalSec = this.evals === 0 ? seconds : this.mix(this.evalSec, seconds)
    this.evals++
  }

  /** Seconds left: `stepsLeft` optimizer steps of which `cachingStepsLeft` will fill the
   *  cache, and `evalsLeft` validation passes. */
  remaining(stepsLeft: number, cachingStepsLeft: number, evalsLeft: number): number {
    const caching = Math.min(Math.max(0, cachingStepsLeft), Math.max(0, stepsLeft))
    return caching * (this.fill + this.compute) + (Math.max(0, stepsLeft) - caching) * this.compute + Math.max(0, evalsLeft) * this.evalSec
  }

  private mix(old: number, x: number): number {
    return (1 - this.smoothing) * old + this.smoothing * x
  }
}
