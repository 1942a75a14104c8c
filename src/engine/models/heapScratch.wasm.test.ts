import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { explainEngineError } from '../engineErrors'
import { CHANNEL_NORM_GRAD, channelNormFused, cnnFusedActive } from './cnnFused'
import { lmSimd } from './lmSimd'
import { ROW_SUM, rowSumFused } from './lmFused'
import { SLICED_MATMUL, batchMatMul, takesSlicedPath } from './slicedMatMul'

// tfjs-wasm's _malloc answers 0 when its heap cannot grow. Filling a real heap to its 4 GB limit
// is not something a unit test can do, so here the backend's own _malloc is made to answer 0 for
// the kernel's scratch request only (its size; the backend's own tensors still get real memory),
// as it does when the heap is full. The kernels, the backend and the heap are the real ones.

type Heap = { _malloc(n: number): number }
let heap: Heap
let realMalloc: Heap['_malloc']

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true)
  heap = (tf.backend() as unknown as { wasm: Heap }).wasm
  tf.dispose(tf.zeros([4])) // emscripten's first _malloc replaces itself with the module's export
  realMalloc = heap._malloc
})
afterEach(() => {
  heap._malloc = realMalloc
})

const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f + 0.3) + 0.25)

/** Runs `f` with a full heap: it must throw the engine's out-of-memory words, leak nothing on the
 *  backend, and leave the heap's first bytes (where _malloc's 0 points) as they were. */
function expectOutOfMemory(f: () => unknown, kernel: string, scratchBytes: number) {
  const backend = tf.backend()
  const dataIds = backend.numDataIds()
  const tensors = tf.memory().numTensors
  const asked: number[] = []
  heap._malloc = (n: number) => {
    if (n !== scratchBytes) return realMalloc.call(heap, n)
    asked.push(n)
    return 0
  }
  const start = new Uint8Array((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer, 0, 64).slice()
  let thrown: unknown = null
  try {
    tf.tidy(() => {
      f()
    })
  } catch (e) {
    thrown = e
  }
  heap._malloc = realMalloc
  expect(asked.length, `${kernel} asked for scratch`).toBeGreaterThan(0)
  expect(thrown, `${kernel} threw`).toBeInstanceOf(Error)
  expect((thrown as Error).message).toContain(kernel)
  expect((thrown as Error).message).toContain('out of memory')
  const explained = explainEngineError(thrown, { backend: 'wasm', doing: 'training' })
  expect(explained.failure).toBe('memory')
  expect(explained.message).toContain('ran out of memory while training')
  expect(explained.message).toContain('Try a smaller batch size')
  expect(new Uint8Array((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer, 0, 64)).toEqual(start)
  expect(backend.numDataIds(), `${kernel}: nothing left on the backend`).toBe(dataIds)
  expect(tf.memory().numTensors).toBe(tensors)
}

describe("the fused kernels' scratch on a full wasm heap (_malloc answers 0)", () => {
  it('the SIMD module runs here, so the kernels below take their scratch-using paths', () => {
    expect(lmSimd(tf.backend())).not.toBeNull()
  })

  it('StudioRowSum refuses in words instead of summing into address 0, and works again once there is room', async () => {
    const x = tf.tensor2d(wave(8 * 16, 0.37), [8, 16])
    expectOutOfMemory(() => rowSumFused(x), ROW_SUM, 16 * 8)
    const got = rowSumFused(x)
    const xv = wave(8 * 16, 0.37)
    const want = Array.from({ length: 16 }, (_, j) => Array.from({ length: 8 }, (_, i) => xv[i * 16 + j]!).reduce((a, v) => a + v, 0))
    Array.from(await got.data()).forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 5))
    tf.dispose([x, got])
  })

  it("StudioChannelNormGrad (the norms' gradient) refuses in words, its three outputs freed", () => {
    expect(cnnFusedActive()).toBe(true)
    const x = tf.tensor2d(wave(6 * 8, 0.61), [6, 8])
    const g = tf.tensor1d(wave(8, 0.7))
    const b = tf.tensor1d(wave(8, 1.3))
    const dy = tf.tensor2d(wave(6 * 8, 0.43), [6, 8])
    // the kernel itself (a failed tf.grads also leaves the tape's saved tensors, tfjs's own matter)
    expectOutOfMemory(() => tf.engine().runKernel(CHANNEL_NORM_GRAD, { dy, x, gamma: g, beta: b }, { relu6: false }), CHANNEL_NORM_GRAD, 48 * 8) // accG, accB, x̂ and gh of two rows: 6·C float64
    // with room again, the same kernel gives the gradient (its numbers: cnnFused.wasm.test.ts)
    const [dx] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(channelNormFused(a, g, b, false), dy)))([x])
    expect(Array.from(dx!.dataSync()).every(Number.isFinite)).toBe(true)
    tf.dispose([x, g, b, dy, dx!])
  })

  it('StudioSlicedBatchMatMul refuses in words, its output freed', () => {
    const a = tf.tensor3d(wave(2 * 4 * 8, 0.3), [2, 4, 8])
    const b = tf.tensor3d(wave(2 * 8 * 4, 0.5), [2, 8, 4])
    expect(takesSlicedPath(a, b)).toBe(true)
    expectOutOfMemory(() => batchMatMul(a, b), SLICED_MATMUL, 24)
    tf.dispose([a, b])
  })
})
