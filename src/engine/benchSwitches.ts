/**
 * Every bench-only and test-only switch of the engine, in one place: each puts one path back as it
 * was before a change (or turns a safeguard off), so old and new can be timed or compared in one
 * run. None is a setting: nothing in the studio sets them, every one is false in the app. Node
 * benches and tests set them here; in the page the worker entry points expose them as
 * `globalThis.__studio…` names outside the production build only (worker/benchReadouts.ts;
 * e2e/production-build.spec.ts checks no `__studio` name is left in `vite build`).
 *
 * `oldKernels` are switched together by the benches (bench/node/lmStepProfile.ts --old,
 * bench/node/dataParallel.ts --kernels iterate its keys), so only kernel switches belong in it.
 */

/** tiny-lm's and the Hugging Face bodies' kernels as before 2026-12-06 18:00 on wasm. */
export const oldKernels = {
  /** Attention's batched products through tfjs-wasm's own BatchMatMul (a scalar loop for
   *  batches) instead of one XNNPACK product per slice (models/slicedMatMul.ts). */
  batchMatMul: false,
  /** GELU as 0.5·x·(1 + tanh u) instead of x·σ(2u), the same function (models/tinyGpt.ts, and
   *  GPT-2's gelu_new in hf/hfModel.ts): tfjs-wasm's Tanh is a scalar loop, its Sigmoid XNNPACK's. */
  tanhGelu: false,
  /** A dense layer's bias gradient, and a layer norm's gain and shift gradients, as tfjs' Sum
   *  over the rows (on wasm: a transpose, then a sum) instead of a ones-row product
   *  (models/biasAdd.ts). */
  sumBiasGrad: false,
  /** A 2-D product's weight gradient always as aᵀ·dy, transposing a, instead of (dyᵀ·a)ᵀ where
   *  that transposes fewer elements (models/matMulFast.ts; tiny-lm's mlp.out). */
  wideTranspose: false,
  /** wasm's Identity and same-dtype Cast copy the buffer, as tfjs-wasm's own do, instead of
   *  sharing it (models/wasmSharedIdentity.ts). */
  copyIdentity: false,
  /** The Hugging Face bodies' products on wasm as tf.matMul with its transpose flags (the scalar
   *  loop for batches and for any transposed operand) instead of explicit transposes and
   *  matMulFast (hf/hfModel.ts: attention, the tied head, the frozen base's and head's input
   *  gradients). */
  hfProducts: false,
  /** A pointwise convolution's weight gradient as one transposeA product (the scalar loop)
   *  instead of a transpose and a plain XNNPACK product (models/wasmConvGrads.ts). */
  convGradTransposeA: false,
  /** LoRA's own products (tuning/lora.ts) as tf.matMul on wasm, whose gradient asks for transposed
   *  products (tfjs-wasm's scalar loop), instead of matMulFast (explicit transposes, XNNPACK). */
  loraProducts: false,
}

