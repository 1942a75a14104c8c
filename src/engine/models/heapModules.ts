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

/** A loader for one module given as hex (a plain-memory and a shared-memory build): its exports
 *  instantiated on a memory, once per memory, or null where it cannot run (no WebAssembly SIMD). */
export function moduleOnMemory<T>(plainHex: string, sharedHex: string): (memory: WebAssembly.Memory) => T | null {
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
    }
    return m
  }
}
