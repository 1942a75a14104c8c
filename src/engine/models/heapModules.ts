/**
 * Our small WebAssembly modules (heapTranspose.ts, lmSimd.ts) run on tfjs-wasm's own memory:
 * how each is instantiated once per memory, and where a backend's memory is.
 */

/** tfjs-wasm's memory: its module's export, or the threaded build's Module.wasmMemory. */
export function backendMemory(backend: unknown): WebAssembly.Memory | null {
  const w = (backend as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } }).wasm
  const memory = w?.asm?.memory ?? w?.wasmMemory
  return memory instanceof WebAssembly.Memory ? memory : null
}

/** How often each module (by the name given to moduleOnMemory) was instantiated on a memory in
 *  this thread, and how often it could not be (its kernels then run the JavaScript fallback): the
 *  browser tests read it in both engine workers (worker/benchReadouts.ts, not in the production
 *  build) to see the SIMD modules really run there. */
export const heapModuleLoads: Record<string, { instantiated: number; failed: number }> = {}

/** A loader for one module given as hex (a plain-memory and a shared-memory build): its exports
 *  instantiated on a memory, once per memory, or null where it cannot run (no WebAssembly SIMD).
 *  `name`: the module's entry in heapModuleLoads. */
export function moduleOnMemory<T>(plainHex: string, sharedHex: string, name = 'unnamed'): (memory: WebAssembly.Memory) => T | null {
  const instances = new WeakMap<object, T | null>()
  return (memory) => {
    let m = instances.get(memory)
    if (m === undefined) {
      try {
        const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
        const hex = shared ? sharedHex : plainHex
        const bytes = Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16))
        m = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as T
      } catch {
        m = null
      }
      instances.set(memory, m)
      const count = (heapModuleLoads[name] ??= { instantiated: 0, failed: 0 })
      if (m === null) count.failed++
      else count.instantiated++
    }
    return m
  }
}

interface HeapBackend {
  wasm: { _malloc(n: number): number }
  disposeData(dataId: object, force?: boolean): boolean
}

/** `bytes` of scratch on tfjs-wasm's heap for the kernel `kernel`, as an unsigned address. _malloc
 *  answers 0 when the heap cannot grow (out of wasm memory); a kernel writing there would overwrite
 *  the heap's start without a word. Here that is an error engineErrors.ts words as running out of
 *  memory (with what to try); the kernel's outputs made before (`outputs`) are freed first, so
 *  nothing leaks on the backend. */
export function heapScratch(backend: unknown, bytes: number, kernel: string, outputs: { dataId: object }[] = []): number {
  const b = backend as HeapBackend
  const ptr = b.wasm._malloc(bytes) >>> 0
  if (ptr === 0) {
    for (const t of outputs) b.disposeData(t.dataId, true)
    throw new Error(`${kernel}: the WebAssembly heap has no room for ${bytes} bytes of scratch (out of memory)`)
  }
  return ptr
}
