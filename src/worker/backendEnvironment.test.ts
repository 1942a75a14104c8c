import { describe, expect, it } from 'vitest'
import { browserBackendEnvironment, cpuModeOf, engineWorkersFor, wasmThreadsFor, workersAskedOf } from './backendEnvironment'

// The thread counts are chosen by hand from bench/results/2026-12-06T08-32-07-988Z-threadcount.md:
// a pool needing more cores than are free stalls at every operation, so one core is left to
// the page and the browser, except on 2 cores where two threads measured no worse than one.
describe('wasmThreadsFor', () => {
  it('leaves one core free above two cores, keeps two on two, and stays within the 8 pthreads', () => {
    expect([1, 2, 3, 4, 6, 8, 9, 16, 64].map(wasmThreadsFor)).toEqual([1, 2, 2, 3, 5, 7, 8, 8, 8])
  })
  it('falls back to one thread when the browser does not say, or says nonsense', () => {
    expect(wasmThreadsFor(undefined)).toBe(1)
    expect(wasmThreadsFor(0)).toBe(1)
    expect(wasmThreadsFor(2.7)).toBe(2)
  })
})

describe('the CPU mode', () => {
  it('is read from the worker name the page gave (client.ts), two workers unless it asks otherwise', () => {
    expect(cpuModeOf('training-engine-1-abc12345')).toBe('workers')
    expect(cpuModeOf('training-engine-1-abc12345;cpu=threads')).toBe('threads')
    expect(cpuModeOf('training-engine-2-x;cpu=one')).toBe('one')
    expect(cpuModeOf('training-engine-2-x;cpu=steps')).toBe('steps')
    expect(cpuModeOf('training-engine-2-x;cpu=three')).toBe('workers')
  })
  it('offers other workers only in the workers mode on 2 or more cores, made once', () => {
    let made = 0
    const spawn = () => {
      made++
      return { setup: async () => {}, half: async () => ({ loss: 0, grads: new Float32Array(0), tensors: 0 }), infer: async () => ({ shape: [0], data: new Float32Array(0), tensors: 0 }) }
    }
    const nav = (cores: number) => ({ hardwareConcurrency: cores }) as WorkerNavigator
    expect(browserBackendEnvironment(nav(1), true, 'workers', spawn).otherWorkers).toBeUndefined()
    expect(browserBackendEnvironment(nav(4), true, 'threads', spawn).otherWorkers).toBeUndefined()
    expect(browserBackendEnvironment(nav(2), true, 'workers').otherWorkers).toBeUndefined()
    const env = browserBackendEnvironment(nav(2), false, 'workers', spawn)
    expect(env.otherWorkers?.()).toBe(env.otherWorkers?.())
    expect(env.otherWorkers?.()).toHaveLength(1)
    expect(made).toBe(1)
    // 8 logical processors: 4 engine workers, 3 of them others; asked for 3: 2 others.
    made = 0
    expect(browserBackendEnvironment(nav(8), false, 'workers', spawn).otherWorkers?.()).toHaveLength(3)
    expect(made).toBe(3)
    expect(browserBackendEnvironment(nav(2), false, 'workers', spawn, 3).otherWorkers?.()).toHaveLength(2)
    expect(env.secondWorkerPasses).toBeUndefined() // the default: the inference passes split too
    // 'steps' (for comparisons): two workers, the inference passes on the first only.
    const steps = browserBackendEnvironment(nav(2), false, 'steps', spawn)
    expect(steps.otherWorkers?.()).toHaveLength(1)
    expect(steps.secondWorkerPasses).toBe(false)
  })
  it('uses half the logical processors as engine workers, 2 to 8, or the number asked', () => {
    // Expected by hand: floor(cores / 2) within [2, 8]; one core trains on one worker.
    const cases: [number | undefined, number][] = [[undefined, 1], [1, 1], [2, 2], [3, 2], [4, 2], [6, 3], [8, 4], [12, 6], [16, 8], [64, 8]]
    for (const [cores, want] of cases) expect(engineWorkersFor(cores)).toBe(want)
    expect(engineWorkersFor(2, 3)).toBe(3)
    expect(engineWorkersFor(64, 40)).toBe(16)
    expect(engineWorkersFor(8, 0)).toBe(4) // not a count: the cores decide
    expect(workersAskedOf('training-engine-1-abc;cpu=workers;workers=3')).toBe(3)
    expect(workersAskedOf('training-engine-1-abc;workers=12')).toBe(12)
    expect(workersAskedOf('training-engine-1-abc;workers=x')).toBeUndefined()
    expect(workersAskedOf('training-engine-1-abc')).toBeUndefined()
  })
})
