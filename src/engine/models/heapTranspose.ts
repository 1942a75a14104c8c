import * as tf from '@tensorflow/tfjs'
import { benchSwitch } from '../benchSwitches'
import { backendMemory, moduleOnMemory } from './heapModules'

/**
 * The last two axes swapped, [..., R, C] → [..., C, R], as one kernel over the wasm heap.
 *
 * tfjs-backend-wasm 4.22's Transpose is a scalar loop at 7–8 ns an element: tiny-lm's full
 * fine-tuning step at 16 × 64 ran 52 of them, 20 ms of a ~320 ms step (the products' operands for
 * their gradients, models/matMulFast.ts). A JavaScript copy is not much better (2–4 ns an element
 * measured, bounds checks on every element), so the work is a 454-byte WebAssembly module of our
 * own (SWAP_WAT below, assembled with wabt 1.0.39) that imports the backend's own memory and
 * swaps 4 × 4 blocks with SIMD shuffles, 16 rows at a time so each write is a whole cache line.
 * Rows past the last multiple of 16 and columns past the last multiple of 4 (and everything where
 * the module cannot run: no WebAssembly SIMD) take a JavaScript band copy. The threaded backend's
 * shared memory gets the same module with a shared memory import.
 * Both move 32-bit patterns, never values, so every element, NaN payloads included, arrives
 * unchanged: the same tensor as tf.transpose, bit for bit.
 *
 * Kernel (registered for 'wasm' only): StudioSwapLast x [..., R, C] (float32 or int32) → [..., C, R];
 * its gradient is itself on dy.
 */
export const SWAP_LAST = 'StudioSwapLast'

/** The module's source: swap(src, dst, R, C, rEnd, cEnd) transposes rows [0, rEnd) × columns
 *  [0, cEnd) of the [R, C] int32 matrix at byte address src into the [C, R] one at dst (rEnd a
 *  multiple of 16, cEnd of 4). */
export const SWAP_WAT = `(module
  (import "env" "memory" (memory 0))
  (func (export "swap") (param $src i32) (param $dst i32) (param $R i32) (param $C i32) (param $rEnd i32) (param $cEnd i32)
    (local $r i32) (local $c i32) (local $k i32) (local $s i32) (local $d i32) (local $C4 i32) (local $R4 i32)
    (local $a v128) (local $b v128) (local $x v128) (local $y v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $C4 (i32.shl (local.get $C) (i32.const 2)))
    (local.set $R4 (i32.shl (local.get $R) (i32.const 2)))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rEnd)))
      (local.set $c (i32.const 0))
      (block $cdone (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $cEnd)))
        (local.set $k (i32.const 0))
        (loop $kloop
          (local.set $s (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (i32.add (local.get $r) (local.get $k)) (local.get $C)) (local.get $c)) (i32.const 2))))
          (local.set $d (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $R)) (i32.add (local.get $r) (local.get $k))) (i32.const 2))))
          (local.set $a (v128.load (local.get $s)))
          (local.set $b (v128.load (i32.add (local.get $s) (local.get $C4))))
          (local.set $x (v128.load (i32.add (local.get $s) (i32.shl (local.get $C4) (i32.const 1)))))
          (local.set $y (v128.load (i32.add (local.get $s) (i32.mul (local.get $C4) (i32.const 3)))))
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
          (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
          (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x) (local.get $y)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x) (local.get $y)))
          (v128.store (local.get $d) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $d) (local.get $R4)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $d) (i32.shl (local.get $R4) (i32.const 1))) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
          (v128.store (i32.add (local.get $d) (i32.mul (local.get $R4) (i32.const 3))) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br_if $kloop (i32.lt_u (local.get $k) (i32.const 16))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 16)))
      (br $rloop)))))`
/** SWAP_WAT assembled; the second with the memory import `(memory 0 65536 shared)` instead, for
 *  the threaded backend's SharedArrayBuffer memory. */
export const SWAP_WASM_HEX =
  '0061736d01000000010a0160067f7f7f7f7f7f00020f0103656e76066d656d6f727902000003020100070801047377617000000a9003018d0302077f' +
  '087b2003410274210b2002410274210c02400340200620044f0d014100210702400340200720054f0d014100210803402000200620086a20036c2007' +
  '6a4102746a21092001200720026c200620086a6a4102746a210a2009fd000400210d2009200b6afd000400210e2009200b4101746afd000400210f20' +
  '09200b41036c6afd0004002110200d200efd0d000102031011121304050607141516172111200d200efd0d08090a0b18191a1b0c0d0e0f1c1d1e1f21' +
  '12200f2010fd0d000102031011121304050607141516172113200f2010fd0d08090a0b18191a1b0c0d0e0f1c1d1e1f2114200a20112013fd0d000102' +
  '03040506071011121314151617fd0b0400200a200c6a20112013fd0d08090a0b0c0d0e0f18191a1b1c1d1e1ffd0b0400200a200c4101746a20122014' +
  'fd0d00010203040506071011121314151617fd0b0400200a200c41036c6a20122014fd0d08090a0b0c0d0e0f18191a1b1c1d1e1ffd0b040020084104' +
  '6a210820084110490d000b200741046a21070c000b0b200641106a21060c000b0b0b'