/** The other switches, each on its own. */
export const benchSwitch = {
  /** The two-worker transport as it was before the step timeline (request copied, not
   *  transferred; halves posted without a task boundary; the combine always rows-weighted; no
   *  decoded image rows kept): train/dataParallel.ts, train/imageBatches.ts.
   *  Page: `__studioDataParallelLegacy`. */
  legacyTransport: false,
  /** The optimizers' update, the gradient clipping and the two workers' combine as tf ops (about
   *  14, 3 and 2 kernels a weight), as before the fused kernels of train/fusedUpdate.ts, on wasm
   *  and cpu too. Page: `__studioUnfusedOptimizer`. */
  unfusedOptimizer: false,
  /** Two workers' steps build the whole batch as tensors, slice it and read the second half back
   *  to post it, as before the halves were built apart from the host rows (train/dataParallel.ts
   *  HalvesApart). Node benches only. */
  wholeBatchSplit: false,
  /** Two workers' changed weights and gradients in arrays transferred with each message and handed
   *  back for the next, as before 2026-12-07 05:00, instead of two regions of one SharedArrayBuffer
   *  both workers hold (train/dataParallel.ts sharedExchange). Page: bench/dataParallelBrowser.mjs
   *  `--old-switches transferredArrays` (worker/benchReadouts.ts __studioSetBenchSwitches). */
  transferredArrays: false,
  /** Two workers read the replica's gradients and the loop's changed weights tensor by tensor
   *  (await data(): a fresh array each) into fresh arrays, as before 2026-12-06 22:00, instead of
   *  straight from the wasm heap into arrays the other worker gives back (train/dataParallel.ts
   *  readFloatsInto, pooledArrays). Page: `__studioTensorCopies`. */
  tensorCopies: false,
  /** TinyCnn runs the op path on wasm too instead of models/cnnFused.ts's fused kernels.
   *  Page: `__studioCnnOpPath`. */
  cnnOpPath: false,
  /** models/cnnFused.ts's JavaScript kernels (im2col, col2im, the depthwise filter gradient, the
   *  channel norm's gradient, the 2×2 pool and its gradient) as the loop nests they were before
   *  2026-12-06 22:00 (models/cnnLoopNests.ts) instead of per-row functions: the same arithmetic,
   *  but V8 optimised the nests only by on-stack replacement, recompiling them on its background
   *  threads. Page: `__studioCnnLoopNests`. */
  cnnLoopNests: false,
  /** tiny-lm's layer norms, GELU, attention softmax, heads and bias gradients as tf ops on wasm too
   *  instead of models/lmFused.ts's fused kernels. Page: `__studioLmOpPath`. */
  lmOpPath: false,
  /** The products' transposes (models/matMulFast.ts: operands of the gradients, attention's kᵀ
   *  on the op path) through tfjs-wasm's Transpose, a scalar loop at 7–8 ns an element, instead of
   *  models/heapTranspose.ts's SIMD copy. Node benches (bench/node/lmStepProfile.ts --switch). */
  tfjsTranspose: false,
  /** heapTranspose.ts's JavaScript band copy for the whole tensor instead of its SIMD module
   *  (tests reach the fallback with it; benches compare). */
  jsTranspose: false,
  /** lmFused.ts's row sums, GELU and softmax gradients, and cnnFused.ts's channel norm gradient, in
   *  JavaScript instead of models/lmSimd.ts's WebAssembly module (the same bits either way;
   *  tests and benches compare). */
  jsLmKernels: false,
  /** StudioChannelNormGrad's row pass (models/cnnFused.ts; emoji-cnn's channel norms, tiny-lm's
   *  layer norms) through lmSimd.ts's scalar `normgrad`, one row at a time, as before 2026-12-07
   *  09:00, instead of `normgrad2`, two rows at a time in f64x2 lanes (the same bits either way).
   *  Page: bench/dataParallelBrowser.mjs `--old-switches scalarNormGrad`
   *  (worker/benchReadouts.ts __studioSetBenchSwitches); Node: bench/node/cnnFixedCost.ts --switch. */
  scalarNormGrad: false,
  /** StudioChannelNorm's forward (models/cnnFused.ts) as the op path's ten tfjs-wasm kernels (Mean,
   *  Sub, Square, Mean, Add, Sqrt, Sub, RealDiv, Multiply, Add: normForward), as before 2026-12-07
   *  09:00, instead of lmSimd.ts's `normfwd`, their float32 operations in one pass four rows at a
   *  time (the same bits either way). Page: `--old-switches tfjsNormForward`; Node: --switch. */
  tfjsNormForward: false,
  /** cnnFused.ts's depthwise filter and bias gradients and ReLU6 gradient in JavaScript instead of
   *  models/cnnSimd.ts's WebAssembly SIMD module (the same values either way; tests and benches
   *  compare). Page: `__studioJsCnnKernels`. */
  jsCnnKernels: false,
  /** tfjs' engine saves the tensors a gradient needs as clones (an Identity kernel and a tape node
   *  each) on wasm too, instead of a second tensor on the same buffer made directly
   *  (models/wasmSharedIdentity.ts shareWasmTapeSaves). Page: `__studioCloneTapeSaves`. */
  cloneTapeSaves: false,
  /** A 2-D product's weight gradient aᵀ·dy as before 2026-12-07 (aᵀ·dy, or (dyᵀ·a)ᵀ where that
   *  transposes fewer elements) instead of the form in which XNNPACK packs the narrower operand
   *  as its weights (models/matMulFast.ts packNarrower). Node benches (--switch). */
  widePacking: false,
  /** Evaluations outside a run (the blend sweep, evaluate, export's figures) on one worker in a
   *  page that has two (train/evaluationSplit.ts), to compare both in one page.
   *  Page: `__studioEvaluationOneWorker`. */
  evaluationOneWorker: false,
  /** WebGPU's binding split off (worker/hfModelHost.ts then treats the device as having no
   *  binding limit; hf/bindingLimits.ts), to reproduce what an over-limit binding computes:
   *  measured on WebGPU over ANGLE on lavapipe, a held-out loss of 0 and step losses 0 and -1e9
   *  with no error, which the loop now stops (train/impossibleLoss.ts).
   *  Page: `__studioBindingSplitOff` (e2e/webgpu-binding-split.spec.ts). */
  bindingSplitOff: false,
  /** Streamed training images (a stored image set) loaded as before 2026-12-07 01:30: each
   *  batch's rows only when its step asks for them, its images decoded one after another,
   *  instead of the next batches' rows loading while steps compute and a batch's images decoding
   *  several at a time (train/imageBatches.ts loadImagesAhead, data/images/imageBatches.ts).
   *  The same pixels either way. Page: `__studioSerialImageLoads`. */
  serialImageLoads: false,
}
