import * as tf from '@tensorflow/tfjs'
import { oldKernels } from '../benchSwitches'

/**
 * Identity, and Cast to the dtype a tensor already has, on the wasm backend return a tensor
 * sharing the input's buffer (the buffer's reference count goes up) instead of a copy, as the
 * cpu and WebGL backends do. tfjs' engine clones every tensor a gradient needs as it records the
 * forward pass (saveTensorsForBackwardMode: Identity), and its Multiply, RealDiv, Square and Sqrt
 * gradients cast float32 tensors to float32: tfjs-wasm copied each one, 355 Identity and 114 Cast
 * copies in a tiny-lm training step (about 6 % of it at 8 × 64, and the saved activations held
 * twice until the backward pass). No wasm kernel writes into its inputs (ours neither:
 * slicedMatMul, wasmConvGrads, fusedUpdate write only tensors they make), so sharing is safe;
 * the backend's own kernels that copy through their own import of identity still copy.
 * Installed once, where the wasm backend's kernels are registered; `oldKernels.copyIdentity`
 * switches the benches back to the copies.
 */
let installed = false

interface RefCounting {
  incRef(dataId: object): void
}

export function shareWasmIdentity(): void {
  if (installed) return
  const identity = tf.getKernel('Identity', 'wasm')
  const cast = tf.getKernel('Cast', 'wasm')
  if (!identity || !cast) return // the wasm backend is not loaded here
  installed = true
  const copyIdentity = identity.kernelFunc
  const copyCast = cast.kernelFunc
  const share = (x: tf.TensorInfo, backend: unknown): tf.TensorInfo => {
    ;(backend as RefCounting).incRef(x.dataId)
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
  }
  tf.unregisterKernel('Identity', 'wasm')
  tf.registerKernel({
    ...identity,
    kernelFunc: (args) => {
      const x = (args.inputs as { x: tf.TensorInfo }).x
      return oldKernels.copyIdentity || x.dtype === 'string' ? copyIdentity(args) : share(x, args.backend)
    },
  })
  tf.unregisterKernel('Cast', 'wasm')
  tf.registerKernel({
    ...cast,
    kernelFunc: (args) => {
      const x = (args.inputs as { x: tf.TensorInfo }).x
      const dtype = (args.attrs as { dtype?: tf.DataType } | undefined)?.dtype
      return oldKernels.copyIdentity || dtype !== x.dtype || x.dtype === 'string' ? copyCast(args) : share(x, args.backend)
    },
  })
}
