import * as tf from '@tensorflow/tfjs'
import type { BackendHost } from '../engine/backend'
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'

/** Backends other than webgl/cpu are imported on demand: a browser that never uses
 *  WebGPU or WebAssembly never downloads them. */
export function browserBackendHost(nav: WorkerNavigator): BackendHost {
  const gpu = (nav as WorkerNavigator & { gpu?: BackendHost['gpu'] }).gpu
  return {
    gpu,
    async loadBackend(name) {
      if (name === 'webgpu') {
        if (!gpu) throw new Error('WebGPU is not exposed in this browser')
        await import('@tensorflow/tfjs-backend-webgpu')
      } else {
        const wasm = await import('@tensorflow/tfjs-backend-wasm')
        // The threaded build's pthread workers fail to start from a bundled module worker
        // ("e is not defined" in the blob); the single-threaded SIMD build works.
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
        wasm.setWasmPaths({
          'tfjs-backend-wasm.wasm': wasmPlain,
          'tfjs-backend-wasm-simd.wasm': wasmSimd,
          'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
        })
      }
    },
  }
}
