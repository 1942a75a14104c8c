import { benchSwitch } from '../benchSwitches'
import { backendMemory, moduleOnMemory } from './heapModules'

/**
 * Three of the fused kernels' JavaScript passes as WebAssembly on the backend's own memory:
 * StudioRowSum's column sums (lmFused.ts; the bias and norm-shift gradients: ~1.2 ms for
 * [1024, 512] in JavaScript) and StudioGeluGrad's pointwise pass (~2.3 ms) with SIMD, and
 * StudioChannelNormGrad's row pass (cnnFused.ts normGradRow, tiny-lm's layer norms and emoji-cnn's
 * channel norms; ~2 ms for [1024, 128]) and StudioSoftmaxGrad's rows (lmFused.ts softmaxGradRow)
 * as scalar float64 code, row after row; and the heads kernels' moves as one strided copy per head. All do the JavaScript version's
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
      (br $l))))
  ;; lmFused/cnnFused StudioChannelNormGrad's row pass (cnnFused.ts normGradRow) for rows [0, N) of
  ;; [N, C]: the same float64 operations in the same order, one row at a time. scr: 4·C float64
  ;; (accG, accB, x̂, gh); accG and accB hold the gain and shift gradients after.
  (func (export "normgrad") (param $dx i32) (param $x i32) (param $gam i32) (param $bet i32) (param $g i32) (param $scr i32) (param $N i32) (param $C i32) (param $clip i32) (param $eps f64)
    (local $r i32) (local $c i32) (local $a i32) (local $o i32) (local $accG i32) (local $accB i32) (local $xhat i32) (local $gh i32)
    (local $Cf f64) (local $sum f64) (local $mean f64) (local $sq f64) (local $dd f64) (local $inv f64)
    (local $m1 f64) (local $m2 f64) (local $xh f64) (local $d f64) (local $e f64) (local $z f32)
    (local.set $accG (local.get $scr))
    (local.set $accB (i32.add (local.get $scr) (i32.shl (local.get $C) (i32.const 3))))
    (local.set $xhat (i32.add (local.get $scr) (i32.shl (local.get $C) (i32.const 4))))
    (local.set $gh (i32.add (local.get $xhat) (i32.shl (local.get $C) (i32.const 3))))
    (local.set $Cf (f64.convert_i32_u (local.get $C)))
    (local.set $c (i32.const 0))
    (block $zd (loop $zl
      (br_if $zd (i32.ge_u (local.get $c) (local.get $C)))
      (f64.store (i32.add (local.get $accG) (i32.shl (local.get $c) (i32.const 3))) (f64.const 0))
      (f64.store (i32.add (local.get $accB) (i32.shl (local.get $c) (i32.const 3))) (f64.const 0))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $zl)))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (local.get $r) (local.get $N)))
      (local.set $a (i32.shl (i32.mul (local.get $r) (local.get $C)) (i32.const 2)))
      ;; mean
      (local.set $sum (f64.const 0))
      (local.set $c (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $sum (f64.add (local.get $sum) (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2))))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l1)))
      (local.set $mean (f64.div (local.get $sum) (local.get $Cf)))
      ;; variance
      (local.set $sq (f64.const 0))
      (local.set $c (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $dd (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2)))))) (local.get $mean)))
        (local.set $sq (f64.add (local.get $sq) (f64.mul (local.get $dd) (local.get $dd))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l2)))
      (local.set $inv (f64.div (f64.const 1) (f64.sqrt (f64.add (f64.div (local.get $sq) (local.get $Cf)) (local.get $eps)))))
      (local.set $m1 (f64.const 0))
      (local.set $m2 (f64.const 0))
      (local.set $c (i32.const 0))
      (block $d3 (loop $l3
        (br_if $d3 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $o (i32.shl (local.get $c) (i32.const 2)))
        (local.set $xh (f64.mul (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (i32.add (local.get $a) (local.get $o))))) (local.get $mean)) (local.get $inv)))
        (f64.store (i32.add (local.get $xhat) (i32.shl (local.get $c) (i32.const 3))) (local.get $xh))
        (local.set $d (f64.promote_f32 (f32.load (i32.add (local.get $g) (i32.add (local.get $a) (local.get $o))))))
        (if (local.get $clip) (then
          (local.set $z (f32.demote_f64 (f64.add (f64.mul (local.get $xh) (f64.promote_f32 (f32.load (i32.add (local.get $gam) (local.get $o))))) (f64.promote_f32 (f32.load (i32.add (local.get $bet) (local.get $o)))))))
          (if (i32.eqz (i32.and (f32.ge (local.get $z) (f32.const 0)) (f32.le (local.get $z) (f32.const 6)))) (then (local.set $d (f64.const 0))))))
        (f64.store (i32.add (local.get $accG) (i32.shl (local.get $c) (i32.const 3))) (f64.add (f64.load (i32.add (local.get $accG) (i32.shl (local.get $c) (i32.const 3)))) (f64.mul (local.get $d) (local.get $xh))))
        (f64.store (i32.add (local.get $accB) (i32.shl (local.get $c) (i32.const 3))) (f64.add (f64.load (i32.add (local.get $accB) (i32.shl (local.get $c) (i32.const 3)))) (local.get $d)))
        (local.set $e (f64.mul (local.get $d) (f64.promote_f32 (f32.load (i32.add (local.get $gam) (local.get $o))))))
        (f64.store (i32.add (local.get $gh) (i32.shl (local.get $c) (i32.const 3))) (local.get $e))
        (local.set $m1 (f64.add (local.get $m1) (local.get $e)))
        (local.set $m2 (f64.add (local.get $m2) (f64.mul (local.get $e) (local.get $xh))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l3)))
      (local.set $m1 (f64.div (local.get $m1) (local.get $Cf)))
      (local.set $m2 (f64.div (local.get $m2) (local.get $Cf)))
      (local.set $c (i32.const 0))
      (block $d4 (loop $l4
        (br_if $d4 (i32.ge_u (local.get $c) (local.get $C)))
        (f32.store (i32.add (local.get $dx) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2))))
          (f32.demote_f64 (f64.mul
            (f64.sub (f64.sub (f64.load (i32.add (local.get $gh) (i32.shl (local.get $c) (i32.const 3)))) (local.get $m1))
                     (f64.mul (f64.load (i32.add (local.get $xhat) (i32.shl (local.get $c) (i32.const 3)))) (local.get $m2)))
            (local.get $inv))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l4)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))
  ;; lmFused.ts StudioSoftmaxGrad (softmaxGradRow) for rows [0, rows) of T values: dot = Σ y·dy in
  ;; float64 left to right, then o = (sc·y)·(dy − dot) rounded to float32; sc is fround(scale).
  (func (export "softmaxgrad") (param $o i32) (param $y i32) (param $g i32) (param $rows i32) (param $T i32) (param $sc f64)
    (local $r i32) (local $c i32) (local $a i32) (local $dot f64)
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $a (i32.shl (i32.mul (local.get $r) (local.get $T)) (i32.const 2)))
      (local.set $dot (f64.const 0))
      (local.set $c (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $c) (local.get $T)))
        (local.set $dot (f64.add (local.get $dot) (f64.mul
          (f64.promote_f32 (f32.load (i32.add (local.get $y) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2))))))
          (f64.promote_f32 (f32.load (i32.add (local.get $g) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2)))))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l1)))
      (local.set $c (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $c) (local.get $T)))
        (f32.store (i32.add (local.get $o) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2))))
          (f32.demote_f64 (f64.mul
            (f64.mul (local.get $sc) (f64.promote_f32 (f32.load (i32.add (local.get $y) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2)))))))
            (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $g) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2)))))) (local.get $dot)))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l2)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))
  ;; The heads kernels' moves (lmFused.ts qvBlock, kBlock, moveHead): R × C 32-bit values from src
  ;; (row stride srs, column stride scs, in bytes) to dst (drs, dcs); bit patterns, not values.
  (func (export "copy2d") (param $dst i32) (param $drs i32) (param $dcs i32) (param $src i32) (param $srs i32) (param $scs i32) (param $R i32) (param $C i32)
    (local $r i32) (local $c i32) (local $d i32) (local $s i32)
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (local.get $r) (local.get $R)))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $drs))))
      (local.set $s (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $srs))))
      (local.set $c (i32.const 0))
      (block $cd (loop $cl
        (br_if $cd (i32.ge_u (local.get $c) (local.get $C)))
        (i32.store (local.get $d) (i32.load (local.get $s)))
        (local.set $d (i32.add (local.get $d) (local.get $dcs)))
        (local.set $s (i32.add (local.get $s) (local.get $scs)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))))
`
/** LM_WAT assembled; the second with `(memory 0 65536 shared)` for the threaded backend. */
export const LM_WASM_HEX =
  '0061736d01000000013c0660047f7f7f7f0060057b7b7b7b7b017b60077f7f7f7f7f7c7c00600a7f7f7f7f7f7f7f7f7f7c0060067f7f7f7f7f7c0060' +
  '087f7f7f7f7f7f7f7f00020f0103656e76066d656d6f727902000003070600010203040507370506726f7773756d00000867656c7567726164000208' +
  '6e6f726d6772616400030b736f66746d617867726164000406636f7079326400050a970b06c20102047f017b02400340200520034f0d012001200541' +
  '03746afd0c00000000000000000000000000000000fd0b0400200541026a21050c000b0b2000210602400340200420024f0d01200121074100210502' +
  '400340200520034f0d012006fd000400210820072007fd0004002008fd5ffdf001fd0b040020072007fd00041020082008fd0d08090a0b0c0d0e0f00' +
  '01020304050607fd5ffdf001fd0b0410200641106a2106200741206a2107200541046a21050c000b0b200441016a21040c000b0b0b48002002200120' +
  '002001fdf20144000000000000f03ffd142001fdf101fdf2012003fdf20144000000000000f03ffd1420042000fdf2012000fdf201fdf001fdf201fd' +
  'f001fdf2010be00102017f077b2005fd14210b2006fd14210c02400340200720044f0d012001fd00040021082002fd00040021092003fd000400210a' +
  '2008fd5f2009fd5f200afd5f200b200c1001210d20082008fd0d08090a0b0c0d0e0f0001020304050607fd5f20092009fd0d08090a0b0c0d0e0f0001' +
  '020304050607fd5f200a200afd0d08090a0b0c0d0e0f0001020304050607fd5f200b200c1001210e2000200dfd5e200efd5efd0d0001020304050607' +
  '1011121314151617fd0b0400200041106a2100200141106a2101200241106a2102200341106a2103200741046a21070c000b0b0b850503087f0b7c01' +
  '7d2005210e200520074103746a210f200520074104746a2110201020074103746a21112007b821124100210b02400340200b20074f0d01200e200b41' +
  '03746a440000000000000000390300200f200b4103746a440000000000000000390300200b41016a210b0c000b0b02400340200a20064f0d01200a20' +
  '076c410274210c44000000000000000021134100210b02400340200b20074f0d0120132001200c200b4102746a6a2a0200bba02113200b41016a210b' +
  '0c000b0b20132012a3211444000000000000000021154100210b02400340200b20074f0d012001200c200b4102746a6a2a0200bb2014a12116201520' +
  '162016a2a02115200b41016a210b0c000b0b44000000000000f03f20152012a32009a09fa32117440000000000000000211844000000000000000021' +
  '194100210b02400340200b20074f0d01200b410274210d2001200c200d6a6a2a0200bb2014a12017a2211a2010200b4103746a201a3903002004200c' +
  '200d6a6a2a0200bb211b20080440201a2002200d6a2a0200bba22003200d6a2a0200bba0b6211d201d430000000060201d430000c0405f7145044044' +
  '0000000000000000211b0b0b200e200b4103746a200e200b4103746a2b0300201b201aa2a0390300200f200b4103746a200f200b4103746a2b030020' +
  '1ba0390300201b2002200d6a2a0200bba2211c2011200b4103746a201c3903002018201ca021182019201c201aa2a02119200b41016a210b0c000b0b' +
  '20182012a3211820192012a321194100210b02400340200b20074f0d012000200c200b4102746a6a2011200b4103746a2b03002018a12010200b4103' +
  '746a2b03002019a2a12017a2b6380200200b41016a210b0c000b0b200a41016a210a0c000b0b0bbd0102037f017c02400340200620034f0d01200620' +
  '046c410274210844000000000000000021094100210702400340200720044f0d0120092001200820074102746a6a2a0200bb2002200820074102746a' +
  '6a2a0200bba2a02109200741016a21070c000b0b4100210702400340200720044f0d012000200820074102746a6a20052001200820074102746a6a2a' +
  '0200bba22002200820074102746a6a2a0200bb2009a1a2b6380200200741016a21070c000b0b200641016a21060c000b0b0b6001047f024003402008' +
  '20064f0d012000200820016c6a210a2003200820046c6a210b4100210902400340200920074f0d01200a200b280200360200200a20026a210a200b20' +
  '056a210b200941016a21090c000b0b200841016a21080c000b0b0b'
