import { benchSwitch } from '../benchSwitches'

/**
 * Two of tiny-lm's fused kernels (models/lmFused.ts) as WebAssembly SIMD on the backend's own
 * memory: StudioRowSum's column sums (the bias and norm-shift gradients: ~1.2 ms for [1024, 512] in
 * JavaScript) and StudioGeluGrad's pointwise pass (~2.3 ms). Both do the JavaScript version's
 * float64 arithmetic in its order (f64x2 lanes, no fused multiply-add in WebAssembly) and round
 * to float32 as its stores do, so their outputs are the same bits (lmSimd.wasm.test.ts). The
 * module is LM_WAT below, assembled with wabt 1.0.39; instantiated as heapTranspose.ts's.
 * lmFused.ts falls back to its JavaScript where this returns null (no SIMD, odd widths, or
 * benchSwitch.jsLmKernels).
 */
export const LM_WAT = `(module
  (import "env" "memory" (memory 0))
  ;; acc[0..M) (float64, at byte address acc) = column sums of the [N, M] float32 matrix at x,
  ;; each column summed row after row in float64 (M a multiple of 4).
  (func (export "rowsum") (param $x i32) (param $acc i32) (param $N i32) (param $M i32)
    (local $r i32) (local $c i32) (local $p i32) (local $q i32) (local $v v128)
    (block $z (loop $zl
      (br_if $z (i32.ge_u (local.get $c) (local.get $M)))
      (v128.store (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))) (v128.const i64x2 0 0))
      (local.set $c (i32.add (local.get $c) (i32.const 2)))
      (br $zl)))
    (local.set $p (local.get $x))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (local.get $r) (local.get $N)))
      (local.set $q (local.get $acc))
      (local.set $c (i32.const 0))
      (block $cd (loop $cl
        (br_if $cd (i32.ge_u (local.get $c) (local.get $M)))
        (local.set $v (v128.load (local.get $p)))
        (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))
  ;; o[i] = g·(s + x·s·(1 − s)·c2·(1 + a3·x·x)) in float64, rounded to float32, for i in [0, n), n a
  ;; multiple of 4: lmFused.ts geluGradRange's expression in its order.
  (func $half (param $x v128) (param $s v128) (param $g v128) (param $c2 v128) (param $a3 v128) (result v128)
    (f64x2.mul (local.get $g)
      (f64x2.add (local.get $s)
        (f64x2.mul
          (f64x2.mul (f64x2.mul (f64x2.mul (local.get $x) (local.get $s)) (f64x2.sub (f64x2.splat (f64.const 1)) (local.get $s))) (local.get $c2))
          (f64x2.add (f64x2.splat (f64.const 1)) (f64x2.mul (f64x2.mul (local.get $a3) (local.get $x)) (local.get $x)))))))
  (func (export "gelugrad") (param $o i32) (param $x i32) (param $s i32) (param $g i32) (param $n i32) (param $c2f f64) (param $a3f f64)
    (local $i i32) (local $xv v128) (local $sv v128) (local $gv v128) (local $c2 v128) (local $a3 v128) (local $lo v128) (local $hi v128)
    (local.set $c2 (f64x2.splat (local.get $c2f)))
    (local.set $a3 (f64x2.splat (local.get $a3f)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $xv (v128.load (local.get $x)))
      (local.set $sv (v128.load (local.get $s)))
      (local.set $gv (v128.load (local.get $g)))
      (local.set $lo (call $half (f64x2.promote_low_f32x4 (local.get $xv)) (f64x2.promote_low_f32x4 (local.get $sv)) (f64x2.promote_low_f32x4 (local.get $gv)) (local.get $c2) (local.get $a3)))
      (local.set $hi (call $half
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $xv) (local.get $xv)))
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $sv) (local.get $sv)))
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $gv) (local.get $gv)))
        (local.get $c2) (local.get $a3)))
      (v128.store (local.get $o) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $s (i32.add (local.get $s) (i32.const 16)))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l)))))
`
/** LM_WAT assembled; the second with `(memory 0 65536 shared)` for the threaded backend. */
const LM_WASM_HEX =
  '0061736d01000000011b0360047f7f7f7f0060057b7b7b7b7b017b60077f7f7f7f7f7c7c00020f0103656e76066d656d6f7279020000030403000102' +
  '07150206726f7773756d00000867656c756772616400020af00303c20102047f017b02400340200520034f0d01200120054103746afd0c0000000000' +
  '0000000000000000000000fd0b0400200541026a21050c000b0b2000210602400340200420024f0d01200121074100210502400340200520034f0d01' +
  '2006fd000400210820072007fd0004002008fd5ffdf001fd0b040020072007fd00041020082008fd0d08090a0b0c0d0e0f0001020304050607fd5ffd' +
  'f001fd0b0410200641106a2106200741206a2107200541046a21050c000b0b200441016a21040c000b0b0b48002002200120002001fdf20144000000' +
  '000000f03ffd142001fdf101fdf2012003fdf20144000000000000f03ffd1420042000fdf2012000fdf201fdf001fdf201fdf001fdf2010be0010201' +
  '7f077b2005fd14210b2006fd14210c02400340200720044f0d012001fd00040021082002fd00040021092003fd000400210a2008fd5f2009fd5f200a' +
  'fd5f200b200c1001210d20082008fd0d08090a0b0c0d0e0f0001020304050607fd5f20092009fd0d08090a0b0c0d0e0f0001020304050607fd5f200a' +
  '200afd0d08090a0b0c0d0e0f0001020304050607fd5f200b200c1001210e2000200dfd5e200efd5efd0d00010203040506071011121314151617fd0b' +
  '0400200041106a2100200141106a2101200241106a2102200341106a2103200741046a21070c000b0b0b'