export const SWAP_SHARED_WASM_HEX =
  '0061736d01000000010a0160067f7f7f7f7f7f0002120103656e76066d656d6f727902030080800403020100070801047377617000000a9003018d03' +
  '02077f087b2003410274210b2002410274210c02400340200620044f0d014100210702400340200720054f0d014100210803402000200620086a2003' +
  '6c20076a4102746a21092001200720026c200620086a6a4102746a210a2009fd000400210d2009200b6afd000400210e2009200b4101746afd000400' +
  '210f2009200b41036c6afd0004002110200d200efd0d000102031011121304050607141516172111200d200efd0d08090a0b18191a1b0c0d0e0f1c1d' +
  '1e1f2112200f2010fd0d000102031011121304050607141516172113200f2010fd0d08090a0b18191a1b0c0d0e0f1c1d1e1f2114200a20112013fd0d' +
  '00010203040506071011121314151617fd0b0400200a200c6a20112013fd0d08090a0b0c0d0e0f18191a1b1c1d1e1ffd0b0400200a200c4101746a20' +
  '122014fd0d00010203040506071011121314151617fd0b0400200a200c41036c6a20122014fd0d08090a0b0c0d0e0f18191a1b1c1d1e1ffd0b040020' +
  '0841046a210820084110490d000b200741046a21070c000b0b200641106a21060c000b0b0b'

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array
  wasm: { asm?: { memory?: unknown }; wasmMemory?: unknown } // the module's export; the threaded build's Module.wasmMemory
}
type Swap = (src: number, dst: number, R: number, C: number, rEnd: number, cEnd: number) => void

const swapExports = moduleOnMemory<{ swap: Swap }>(SWAP_WASM_HEX, SWAP_SHARED_WASM_HEX, 'heapTranspose')
/** The SIMD swap instantiated on this memory (shared or not), or null where it cannot run (no
 *  WebAssembly SIMD: the JavaScript copy does it all). Exported for the tests. */
export function swapModule(memory: WebAssembly.Memory): Swap | null {
  return swapExports(memory)?.swap ?? null
}

/** The SIMD swap on this backend's memory, or null (the JavaScript copy) where it cannot run. */
function simdSwap(b: WasmLike): Swap | null {
  const memory = backendMemory(b)
  if (benchSwitch.jsTranspose || !memory) return null
  return swapModule(memory)
}

function int32View(a: Float32Array | Int32Array | Uint8Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, (a.byteLength / 4) | 0)
}

function swapLastKernel({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo }
  const r = x.shape.length
  if (r < 2 || (x.dtype !== 'float32' && x.dtype !== 'int32')) throw new Error(`${SWAP_LAST}: a float32 or int32 tensor of rank ≥ 2 expected, got ${x.dtype} [${x.shape.join(', ')}]`)
  const R = x.shape[r - 2]!
  const C = x.shape[r - 1]!
  const b = backend as WasmLike
  const out = b.makeOutput([...x.shape.slice(0, -2), C, R], x.dtype) // first: allocating may move the heap
  const size = x.shape.reduce((a, d) => a * d, 1)
  if (size === 0) return out
  const src = int32View(b.typedArrayFromHeap(x))
  const dst = int32View(b.typedArrayFromHeap(out))
  const swap = simdSwap(b)
  const rEnd = swap ? R - (R % 16) : 0
  const cEnd = swap ? C - (C % 4) : 0
  const slice = R * C
  for (let s = 0; s < size; s += slice) {
    if (rEnd > 0 && cEnd > 0) swap!(src.byteOffset + 4 * s, dst.byteOffset + 4 * s, R, C, rEnd, cEnd)
    for (let r0 = 0; r0 < rEnd; r0 += 16) band(dst, src, s, R, C, r0, r0 + 16, cEnd, C)
    for (let r0 = rEnd; r0 < R; r0 += 16) band(dst, src, s, R, C, r0, Math.min(R, r0 + 16), 0, C)
  }
  return out
}

/** Rows r0..r1, columns c0..c1 of the [R, C] matrix at `at` into its [C, R] transpose at `at`. */
function band(dst: Int32Array, src: Int32Array, at: number, R: number, C: number, r0: number, r1: number, c0: number, c1: number): void {
  if (r0 >= r1) return
  for (let c = c0; c < c1; c++) {
    let d = at + c * R + r0
    let s = at + r0 * C + c
    for (let i = r0; i < r1; i++, s += C) dst[d++] = src[s]!
  }
}

/** Whether the current wasm backend swaps with the SIMD module (tests, benches' notes). */
export function heapTransposeSimd(): boolean {
  return tf.getBackend() === 'wasm' && simdSwap(tf.backend() as unknown as WasmLike) !== null
}

let registered = false
function register(): void {
  if (registered) return
  registered = true
  if (!tf.getKernel(SWAP_LAST, 'wasm')) tf.registerKernel({ kernelName: SWAP_LAST, backendName: 'wasm', kernelFunc: swapLastKernel as unknown as tf.KernelFunc })
  tf.registerGradient({ kernelName: SWAP_LAST, gradFunc: (dy) => ({ x: () => swapLastOnHeap(dy as tf.Tensor) }) })
}

function swapLastOnHeap<T extends tf.Tensor>(x: T): T {
  return tf.engine().runKernel(SWAP_LAST, { x } as unknown as tf.NamedTensorMap) as T
}

/** Whether x's last two axes swap on the heap kernel: wasm, float32 or int32, rank ≥ 2, unless
 *  the bench switch puts tfjs' Transpose back. */
export function heapTransposeApplies(x: tf.Tensor): boolean {
  return !benchSwitch.tfjsTranspose && tf.getBackend() === 'wasm' && x.rank >= 2 && (x.dtype === 'float32' || x.dtype === 'int32')
}

/** x [..., R, C] → [..., C, R]: the heap kernel on wasm (with its gradient), tf.transpose elsewhere. */
export function swapLastAxes<T extends tf.Tensor>(x: T): T {
  if (heapTransposeApplies(x)) {
    register()
    return swapLastOnHeap(x)
  }
  const r = x.rank
  const perm = Array.from({ length: r }, (_, i) => i)
  perm[r - 2] = r - 1
  perm[r - 1] = r - 2
  return tf.transpose(x, perm)
}
