import { benchSwitch } from '../benchSwitches'
import { backendMemory, moduleOnMemory } from './heapModules'

/**
 * Two of the emoji CNN's JavaScript gradient passes (cnnFused.ts) as WebAssembly SIMD on the
 * backend's own memory:
 * - `dwgrad`: StudioDepthwise3x3Grad's filter and bias gradients (depthwiseGradRow): every
 *   output pixel's 9 taps, x·dy summed in float64 per filter weight (f64x2 lanes; the products of
 *   two float32 values are exact in float64), pixel after pixel in the JavaScript's order, so the
 *   sums are the same bits. The JavaScript ran about 5 ns a multiply-add (2.5 ms of a batch-2
 *   step, 18 ms at batch 16 in Node).
 * - `relu6grad`: StudioRelu6Grad, dy where 0 ≤ x ≤ 6 else 0, four lanes at a time (a bitwise
 *   mask: the same values, NaN in x gives 0 as the JavaScript's comparison does).
 * The module is CNN_WAT below, assembled with wabt 1.0.39 (as lmSimd.ts's); instantiated on the
 * backend's memory as heapTranspose.ts's. cnnFused.ts keeps its JavaScript where this returns
 * null (no SIMD, channels not a multiple of 4, or benchSwitch.jsCnnKernels).
 */
