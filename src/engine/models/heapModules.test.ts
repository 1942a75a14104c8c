import { describe, expect, it } from 'vitest'
import { heapModuleLoads, moduleOnMemory } from './heapModules'
import { lmSimdModule } from './lmSimd'

// heapModuleLoads is what the page's browser test reads in both engine workers to see our SIMD
// modules run there rather than their JavaScript fallbacks (e2e/data-parallel.spec.ts).
describe('heapModuleLoads', () => {
  it('counts a module instantiated once per memory, and one that cannot be', () => {
    const before = heapModuleLoads.lmSimd?.instantiated ?? 0
    const memory = new WebAssembly.Memory({ initial: 1 })
    expect(lmSimdModule(memory)).not.toBeNull()
    expect(lmSimdModule(memory)).not.toBeNull() // the same memory: the instance kept, not counted again
    expect(heapModuleLoads.lmSimd).toEqual({ instantiated: before + 1, failed: 0 })
    lmSimdModule(new WebAssembly.Memory({ initial: 1 }))
    expect(heapModuleLoads.lmSimd!.instantiated).toBe(before + 2)

    // Bytes that are no WebAssembly module (the magic number is missing): null, counted as failed.
    const broken = moduleOnMemory<object>('00010203', '00010203', 'broken-test-module')
    expect(broken(memory)).toBeNull()
    expect(broken(memory)).toBeNull()
    expect(heapModuleLoads['broken-test-module']).toEqual({ instantiated: 0, failed: 1 })
  })
})
