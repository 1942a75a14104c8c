import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Plugin } from 'vite'

/**
 * WebAssembly threads in a bundled build.
 *
 * tfjs-backend-wasm starts each pthread worker from a Blob holding
 * `wasmFactoryThreadedSimd.toString()`. That works from the package's own bundle, but
 * after minification the factory is no longer self-contained: it reads its enclosing
 * module's `_scriptDir` as `e !== void 0` (the minifier dropped the `typeof` guard once it
 * had renamed the variable), so every pthread died with "e is not defined" and training
 * ran on one core. A Blob script would also need `blob:` in the CSP's script-src.
 *
 * The fix: ship the package's own, unminified Emscripten script
 * (`wasm-out/tfjs-backend-wasm-threaded-simd.js`, which defines the global
 * `WasmBackendModuleThreadedSimd` the pthread expects) as a same-origin asset and hand its
 * absolute URL to the pthreads instead of the Blob (absolute: a pthread runs from a blob:
 * URL, against which a path would not resolve). The dev server needs nothing: it serves the
 * factory unminified, so its `toString()` still works there.
 */
export function wasmThreads(): Plugin {
  const require = createRequire(import.meta.url)
  const backendFile = /tfjs-backend-wasm[\\/]dist[\\/]backend_wasm\.js$/
  // The exact statement in tfjs-backend-wasm 4.22 (dist/backend_wasm.js).
  const blobStatement = /factoryConfig\.mainScriptUrlOrBlob\s*=\s*new Blob\(\[`var WasmBackendModuleThreadedSimd = ` \+\s*wasmFactoryThreadedSimd\.toString\(\)\],\s*\{ type: 'text\/javascript' \}\);/
  return {
    name: 'tfjs-wasm-threads',
    apply: 'build',
    transform(code, id) {
      if (!backendFile.test(id.split('?')[0] ?? id)) return null
      if (!blobStatement.test(code)) {
        // A new tfjs version changed the code: fail the build rather than ship one-core training.
        this.error('tfjs-wasm-threads: the pthread Blob statement was not found in backend_wasm.js; update wasmThreads.plugin.ts for this tfjs-backend-wasm version')
      }
      const factoryPath = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js')
      const ref = this.emitFile({ type: 'asset', name: 'tfjs-backend-wasm-threaded-simd.js', source: readFileSync(factoryPath) })
      return { code: code.replace(blobStatement, `factoryConfig.mainScriptUrlOrBlob = new URL(import.meta.ROLLUP_FILE_URL_${ref}, import.meta.url).href;`), map: null }
    },
  }
}
