// Types for assemble-wat.mjs, for the tests that import it (src/engine/models/wasmHex.test.ts).
/** WAT text → the module's bytes as lower-case hex (SIMD and threads on, names resolved). */
export function assembleWat(wat: string): Promise<string>
/** The WAT of the threaded backend's variant: the memory import shared, up to 4 GiB. */
export function sharedWat(wat: string): string
