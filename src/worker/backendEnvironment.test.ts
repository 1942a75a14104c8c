import { describe, expect, it } from 'vitest'
import { wasmThreadsFor } from './backendEnvironment'

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
