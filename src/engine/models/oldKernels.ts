/**
 * The benches' switch back to how tiny-lm's training step ran before 2026-12-06 18:00, to time
 * old against new in one run (bench/node/dataParallel.ts --kernels, bench/node/lmStepProfile.ts
 * --old). Not a setting: nothing in the studio sets it; Node benches and tests set it here.
 * - batchMatMul: attention's batched products through tfjs-wasm's own BatchMatMul (a scalar
 *   loop for batches) instead of one XNNPACK product per slice (slicedMatMul.ts).
 * - tanhGelu: GELU as 0.5·x·(1 + tanh u) instead of x·σ(2u), the same function (tinyGpt.ts):
 *   tfjs-wasm's Tanh is a scalar loop, its Sigmoid is XNNPACK's.
 * - sumBiasGrad: a dense layer's bias gradient, and a layer norm's gain and shift gradients, as
 *   tfjs' Sum over the rows (on wasm: a transpose, then a sum) instead of a ones-row product
 *   (biasAdd.ts).
 * - wideTranspose: a 2-D product's weight gradient always as aᵀ·dy, transposing a, instead of
 *   (dyᵀ·a)ᵀ where that transposes fewer elements (matMulFast.ts; tiny-lm's mlp.out).
 * - copyIdentity: wasm's Identity and same-dtype Cast copy the buffer, as tfjs-wasm's own do,
 *   instead of sharing it (wasmSharedIdentity.ts).
 * - hfProducts: the Hugging Face bodies' products on wasm as tf.matMul with its transpose flags
 *   (tfjs-wasm's scalar loop for batches and for any transposed operand) instead of explicit
 *   transposes and matMulFast (hf/hfModel.ts: attention, the tied head, the frozen base's and
 *   head's input gradients).
 * - convGradTransposeA: a pointwise convolution's weight gradient as one transposeA product
 *   (the scalar loop) instead of a transpose and a plain XNNPACK product (wasmConvGrads.ts).
 */
export const oldKernels = { batchMatMul: false, tanhGelu: false, sumBiasGrad: false, wideTranspose: false, copyIdentity: false, hfProducts: false, convGradTransposeA: false }