export const LM_SHARED_WASM_HEX =
  '0061736d01000000013c0660047f7f7f7f0060057b7b7b7b7b017b60077f7f7f7f7f7c7c00600a7f7f7f7f7f7f7f7f7f7c0060067f7f7f7f7f7c0060' +
  '087f7f7f7f7f7f7f7f0002120103656e76066d656d6f727902030080800403070600010203040507370506726f7773756d00000867656c7567726164' +
  '0002086e6f726d6772616400030b736f66746d617867726164000406636f7079326400050a970b06c20102047f017b02400340200520034f0d012001' +
  '20054103746afd0c00000000000000000000000000000000fd0b0400200541026a21050c000b0b2000210602400340200420024f0d01200121074100' +
  '210502400340200520034f0d012006fd000400210820072007fd0004002008fd5ffdf001fd0b040020072007fd00041020082008fd0d08090a0b0c0d' +
  '0e0f0001020304050607fd5ffdf001fd0b0410200641106a2106200741206a2107200541046a21050c000b0b200441016a21040c000b0b0b48002002' +
  '200120002001fdf20144000000000000f03ffd142001fdf101fdf2012003fdf20144000000000000f03ffd1420042000fdf2012000fdf201fdf001fd' +
  'f201fdf001fdf2010be00102017f077b2005fd14210b2006fd14210c02400340200720044f0d012001fd00040021082002fd00040021092003fd0004' +
  '00210a2008fd5f2009fd5f200afd5f200b200c1001210d20082008fd0d08090a0b0c0d0e0f0001020304050607fd5f20092009fd0d08090a0b0c0d0e' +
  '0f0001020304050607fd5f200a200afd0d08090a0b0c0d0e0f0001020304050607fd5f200b200c1001210e2000200dfd5e200efd5efd0d0001020304' +
  '0506071011121314151617fd0b0400200041106a2100200141106a2101200241106a2102200341106a2103200741046a21070c000b0b0b850503087f' +
  '0b7c017d2005210e200520074103746a210f200520074104746a2110201020074103746a21112007b821124100210b02400340200b20074f0d01200e' +
  '200b4103746a440000000000000000390300200f200b4103746a440000000000000000390300200b41016a210b0c000b0b02400340200a20064f0d01' +
  '200a20076c410274210c44000000000000000021134100210b02400340200b20074f0d0120132001200c200b4102746a6a2a0200bba02113200b4101' +
  '6a210b0c000b0b20132012a3211444000000000000000021154100210b02400340200b20074f0d012001200c200b4102746a6a2a0200bb2014a12116' +
  '201520162016a2a02115200b41016a210b0c000b0b44000000000000f03f20152012a32009a09fa32117440000000000000000211844000000000000' +
  '000021194100210b02400340200b20074f0d01200b410274210d2001200c200d6a6a2a0200bb2014a12017a2211a2010200b4103746a201a39030020' +
  '04200c200d6a6a2a0200bb211b20080440201a2002200d6a2a0200bba22003200d6a2a0200bba0b6211d201d430000000060201d430000c0405f7145' +
  '0440440000000000000000211b0b0b200e200b4103746a200e200b4103746a2b0300201b201aa2a0390300200f200b4103746a200f200b4103746a2b' +
  '0300201ba0390300201b2002200d6a2a0200bba2211c2011200b4103746a201c3903002018201ca021182019201c201aa2a02119200b41016a210b0c' +
  '000b0b20182012a3211820192012a321194100210b02400340200b20074f0d012000200c200b4102746a6a2011200b4103746a2b03002018a1201020' +
  '0b4103746a2b03002019a2a12017a2b6380200200b41016a210b0c000b0b200a41016a210a0c000b0b0bbd0102037f017c02400340200620034f0d01' +
  '200620046c410274210844000000000000000021094100210702400340200720044f0d0120092001200820074102746a6a2a0200bb20022008200741' +
  '02746a6a2a0200bba2a02109200741016a21070c000b0b4100210702400340200720044f0d012000200820074102746a6a2005200120082007410274' +
  '6a6a2a0200bba22002200820074102746a6a2a0200bb2009a1a2b6380200200741016a21070c000b0b200641016a21060c000b0b0b6001047f024003' +
  '40200820064f0d012000200820016c6a210a2003200820046c6a210b4100210902400340200920074f0d01200a200b280200360200200a20026a210a' +
  '200b20056a210b200941016a21090c000b0b200841016a21080c000b0b0b'

