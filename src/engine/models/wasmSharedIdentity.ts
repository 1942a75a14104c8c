import * as tf from '@tensorflow/tfjs'
import { benchSwitch, oldKernels } from '../benchSwitches'

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
  shareWasmTapeSaves()
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

interface SavingEngine {
  registry: Record<string, unknown>
  state: { tensorInfo: Map<object, { backend: unknown }> }
  keep<T extends tf.Tensor>(t: T): T
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: unknown): tf.Tensor
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[]
}

/**
 * tfjs' engine saves each tensor a gradient needs (a registered gradient's inputsToSave and
 * outputsToSave) as `keep(clone(t))`: an Identity kernel run through the engine plus a tape node
 * for the clone, about 80 of them in an emoji-cnn training step (the channel norms' x, γ and β,
 * the depthwise convolutions' x and filter, ReLU6's x, the reshapes' x …), each costing the
 * engine's per-kernel bookkeeping though Identity itself shares the buffer on wasm (above). On
 * wasm the saved tensor is made directly instead: a second tensor on the same buffer (the
 * backend's reference count up, as the shared Identity does), kept, and disposed after the
 * backward pass as the clone was. The same tensors reach the gradients; only the clone's tape
 * node is gone, which gradients of gradients would need (nothing in the studio takes them).
 * customGrad's own saves still clone. Other backends, and `benchSwitch.cloneTapeSaves` or
 * `oldKernels.copyIdentity`, keep tfjs' clones.
 */
let savesInstalled = false
export function shareWasmTapeSaves(): void {
  if (savesInstalled) return
  savesInstalled = true
  const proto = Object.getPrototypeOf(tf.engine()) as SavingEngine
  const clones = proto.saveTensorsForBackwardMode
  proto.saveTensorsForBackwardMode = function (this: SavingEngine, tensors: tf.Tensor[]): tf.Tensor[] {
    const wasm = this.registry.wasm // the wasm backend, once initialised (never started from here)
    if (!wasm || benchSwitch.cloneTapeSaves || oldKernels.copyIdentity) return clones.call(this, tensors)
    const infos = tensors.map((t) => this.state.tensorInfo.get(t.dataId))
    if (infos.some((i) => i?.backend !== wasm)) return clones.call(this, tensors)
    return tensors.map((t) => {
      ;(wasm as unknown as RefCounting).incRef(t.dataId)
      return this.keep(this.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, wasm))
    })
  }
}