const LM_SHARED_WASM_HEX =
  '0061736d01000000011b0360047f7f7f7f0060057b7b7b7b7b017b60077f7f7f7f7f7c7c0002120103656e76066d656d6f7279020300808004030403' +
  '00010207150206726f7773756d00000867656c756772616400020af00303c20102047f017b02400340200520034f0d01200120054103746afd0c0000' +
  '0000000000000000000000000000fd0b0400200541026a21050c000b0b2000210602400340200420024f0d0120012107410021050240034020052003' +
  '4f0d012006fd000400210820072007fd0004002008fd5ffdf001fd0b040020072007fd00041020082008fd0d08090a0b0c0d0e0f0001020304050607' +
  'fd5ffdf001fd0b0410200641106a2106200741206a2107200541046a21050c000b0b200441016a21040c000b0b0b48002002200120002001fdf20144' +
  '000000000000f03ffd142001fdf101fdf2012003fdf20144000000000000f03ffd1420042000fdf2012000fdf201fdf001fdf201fdf001fdf2010be0' +
  '0102017f077b2005fd14210b2006fd14210c02400340200720044f0d012001fd00040021082002fd00040021092003fd000400210a2008fd5f2009fd' +
  '5f200afd5f200b200c1001210d20082008fd0d08090a0b0c0d0e0f0001020304050607fd5f20092009fd0d08090a0b0c0d0e0f0001020304050607fd' +
  '5f200a200afd0d08090a0b0c0d0e0f0001020304050607fd5f200b200c1001210e2000200dfd5e200efd5efd0d000102030405060710111213141516' +
  '17fd0b0400200041106a2100200141106a2101200241106a2102200341106a2103200741046a21070c000b0b0b'

export interface LmSimd {
  rowsum(x: number, acc: number, N: number, M: number): void
  gelugrad(o: number, x: number, s: number, g: number, n: number, c2: number, a3: number): void
}

const modules = new WeakMap<object, LmSimd | null>()
/** The module on this memory (shared or not), or null where it cannot run. */
export function lmSimdModule(memory: WebAssembly.Memory): LmSimd | null {
  let m = modules.get(memory)
  if (m === undefined) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
      const hex = shared ? LM_SHARED_WASM_HEX : LM_WASM_HEX
      const bytes = Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16))
      m = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as LmSimd
    } catch {
      m = null
    }
    modules.set(memory, m)
  }
  return m
}

/** The module for a wasm backend (its Module.asm.memory, or the threaded build's Module.wasmMemory). */
export function lmSimd(backend: unknown): LmSimd | null {
  const w = (backend as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } }).wasm
  const memory = w?.asm?.memory ?? w?.wasmMemory
  if (benchSwitch.jsLmKernels || !(memory instanceof WebAssembly.Memory)) return null
  return lmSimdModule(memory)
}