export interface LmSimd {
  rowsum(x: number, acc: number, N: number, M: number): void
  gelugrad(o: number, x: number, s: number, g: number, n: number, c2: number, a3: number): void
  copy2d(dst: number, drs: number, dcs: number, src: number, srs: number, scs: number, R: number, C: number): void
  softmaxgrad(o: number, y: number, dy: number, rows: number, T: number, sc: number): void
  normgrad(dx: number, x: number, gamma: number, beta: number, dy: number, scratch: number, N: number, C: number, clip: number, eps: number): void
}

/** The module on this memory (shared or not), or null where it cannot run. */
export const lmSimdModule = moduleOnMemory<LmSimd>(LM_WASM_HEX, LM_SHARED_WASM_HEX, 'lmSimd')

/** The WebAssembly heap's _malloc and _free (scratch space for the module). */
export function heapAlloc(backend: unknown): { _malloc(n: number): number; _free(p: number): void } {
  return (backend as { wasm: { _malloc(n: number): number; _free(p: number): void } }).wasm
}

/** The module for a wasm backend (its Module.asm.memory, or the threaded build's Module.wasmMemory). */
export function lmSimd(backend: unknown): LmSimd | null {
  const memory = backendMemory(backend)
  if (benchSwitch.jsLmKernels || !memory) return null
  return lmSimdModule(memory)
}