export const CNN_WAT = `(module
  (import "env" "memory" (memory 0))
  ;; o[i] = g[i] where 0 <= x[i] <= 6, else +0, for i in [0, n), n a multiple of 4.
  (func (export "relu6grad") (param $o i32) (param $x i32) (param $g i32) (param $n i32)
    (local $i i32) (local $xv v128)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $xv (v128.load (local.get $x)))
      (v128.store (local.get $o)
        (v128.and (v128.load (local.get $g))
          (v128.and (f32x4.ge (local.get $xv) (v128.const f32x4 0 0 0 0))
                    (f32x4.le (local.get $xv) (v128.const f32x4 6 6 6 6)))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l))))
  ;; acc[c] += a[c]·b[c] in float64 for c in [0, C): acc float64, a and b float32, C a multiple of 4.
  (func $madd (param $acc i32) (param $a i32) (param $b i32) (param $C i32)
    (local $c i32) (local $av v128) (local $bv v128)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $c) (local.get $C)))
      (local.set $av (v128.load (local.get $a)))
      (local.set $bv (v128.load (local.get $b)))
      (v128.store (local.get $acc) (f64x2.add (v128.load (local.get $acc))
        (f64x2.mul (f64x2.promote_low_f32x4 (local.get $av)) (f64x2.promote_low_f32x4 (local.get $bv)))))
      (v128.store offset=16 (local.get $acc) (f64x2.add (v128.load offset=16 (local.get $acc))
        (f64x2.mul
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $av) (local.get $av)))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $bv) (local.get $bv))))))
      (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
      (local.set $a (i32.add (local.get $a) (i32.const 16)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $l))))
  ;; acc[c] += b[c] in float64 for c in [0, C), C a multiple of 4.
  (func $add (param $acc i32) (param $b i32) (param $C i32)
    (local $c i32) (local $bv v128)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $c) (local.get $C)))
      (local.set $bv (v128.load (local.get $b)))
      (v128.store (local.get $acc) (f64x2.add (v128.load (local.get $acc)) (f64x2.promote_low_f32x4 (local.get $bv))))
      (v128.store offset=16 (local.get $acc) (f64x2.add (v128.load offset=16 (local.get $acc))
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $bv) (local.get $bv)))))
      (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
      (local.set $b (i32.add (local.get $b) (i32.const 16)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $l))))
  ;; The depthwise 3×3's filter and bias gradients (stride 1, zero padding 1) for x and g
  ;; [B, H, W, C] float32: accW [9, C] and accB [C] float64 (zeroed here), summed pixel after
  ;; pixel (n, h, w), then tap (ky, kx), as cnnFused.ts depthwiseGradRow. C a multiple of 4.
  (func (export "dwgrad") (param $accW i32) (param $accB i32) (param $x i32) (param $g i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32)
    (local $i i32) (local $n i32) (local $h i32) (local $w i32) (local $ky i32) (local $kx i32) (local $ih i32) (local $iw i32) (local $go i32) (local $C4 i32) (local $C8 i32)
    (local.set $C4 (i32.shl (local.get $C) (i32.const 2)))
    (local.set $C8 (i32.shl (local.get $C) (i32.const 3)))
    (block $z (loop $zl
      (br_if $z (i32.ge_u (local.get $i) (i32.mul (local.get $C8) (i32.const 9))))
      (v128.store (i32.add (local.get $accW) (local.get $i)) (v128.const i64x2 0 0))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $zl)))
    (local.set $i (i32.const 0))
    (block $z2 (loop $zl2
      (br_if $z2 (i32.ge_u (local.get $i) (local.get $C8)))
      (v128.store (i32.add (local.get $accB) (local.get $i)) (v128.const i64x2 0 0))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $zl2)))
    (local.set $go (local.get $g))
    (block $nd (loop $nl
      (br_if $nd (i32.ge_u (local.get $n) (local.get $B)))
      (local.set $h (i32.const 0))
      (block $hd (loop $hl
        (br_if $hd (i32.ge_u (local.get $h) (local.get $H)))
        (local.set $w (i32.const 0))
        (block $wd (loop $wl
          (br_if $wd (i32.ge_u (local.get $w) (local.get $W)))
          (call $add (local.get $accB) (local.get $go) (local.get $C))
          (local.set $ky (i32.const 0))
          (block $yd (loop $yl
            (br_if $yd (i32.ge_u (local.get $ky) (i32.const 3)))
            (local.set $ih (i32.sub (i32.add (local.get $h) (local.get $ky)) (i32.const 1)))
            (if (i32.lt_u (local.get $ih) (local.get $H)) (then
              (local.set $kx (i32.const 0))
              (block $xd (loop $xl
                (br_if $xd (i32.ge_u (local.get $kx) (i32.const 3)))
                (local.set $iw (i32.sub (i32.add (local.get $w) (local.get $kx)) (i32.const 1)))
                (if (i32.lt_u (local.get $iw) (local.get $W)) (then
                  (call $madd
                    (i32.add (local.get $accW) (i32.mul (i32.add (i32.mul (local.get $ky) (i32.const 3)) (local.get $kx)) (local.get $C8)))
                    (i32.add (local.get $x) (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $H)) (local.get $ih)) (local.get $W)) (local.get $iw)) (local.get $C4)))
                    (local.get $go) (local.get $C))))
                (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
                (br $xl)))))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $yl)))
          (local.set $go (i32.add (local.get $go) (local.get $C4)))
          (local.set $w (i32.add (local.get $w) (i32.const 1)))
          (br $wl)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $hl)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $nl))))
)
`
/** CNN_WAT assembled; the second with `(memory 0 65536 shared)` for the threaded backend. */
export const CNN_WASM_HEX =
  '0061736d0100000001190360047f7f7f7f0060037f7f7f0060087f7f7f7f7f7f7f7f00020f0103656e76066d656d6f72790200000305040000010207' +
  '16020972656c75366772616400000664776772616400030add05047502017f017b02400340200420034f0d012001fd000400210520002002fd000400' +
  '2005fd0c00000000000000000000000000000000fd462005fd0c0000c0400000c0400000c0400000c040fd45fd4efd4efd0b0400200041106a210020' +
  '0141106a2101200241106a2102200441046a21040c000b0b0b9d0102017f027b02400340200420034f0d012001fd00040021052002fd000400210620' +
  '002000fd0004002005fd5f2006fd5ffdf201fdf001fd0b040020002000fd00041020052005fd0d08090a0b0c0d0e0f0001020304050607fd5f200620' +
  '06fd0d08090a0b0c0d0e0f0001020304050607fd5ffdf201fdf001fd0b0410200041206a2100200141106a2101200241106a2102200441046a21040c' +
  '000b0b0b6c02017f017b02400340200320024f0d012001fd000400210420002000fd0004002004fd5ffdf001fd0b040020002000fd00041020042004' +
  'fd0d08090a0b0c0d0e0f0001020304050607fd5ffdf001fd0b0410200041206a2100200141106a2101200341046a21030c000b0b0bd802010b7f2007' +
  '410274211120074103742112024003402008201241096c4f0d01200020086afd0c00000000000000000000000000000000fd0b0400200841106a2108' +
  '0c000b0b4100210802400340200820124f0d01200120086afd0c00000000000000000000000000000000fd0b0400200841106a21080c000b0b200321' +
  '1002400340200920044f0d014100210a02400340200a20054f0d014100210b02400340200b20064f0d0120012010200710024100210c02400340200c' +
  '41034f0d01200a200c6a41016b210e200e20054904404100210d02400340200d41034f0d01200b200d6a41016b210f200f20064904402000200c4103' +
  '6c200d6a20126c6a2002200920056c200e6a20066c200f6a20116c6a2010200710010b200d41016a210d0c000b0b0b200c41016a210c0c000b0b2010' +
  '20116a2110200b41016a210b0c000b0b200a41016a210a0c000b0b200941016a21090c000b0b0b'
