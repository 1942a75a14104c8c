import { benchSwitch } from '../benchSwitches'
import { backendMemory, moduleOnMemory } from './heapModules'

/**
 * Three of the fused kernels' JavaScript passes as WebAssembly on the backend's own memory:
 * StudioRowSum's column sums (lmFused.ts; the bias and norm-shift gradients: ~1.2 ms for
 * [1024, 512] in JavaScript) and StudioGeluGrad's pointwise pass (~2.3 ms) with SIMD, and
 * StudioChannelNormGrad's row pass (cnnFused.ts normGradRow, tiny-lm's layer norms and emoji-cnn's
 * channel norms; ~2 ms for [1024, 128]) two rows at a time in f64x2 lanes (normgrad2; each lane
 * one row's scalar float64 code, in its order; normgrad, one row at a time, with
 * benchSwitch.scalarNormGrad) and StudioSoftmaxGrad's rows (lmFused.ts softmaxGradRow)
 * as scalar float64 code, row after row; and the heads kernels' moves as one strided copy per head. All do the JavaScript version's
 * float64 arithmetic in its order (f64x2 lanes, no fused multiply-add in WebAssembly) and round
 * to float32 as its stores do, so their outputs are the same bits (lmSimd.wasm.test.ts). The
 * module is LM_WAT below, assembled with wabt 1.0.39 (`node scripts/assemble-wat.mjs` writes the
 * hex constants; wasmHex.test.ts checks them); instantiated as heapTranspose.ts's.
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
  ;; lmFused/cnnFused StudioChannelNormGrad's row pass (cnnFused.ts normGradRow) for the row at byte
  ;; offset a of [N, C]: the same float64 operations in the same order. accG and accB (C float64
  ;; each) gather the gain and shift gradients; xhat and gh are C float64 of scratch.
  (func $normrow (param $dx i32) (param $x i32) (param $gam i32) (param $bet i32) (param $g i32) (param $accG i32) (param $accB i32) (param $xhat i32) (param $gh i32) (param $a i32) (param $C i32) (param $Cf f64) (param $clip i32) (param $eps f64)
    (local $c i32) (local $o i32)
    (local $sum f64) (local $mean f64) (local $sq f64) (local $dd f64) (local $inv f64)
    (local $m1 f64) (local $m2 f64) (local $xh f64) (local $d f64) (local $e f64) (local $z f32)
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
      (br $l4))))
  ;; accG, accB = 0 (2·C float64 from scr).
  (func $normzero (param $scr i32) (param $C i32)
    (local $c i32)
    (block $zd (loop $zl
      (br_if $zd (i32.ge_u (local.get $c) (i32.shl (local.get $C) (i32.const 1))))
      (f64.store (i32.add (local.get $scr) (i32.shl (local.get $c) (i32.const 3))) (f64.const 0))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $zl))))
  ;; The row pass for rows [0, N) of [N, C], one row at a time ($normrow). scr: 4·C float64 (accG,
  ;; accB, x̂, gh); accG and accB hold the gain and shift gradients after.
  (func (export "normgrad") (param $dx i32) (param $x i32) (param $gam i32) (param $bet i32) (param $g i32) (param $scr i32) (param $N i32) (param $C i32) (param $clip i32) (param $eps f64)
    (local $r i32) (local $Cf f64)
    (local.set $Cf (f64.convert_i32_u (local.get $C)))
    (call $normzero (local.get $scr) (local.get $C))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (local.get $r) (local.get $N)))
      (call $normrow (local.get $dx) (local.get $x) (local.get $gam) (local.get $bet) (local.get $g)
        (local.get $scr) (i32.add (local.get $scr) (i32.shl (local.get $C) (i32.const 3)))
        (i32.add (local.get $scr) (i32.shl (local.get $C) (i32.const 4))) (i32.add (local.get $scr) (i32.mul (local.get $C) (i32.const 24)))
        (i32.shl (i32.mul (local.get $r) (local.get $C)) (i32.const 2)) (local.get $C) (local.get $Cf) (local.get $clip) (local.get $eps))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))
  ;; The same pass two rows at a time in f64x2 lanes (lane 0 row r, lane 1 row r + 1): each lane does
  ;; $normrow's float64 operations in its order (its column sums left to right), and accG, accB
  ;; take row r's term, then row r + 1's, so the bits are normgrad's. An odd last row through
  ;; $normrow. scr: 6·C float64 (accG [C], accB [C], x̂ [C, 2], gh [C, 2]).
  (func (export "normgrad2") (param $dx i32) (param $x i32) (param $gam i32) (param $bet i32) (param $g i32) (param $scr i32) (param $N i32) (param $C i32) (param $clip i32) (param $eps f64)
    (local $r i32) (local $c i32) (local $o i32) (local $s i32) (local $px i32) (local $pg i32) (local $pd i32)
    (local $accG i32) (local $accB i32) (local $xhat i32) (local $gh i32) (local $q i32)
    (local $Cf f64) (local $Cv v128) (local $sum v128) (local $mean v128) (local $sq v128) (local $dd v128) (local $inv v128)
    (local $m1 v128) (local $m2 v128) (local $xh v128) (local $d v128) (local $e v128) (local $p v128) (local $gs v128) (local $zp v128)
    (local.set $accG (local.get $scr))
    (local.set $accB (i32.add (local.get $scr) (i32.shl (local.get $C) (i32.const 3))))
    (local.set $xhat (i32.add (local.get $scr) (i32.shl (local.get $C) (i32.const 4))))
    (local.set $gh (i32.add (local.get $xhat) (i32.shl (local.get $C) (i32.const 4))))
    (local.set $s (i32.shl (local.get $C) (i32.const 2)))
    (local.set $Cf (f64.convert_i32_u (local.get $C)))
    (local.set $Cv (f64x2.splat (local.get $Cf)))
    (call $normzero (local.get $scr) (local.get $C))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (i32.add (local.get $r) (i32.const 1)) (local.get $N)))
      (local.set $o (i32.mul (local.get $r) (local.get $s)))
      (local.set $px (i32.add (local.get $x) (local.get $o)))
      (local.set $pg (i32.add (local.get $g) (local.get $o)))
      (local.set $pd (i32.add (local.get $dx) (local.get $o)))
      ;; mean
      (local.set $sum (v128.const i64x2 0 0))
      (local.set $c (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $q (i32.add (local.get $px) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $sum (f64x2.add (local.get $sum) (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (local.get $q) (local.get $s)) (v128.load32_zero (local.get $q))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l1)))
      (local.set $mean (f64x2.div (local.get $sum) (local.get $Cv)))
      ;; variance
      (local.set $sq (v128.const i64x2 0 0))
      (local.set $c (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $q (i32.add (local.get $px) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $dd (f64x2.sub (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (local.get $q) (local.get $s)) (v128.load32_zero (local.get $q)))) (local.get $mean)))
        (local.set $sq (f64x2.add (local.get $sq) (f64x2.mul (local.get $dd) (local.get $dd))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l2)))
      (local.set $inv (f64x2.div (f64x2.splat (f64.const 1)) (f64x2.sqrt (f64x2.add (f64x2.div (local.get $sq) (local.get $Cv)) (f64x2.splat (local.get $eps))))))
      (local.set $m1 (v128.const i64x2 0 0))
      (local.set $m2 (v128.const i64x2 0 0))
      (local.set $c (i32.const 0))
      (block $d3 (loop $l3
        (br_if $d3 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $o (i32.shl (local.get $c) (i32.const 2)))
        (local.set $q (i32.add (local.get $px) (local.get $o)))
        (local.set $xh (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (local.get $q) (local.get $s)) (v128.load32_zero (local.get $q)))) (local.get $mean)) (local.get $inv)))
        (v128.store (i32.add (local.get $xhat) (i32.shl (local.get $c) (i32.const 4))) (local.get $xh))
        (local.set $q (i32.add (local.get $pg) (local.get $o)))
        (local.set $d (f64x2.promote_low_f32x4 (v128.load32_lane 1 (i32.add (local.get $q) (local.get $s)) (v128.load32_zero (local.get $q)))))
        (local.set $gs (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $gam) (local.get $o))))))
        (if (local.get $clip) (then
          ;; z = fround(x̂·γ + β) per lane, compared as float64 (a float32 widened compares the same)
          (local.set $zp (f64x2.promote_low_f32x4 (f32x4.demote_f64x2_zero (f64x2.add (f64x2.mul (local.get $xh) (local.get $gs)) (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $bet) (local.get $o)))))))))
          ;; d = +0 where z is not in [0, 6] (NaN included), as $normrow's (f64.const 0)
          (local.set $d (v128.and (local.get $d) (v128.and (f64x2.ge (local.get $zp) (v128.const f64x2 0 0)) (f64x2.le (local.get $zp) (v128.const f64x2 6 6)))))))
        (local.set $p (f64x2.mul (local.get $d) (local.get $xh)))
        (local.set $q (i32.add (local.get $accG) (i32.shl (local.get $c) (i32.const 3))))
        (f64.store (local.get $q) (f64.add (f64.add (f64.load (local.get $q)) (f64x2.extract_lane 0 (local.get $p))) (f64x2.extract_lane 1 (local.get $p))))
        (local.set $q (i32.add (local.get $accB) (i32.shl (local.get $c) (i32.const 3))))
        (f64.store (local.get $q) (f64.add (f64.add (f64.load (local.get $q)) (f64x2.extract_lane 0 (local.get $d))) (f64x2.extract_lane 1 (local.get $d))))
        (local.set $e (f64x2.mul (local.get $d) (local.get $gs)))
        (v128.store (i32.add (local.get $gh) (i32.shl (local.get $c) (i32.const 4))) (local.get $e))
        (local.set $m1 (f64x2.add (local.get $m1) (local.get $e)))
        (local.set $m2 (f64x2.add (local.get $m2) (f64x2.mul (local.get $e) (local.get $xh))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l3)))
      (local.set $m1 (f64x2.div (local.get $m1) (local.get $Cv)))
      (local.set $m2 (f64x2.div (local.get $m2) (local.get $Cv)))
      (local.set $c (i32.const 0))
      (block $d4 (loop $l4
        (br_if $d4 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $q (i32.add (local.get $pd) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $p (f32x4.demote_f64x2_zero (f64x2.mul
          (f64x2.sub (f64x2.sub (v128.load (i32.add (local.get $gh) (i32.shl (local.get $c) (i32.const 4)))) (local.get $m1))
                     (f64x2.mul (v128.load (i32.add (local.get $xhat) (i32.shl (local.get $c) (i32.const 4)))) (local.get $m2)))
          (local.get $inv))))
        (v128.store32_lane 0 (local.get $q) (local.get $p))
        (v128.store32_lane 1 (i32.add (local.get $q) (local.get $s)) (local.get $p))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l4)))
      (local.set $r (i32.add (local.get $r) (i32.const 2)))
      (br $rl)))
    (if (i32.lt_u (local.get $r) (local.get $N)) (then
      (call $normrow (local.get $dx) (local.get $x) (local.get $gam) (local.get $bet) (local.get $g)
        (local.get $accG) (local.get $accB) (local.get $xhat) (i32.add (local.get $xhat) (i32.shl (local.get $C) (i32.const 3)))
        (i32.mul (local.get $r) (local.get $s)) (local.get $C) (local.get $Cf) (local.get $clip) (local.get $eps)))))
  ;; StudioChannelNorm's forward (cnnFused.ts channelNorm) for the row at byte offset a of [N, C]:
  ;; the op path's tfjs-wasm kernels' float32 operations in their order (Mean: a float32 sum left
  ;; to right, ÷ C; Sub, Square, Mean, Add ε, Sqrt, Sub, RealDiv, Multiply γ, Add β), so the same
  ;; bits. z (before any ReLU6) at the same offset.
  (func $normfwdrow (param $z i32) (param $x i32) (param $gam i32) (param $bet i32) (param $a i32) (param $C i32) (param $Cf f32) (param $eps f32)
    (local $c i32) (local $o i32) (local $sum f32) (local $mean f32) (local $sq f32) (local $dd f32) (local $sd f32)
    (local.set $c (i32.const 0))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $c) (local.get $C)))
      (local.set $sum (f32.add (local.get $sum) (f32.load (i32.add (local.get $x) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2)))))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $l1)))
    (local.set $mean (f32.div (local.get $sum) (local.get $Cf)))
    (local.set $c (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $c) (local.get $C)))
      (local.set $dd (f32.sub (f32.load (i32.add (local.get $x) (i32.add (local.get $a) (i32.shl (local.get $c) (i32.const 2))))) (local.get $mean)))
      (local.set $sq (f32.add (local.get $sq) (f32.mul (local.get $dd) (local.get $dd))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $l2)))
    (local.set $sd (f32.sqrt (f32.add (f32.div (local.get $sq) (local.get $Cf)) (local.get $eps))))
    (local.set $c (i32.const 0))
    (block $d3 (loop $l3
      (br_if $d3 (i32.ge_u (local.get $c) (local.get $C)))
      (local.set $o (i32.shl (local.get $c) (i32.const 2)))
      (f32.store (i32.add (local.get $z) (i32.add (local.get $a) (local.get $o)))
        (f32.add
          (f32.mul
            (f32.div (f32.sub (f32.load (i32.add (local.get $x) (i32.add (local.get $a) (local.get $o)))) (local.get $mean)) (local.get $sd))
            (f32.load (i32.add (local.get $gam) (local.get $o))))
          (f32.load (i32.add (local.get $bet) (local.get $o)))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $l3))))
  ;; The forward for rows [0, N) of [N, C], four rows at a time in f32x4 lanes (lane k row r + k,
  ;; each lane $normfwdrow's operations in its order), the last N mod 4 rows through $normfwdrow.
  (func (export "normfwd") (param $z i32) (param $x i32) (param $gam i32) (param $bet i32) (param $N i32) (param $C i32) (param $eps f32)
    (local $r i32) (local $c i32) (local $o i32) (local $s i32) (local $px i32) (local $pz i32) (local $q i32)
    (local $Cf f32) (local $Cv v128) (local $sum v128) (local $mean v128) (local $sq v128) (local $dd v128) (local $sd v128) (local $v v128)
    (local.set $s (i32.shl (local.get $C) (i32.const 2)))
    (local.set $Cf (f32.convert_i32_u (local.get $C)))
    (local.set $Cv (f32x4.splat (local.get $Cf)))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (i32.add (local.get $r) (i32.const 3)) (local.get $N)))
      (local.set $px (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $s))))
      (local.set $pz (i32.add (local.get $z) (i32.mul (local.get $r) (local.get $s))))
      (local.set $sum (v128.const i32x4 0 0 0 0))
      (local.set $c (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $q (i32.add (local.get $px) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $sum (f32x4.add (local.get $sum)
          (v128.load32_lane 3 (i32.add (local.get $q) (i32.mul (local.get $s) (i32.const 3)))
            (v128.load32_lane 2 (i32.add (local.get $q) (i32.shl (local.get $s) (i32.const 1)))
              (v128.load32_lane 1 (i32.add (local.get $q) (local.get $s)) (v128.load32_zero (local.get $q)))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l1)))
      (local.set $mean (f32x4.div (local.get $sum) (local.get $Cv)))
      (local.set $sq (v128.const i32x4 0 0 0 0))
      (local.set $c (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $q (i32.add (local.get $px) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $dd (f32x4.sub
          (v128.load32_lane 3 (i32.add (local.get $q) (i32.mul (local.get $s) (i32.const 3)))
            (v128.load32_lane 2 (i32.add (local.get $q) (i32.shl (local.get $s) (i32.const 1)))
              (v128.load32_lane 1 (i32.add (local.get $q) (local.get $s)) (v128.load32_zero (local.get $q)))))
          (local.get $mean)))
        (local.set $sq (f32x4.add (local.get $sq) (f32x4.mul (local.get $dd) (local.get $dd))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l2)))
      (local.set $sd (f32x4.sqrt (f32x4.add (f32x4.div (local.get $sq) (local.get $Cv)) (f32x4.splat (local.get $eps)))))
      (local.set $c (i32.const 0))
      (block $d3 (loop $l3
        (br_if $d3 (i32.ge_u (local.get $c) (local.get $C)))
        (local.set $o (i32.shl (local.get $c) (i32.const 2)))
        (local.set $q (i32.add (local.get $px) (local.get $o)))
        (local.set $v (f32x4.add
          (f32x4.mul
            (f32x4.div
              (f32x4.sub
                (v128.load32_lane 3 (i32.add (local.get $q) (i32.mul (local.get $s) (i32.const 3)))
                  (v128.load32_lane 2 (i32.add (local.get $q) (i32.shl (local.get $s) (i32.const 1)))
                    (v128.load32_lane 1 (i32.add (local.get $q) (local.get $s)) (v128.load32_zero (local.get $q)))))
                (local.get $mean))
              (local.get $sd))
            (v128.load32_splat (i32.add (local.get $gam) (local.get $o))))
          (v128.load32_splat (i32.add (local.get $bet) (local.get $o)))))
        (local.set $q (i32.add (local.get $pz) (local.get $o)))
        (v128.store32_lane 0 (local.get $q) (local.get $v))
        (v128.store32_lane 1 (i32.add (local.get $q) (local.get $s)) (local.get $v))
        (v128.store32_lane 2 (i32.add (local.get $q) (i32.shl (local.get $s) (i32.const 1))) (local.get $v))
        (v128.store32_lane 3 (i32.add (local.get $q) (i32.mul (local.get $s) (i32.const 3))) (local.get $v))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $l3)))
      (local.set $r (i32.add (local.get $r) (i32.const 4)))
      (br $rl)))
    (block $td (loop $tl
      (br_if $td (i32.ge_u (local.get $r) (local.get $N)))
      (call $normfwdrow (local.get $z) (local.get $x) (local.get $gam) (local.get $bet) (i32.mul (local.get $r) (local.get $s)) (local.get $C) (local.get $Cf) (local.get $eps))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $tl))))
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
  '0061736d0100000001670a60047f7f7f7f0060057b7b7b7b7b017b60077f7f7f7f7f7c7c00600e7f7f7f7f7f7f7f7f7f7f7f7c7f7c0060027f7f0060' +
  '0a7f7f7f7f7f7f7f7f7f7c0060087f7f7f7f7f7f7d7d0060077f7f7f7f7f7f7d0060067f7f7f7f7f7c0060087f7f7f7f7f7f7f7f00020f0103656e76' +
  '066d656d6f7279020000030c0b0001020304050506070809074d0706726f7773756d00000867656c75677261640002086e6f726d677261640005096e' +
  '6f726d67726164320006076e6f726d66776400080b736f66746d617867726164000906636f70793264000a0af5170bc20102047f017b024003402005' +
  '20034f0d01200120054103746afd0c00000000000000000000000000000000fd0b0400200541026a21050c000b0b2000210602400340200420024f0d' +
  '01200121074100210502400340200520034f0d012006fd000400210820072007fd0004002008fd5ffdf001fd0b040020072007fd00041020082008fd' +
  '0d08090a0b0c0d0e0f0001020304050607fd5ffdf001fd0b0410200641106a2106200741206a2107200541046a21050c000b0b200441016a21040c00' +
  '0b0b0b48002002200120002001fdf20144000000000000f03ffd142001fdf101fdf2012003fdf20144000000000000f03ffd1420042000fdf2012000' +
  'fdf201fdf001fdf201fdf001fdf2010be00102017f077b2005fd14210b2006fd14210c02400340200720044f0d012001fd00040021082002fd000400' +
  '21092003fd000400210a2008fd5f2009fd5f200afd5f200b200c1001210d20082008fd0d08090a0b0c0d0e0f0001020304050607fd5f20092009fd0d' +
  '08090a0b0c0d0e0f0001020304050607fd5f200a200afd0d08090a0b0c0d0e0f0001020304050607fd5f200b200c1001210e2000200dfd5e200efd5e' +
  'fd0d00010203040506071011121314151617fd0b0400200041106a2100200141106a2101200241106a2102200341106a2103200741046a21070c000b' +
  '0b0bfc0303027f0a7c017d44000000000000000021104100210e02400340200e200a4f0d01201020012009200e4102746a6a2a0200bba02110200e41' +
  '016a210e0c000b0b2010200ba3211144000000000000000021124100210e02400340200e200a4f0d0120012009200e4102746a6a2a0200bb2011a121' +
  '13201220132013a2a02112200e41016a210e0c000b0b44000000000000f03f2012200ba3200da09fa321144400000000000000002115440000000000' +
  '00000021164100210e02400340200e200a4f0d01200e410274210f20012009200f6a6a2a0200bb2011a12014a221172007200e4103746a2017390300' +
  '20042009200f6a6a2a0200bb2118200c044020172002200f6a2a0200bba22003200f6a2a0200bba0b6211a201a430000000060201a430000c0405f71' +
  '45044044000000000000000021180b0b2005200e4103746a2005200e4103746a2b030020182017a2a03903002006200e4103746a2006200e4103746a' +
  '2b03002018a039030020182002200f6a2a0200bba221192008200e4103746a201939030020152019a02115201620192017a2a02116200e41016a210e' +
  '0c000b0b2015200ba321152016200ba321164100210e02400340200e200a4f0d0120002009200e4102746a6a2008200e4103746a2b03002015a12007' +
  '200e4103746a2b03002016a2a12014a2b6380200200e41016a210e0c000b0b0b3101017f02400340200220014101744f0d01200020024103746a4400' +
  '00000000000000390300200241016a21020c000b0b0b5d02017f017c2007b8210b20052007100402400340200a20064f0d0120002001200220032004' +
  '2005200520074103746a200520074104746a2005200741186c6a200a20076c4102742007200b200820091003200a41016a210a0c000b0b0be806030c' +
  '7f017c0e7b20052111200520074103746a2112200520074104746a2113201320074104746a21142007410274210d2007b821162016fd142117200520' +
  '07100402400340200a41016a20064f0d01200a200d6c210c2001200c6a210e2004200c6a210f2000200c6a2110fd0c00000000000000000000000000' +
  '00000021184100210b02400340200b20074f0d01200e200b4102746a211520182015200d6a2015fd5c0200fd56020001fd5ffdf0012118200b41016a' +
  '210b0c000b0b20182017fdf3012119fd0c00000000000000000000000000000000211a4100210b02400340200b20074f0d01200e200b4102746a2115' +
  '2015200d6a2015fd5c0200fd56020001fd5f2019fdf101211b201a201b201bfdf201fdf001211a200b41016a210b0c000b0b44000000000000f03ffd' +
  '14201a2017fdf3012009fd14fdf001fdef01fdf301211cfd0c00000000000000000000000000000000211dfd0c000000000000000000000000000000' +
  '00211e4100210b02400340200b20074f0d01200b410274210c200e200c6a21152015200d6a2015fd5c0200fd56020001fd5f2019fdf101201cfdf201' +
  '211f2013200b4104746a201ffd0b0400200f200c6a21152015200d6a2015fd5c0200fd56020001fd5f21202002200c6a2a0200bbfd14212320080440' +
  '201f2023fdf2012003200c6a2a0200bbfd14fdf001fd5efd5f212420202024fd0c00000000000000000000000000000000fd4c2024fd0c0000000000' +
  '0018400000000000001840fd4bfd4efd4e21200b2020201ffdf20121222011200b4103746a2115201520152b03002022fd2100a02022fd2101a03903' +
  '002012200b4103746a2115201520152b03002020fd2100a02020fd2101a039030020202023fdf20121212014200b4104746a2021fd0b0400201d2021' +
  'fdf001211d201e2021201ffdf201fdf001211e200b41016a210b0c000b0b201d2017fdf301211d201e2017fdf301211e4100210b02400340200b2007' +
  '4f0d012010200b4102746a21152014200b4104746afd000400201dfdf1012013200b4104746afd000400201efdf201fdf101201cfdf201fd5e212220' +
  '152022fd5a0200002015200d6a2022fd5a020001200b41016a210b0c000b0b200a41026a210a0c000b0b200a20064904402000200120022003200420' +
  '1120122013201320074103746a200a200d6c200720162008200910030b0bcb0102027f057d4100210802400340200820054f0d01200a200120042008' +
  '4102746a6a2a020092210a200841016a21080c000b0b200a200695210b4100210802400340200820054f0d012001200420084102746a6a2a0200200b' +
  '93210d200c200d200d9492210c200841016a21080c000b0b200c20069520079291210e4100210802400340200820054f0d0120084102742109200020' +
  '0420096a6a2001200420096a6a2a0200200b93200e95200220096a2a020094200320096a2a020092380200200841016a21080c000b0b0b9e0403077f' +
  '017d077b2005410274210a2005b3210e200efd13210f02400340200741036a20044f0d0120012007200a6c6a210b20002007200a6c6a210cfd0c0000' +
  '000000000000000000000000000021104100210802400340200820054f0d01200b20084102746a210d2010200d200a41036c6a200d200a4101746a20' +
  '0d200a6a200dfd5c0200fd56020001fd56020002fd56020003fde4012110200841016a21080c000b0b2010200ffde7012111fd0c0000000000000000' +
  '000000000000000021124100210802400340200820054f0d01200b20084102746a210d200d200a41036c6a200d200a4101746a200d200a6a200dfd5c' +
  '0200fd56020001fd56020002fd560200032011fde5012113201220132013fde601fde4012112200841016a21080c000b0b2012200ffde7012006fd13' +
  'fde401fde30121144100210802400340200820054f0d0120084102742109200b20096a210d200d200a41036c6a200d200a4101746a200d200a6a200d' +
  'fd5c0200fd56020001fd56020002fd560200032011fde5012014fde701200220096afd090200fde601200320096afd090200fde4012115200c20096a' +
  '210d200d2015fd5a020000200d200a6a2015fd5a020001200d200a4101746a2015fd5a020002200d200a41036c6a2015fd5a020003200841016a2108' +
  '0c000b0b200741046a21070c000b0b02400340200720044f0d0120002001200220032007200a6c2005200e20061007200741016a21070c000b0b0bbd' +
  '0102037f017c02400340200620034f0d01200620046c410274210844000000000000000021094100210702400340200720044f0d0120092001200820' +
  '074102746a6a2a0200bb2002200820074102746a6a2a0200bba2a02109200741016a21070c000b0b4100210702400340200720044f0d012000200820' +
  '074102746a6a20052001200820074102746a6a2a0200bba22002200820074102746a6a2a0200bb2009a1a2b6380200200741016a21070c000b0b2006' +
  '41016a21060c000b0b0b6001047f02400340200820064f0d012000200820016c6a210a2003200820046c6a210b4100210902400340200920074f0d01' +
  '200a200b280200360200200a20026a210a200b20056a210b200941016a21090c000b0b200841016a21080c000b0b0b'
export const LM_SHARED_WASM_HEX =
  '0061736d0100000001670a60047f7f7f7f0060057b7b7b7b7b017b60077f7f7f7f7f7c7c00600e7f7f7f7f7f7f7f7f7f7f7f7c7f7c0060027f7f0060' +
  '0a7f7f7f7f7f7f7f7f7f7c0060087f7f7f7f7f7f7d7d0060077f7f7f7f7f7f7d0060067f7f7f7f7f7c0060087f7f7f7f7f7f7f7f0002120103656e76' +
  '066d656d6f7279020300808004030c0b0001020304050506070809074d0706726f7773756d00000867656c75677261640002086e6f726d6772616400' +
  '05096e6f726d67726164320006076e6f726d66776400080b736f66746d617867726164000906636f70793264000a0af5170bc20102047f017b024003' +
  '40200520034f0d01200120054103746afd0c00000000000000000000000000000000fd0b0400200541026a21050c000b0b2000210602400340200420' +
  '024f0d01200121074100210502400340200520034f0d012006fd000400210820072007fd0004002008fd5ffdf001fd0b040020072007fd0004102008' +
  '2008fd0d08090a0b0c0d0e0f0001020304050607fd5ffdf001fd0b0410200641106a2106200741206a2107200541046a21050c000b0b200441016a21' +
  '040c000b0b0b48002002200120002001fdf20144000000000000f03ffd142001fdf101fdf2012003fdf20144000000000000f03ffd1420042000fdf2' +
  '012000fdf201fdf001fdf201fdf001fdf2010be00102017f077b2005fd14210b2006fd14210c02400340200720044f0d012001fd00040021082002fd' +
  '00040021092003fd000400210a2008fd5f2009fd5f200afd5f200b200c1001210d20082008fd0d08090a0b0c0d0e0f0001020304050607fd5f200920' +
  '09fd0d08090a0b0c0d0e0f0001020304050607fd5f200a200afd0d08090a0b0c0d0e0f0001020304050607fd5f200b200c1001210e2000200dfd5e20' +
  '0efd5efd0d00010203040506071011121314151617fd0b0400200041106a2100200141106a2101200241106a2102200341106a2103200741046a2107' +
  '0c000b0b0bfc0303027f0a7c017d44000000000000000021104100210e02400340200e200a4f0d01201020012009200e4102746a6a2a0200bba02110' +
  '200e41016a210e0c000b0b2010200ba3211144000000000000000021124100210e02400340200e200a4f0d0120012009200e4102746a6a2a0200bb20' +
  '11a12113201220132013a2a02112200e41016a210e0c000b0b44000000000000f03f2012200ba3200da09fa321144400000000000000002115440000' +
  '00000000000021164100210e02400340200e200a4f0d01200e410274210f20012009200f6a6a2a0200bb2011a12014a221172007200e4103746a2017' +
  '39030020042009200f6a6a2a0200bb2118200c044020172002200f6a2a0200bba22003200f6a2a0200bba0b6211a201a430000000060201a430000c0' +
  '405f7145044044000000000000000021180b0b2005200e4103746a2005200e4103746a2b030020182017a2a03903002006200e4103746a2006200e41' +
  '03746a2b03002018a039030020182002200f6a2a0200bba221192008200e4103746a201939030020152019a02115201620192017a2a02116200e4101' +
  '6a210e0c000b0b2015200ba321152016200ba321164100210e02400340200e200a4f0d0120002009200e4102746a6a2008200e4103746a2b03002015' +
  'a12007200e4103746a2b03002016a2a12014a2b6380200200e41016a210e0c000b0b0b3101017f02400340200220014101744f0d0120002002410374' +
  '6a440000000000000000390300200241016a21020c000b0b0b5d02017f017c2007b8210b20052007100402400340200a20064f0d0120002001200220' +
  '0320042005200520074103746a200520074104746a2005200741186c6a200a20076c4102742007200b200820091003200a41016a210a0c000b0b0be8' +
  '06030c7f017c0e7b20052111200520074103746a2112200520074104746a2113201320074104746a21142007410274210d2007b821162016fd142117' +
  '20052007100402400340200a41016a20064f0d01200a200d6c210c2001200c6a210e2004200c6a210f2000200c6a2110fd0c00000000000000000000' +
  '00000000000021184100210b02400340200b20074f0d01200e200b4102746a211520182015200d6a2015fd5c0200fd56020001fd5ffdf0012118200b' +
  '41016a210b0c000b0b20182017fdf3012119fd0c00000000000000000000000000000000211a4100210b02400340200b20074f0d01200e200b410274' +
  '6a21152015200d6a2015fd5c0200fd56020001fd5f2019fdf101211b201a201b201bfdf201fdf001211a200b41016a210b0c000b0b44000000000000' +
  'f03ffd14201a2017fdf3012009fd14fdf001fdef01fdf301211cfd0c00000000000000000000000000000000211dfd0c000000000000000000000000' +
  '00000000211e4100210b02400340200b20074f0d01200b410274210c200e200c6a21152015200d6a2015fd5c0200fd56020001fd5f2019fdf101201c' +
  'fdf201211f2013200b4104746a201ffd0b0400200f200c6a21152015200d6a2015fd5c0200fd56020001fd5f21202002200c6a2a0200bbfd14212320' +
  '080440201f2023fdf2012003200c6a2a0200bbfd14fdf001fd5efd5f212420202024fd0c00000000000000000000000000000000fd4c2024fd0c0000' +
  '0000000018400000000000001840fd4bfd4efd4e21200b2020201ffdf20121222011200b4103746a2115201520152b03002022fd2100a02022fd2101' +
  'a03903002012200b4103746a2115201520152b03002020fd2100a02020fd2101a039030020202023fdf20121212014200b4104746a2021fd0b040020' +
  '1d2021fdf001211d201e2021201ffdf201fdf001211e200b41016a210b0c000b0b201d2017fdf301211d201e2017fdf301211e4100210b0240034020' +
  '0b20074f0d012010200b4102746a21152014200b4104746afd000400201dfdf1012013200b4104746afd000400201efdf201fdf101201cfdf201fd5e' +
  '212220152022fd5a0200002015200d6a2022fd5a020001200b41016a210b0c000b0b200a41026a210a0c000b0b200a20064904402000200120022003' +
  '2004201120122013201320074103746a200a200d6c200720162008200910030b0bcb0102027f057d4100210802400340200820054f0d01200a200120' +
  '0420084102746a6a2a020092210a200841016a21080c000b0b200a200695210b4100210802400340200820054f0d012001200420084102746a6a2a02' +
  '00200b93210d200c200d200d9492210c200841016a21080c000b0b200c20069520079291210e4100210802400340200820054f0d0120084102742109' +
  '2000200420096a6a2001200420096a6a2a0200200b93200e95200220096a2a020094200320096a2a020092380200200841016a21080c000b0b0b9e04' +
  '03077f017d077b2005410274210a2005b3210e200efd13210f02400340200741036a20044f0d0120012007200a6c6a210b20002007200a6c6a210cfd' +
  '0c0000000000000000000000000000000021104100210802400340200820054f0d01200b20084102746a210d2010200d200a41036c6a200d200a4101' +
  '746a200d200a6a200dfd5c0200fd56020001fd56020002fd56020003fde4012110200841016a21080c000b0b2010200ffde7012111fd0c0000000000' +
  '000000000000000000000021124100210802400340200820054f0d01200b20084102746a210d200d200a41036c6a200d200a4101746a200d200a6a20' +
  '0dfd5c0200fd56020001fd56020002fd560200032011fde5012113201220132013fde601fde4012112200841016a21080c000b0b2012200ffde70120' +
  '06fd13fde401fde30121144100210802400340200820054f0d0120084102742109200b20096a210d200d200a41036c6a200d200a4101746a200d200a' +
  '6a200dfd5c0200fd56020001fd56020002fd560200032011fde5012014fde701200220096afd090200fde601200320096afd090200fde4012115200c' +
  '20096a210d200d2015fd5a020000200d200a6a2015fd5a020001200d200a4101746a2015fd5a020002200d200a41036c6a2015fd5a02000320084101' +
  '6a21080c000b0b200741046a21070c000b0b02400340200720044f0d0120002001200220032007200a6c2005200e20061007200741016a21070c000b' +
  '0b0bbd0102037f017c02400340200620034f0d01200620046c410274210844000000000000000021094100210702400340200720044f0d0120092001' +
  '200820074102746a6a2a0200bb2002200820074102746a6a2a0200bba2a02109200741016a21070c000b0b4100210702400340200720044f0d012000' +
  '200820074102746a6a20052001200820074102746a6a2a0200bba22002200820074102746a6a2a0200bb2009a1a2b6380200200741016a21070c000b' +
  '0b200641016a21060c000b0b0b6001047f02400340200820064f0d012000200820016c6a210a2003200820046c6a210b410021090240034020092007' +
  '4f0d01200a200b280200360200200a20026a210a200b20056a210b200941016a21090c000b0b200841016a21080c000b0b0b'

export interface LmSimd {
  rowsum(x: number, acc: number, N: number, M: number): void
  gelugrad(o: number, x: number, s: number, g: number, n: number, c2: number, a3: number): void
  copy2d(dst: number, drs: number, dcs: number, src: number, srs: number, scs: number, R: number, C: number): void
  softmaxgrad(o: number, y: number, dy: number, rows: number, T: number, sc: number): void
  /** StudioChannelNormGrad's row pass one row at a time; scratch: 32·C bytes. */
  normgrad(dx: number, x: number, gamma: number, beta: number, dy: number, scratch: number, N: number, C: number, clip: number, eps: number): void
  /** The same two rows at a time in f64x2 lanes, the same bits; scratch: 48·C bytes. */
  normgrad2(dx: number, x: number, gamma: number, beta: number, dy: number, scratch: number, N: number, C: number, clip: number, eps: number): void
  /** StudioChannelNorm's z = (x − mean)/√(var + ε)·γ + β (no ReLU6), the op path's float32 bits. */
  normfwd(z: number, x: number, gamma: number, beta: number, N: number, C: number, eps: number): void
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