export const CNN_SHARED_WASM_HEX =
  '0061736d0100000001190360047f7f7f7f0060037f7f7f0060087f7f7f7f7f7f7f7f0002120103656e76066d656d6f72790203008080040305040000' +
  '01020716020972656c75366772616400000664776772616400030add05047502017f017b02400340200420034f0d012001fd000400210520002002fd' +
  '0004002005fd0c00000000000000000000000000000000fd462005fd0c0000c0400000c0400000c0400000c040fd45fd4efd4efd0b0400200041106a' +
  '2100200141106a2101200241106a2102200441046a21040c000b0b0b9d0102017f027b02400340200420034f0d012001fd00040021052002fd000400' +
  '210620002000fd0004002005fd5f2006fd5ffdf201fdf001fd0b040020002000fd00041020052005fd0d08090a0b0c0d0e0f0001020304050607fd5f' +
  '20062006fd0d08090a0b0c0d0e0f0001020304050607fd5ffdf201fdf001fd0b0410200041206a2100200141106a2101200241106a2102200441046a' +
  '21040c000b0b0b6c02017f017b02400340200320024f0d012001fd000400210420002000fd0004002004fd5ffdf001fd0b040020002000fd00041020' +
  '042004fd0d08090a0b0c0d0e0f0001020304050607fd5ffdf001fd0b0410200041206a2100200141106a2101200341046a21030c000b0b0bd802010b' +
  '7f2007410274211120074103742112024003402008201241096c4f0d01200020086afd0c00000000000000000000000000000000fd0b040020084110' +
  '6a21080c000b0b4100210802400340200820124f0d01200120086afd0c00000000000000000000000000000000fd0b0400200841106a21080c000b0b' +
  '2003211002400340200920044f0d014100210a02400340200a20054f0d014100210b02400340200b20064f0d0120012010200710024100210c024003' +
  '40200c41034f0d01200a200c6a41016b210e200e20054904404100210d02400340200d41034f0d01200b200d6a41016b210f200f2006490440200020' +
  '0c41036c200d6a20126c6a2002200920056c200e6a20066c200f6a20116c6a2010200710010b200d41016a210d0c000b0b0b200c41016a210c0c000b' +
  '0b201020116a2110200b41016a210b0c000b0b200a41016a210a0c000b0b200941016a21090c000b0b0b'

export interface CnnSimd {
  relu6grad(o: number, x: number, g: number, n: number): void
  dwgrad(accW: number, accB: number, x: number, g: number, B: number, H: number, W: number, C: number): void
}

/** The module on this memory (shared or not), or null where it cannot run. */
export const cnnSimdModule = moduleOnMemory<CnnSimd>(CNN_WASM_HEX, CNN_SHARED_WASM_HEX, 'cnnSimd')

/** The module for a wasm backend, or null (no SIMD, or benchSwitch.jsCnnKernels). */
export function cnnSimd(backend: unknown): CnnSimd | null {
  const memory = backendMemory(backend)
  if (benchSwitch.jsCnnKernels || !memory) return null
  return cnnSimdModule(memory)
}
