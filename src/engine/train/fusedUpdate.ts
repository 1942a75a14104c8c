import * as tf from '@tensorflow/tfjs'

/**
 * The optimizers' update of one weight as one kernel (StudioAdamUpdate, StudioSgdUpdate) on the
 * wasm and cpu backends, where the same update as tf ops took about 14 kernels a weight: 750 a
 * tiny-lm step, most of their time dispatch, allocation and JavaScript between kernels, not
 * arithmetic. The kernels loop over the backend's own arrays (the wasm heap; the cpu backend's
 * Float32Arrays) and write new tensors, which the optimizer assigns to the weight and its
 * moments; the inputs are never written (a weight's buffer may be shared with a clone).
 *
 * The maths is the tf-op path's, operation for operation, each result rounded to float32
 * (Math.fround) as each tf op rounds its output, so the results are the same bit for bit on
 * these backends (fusedUpdate.test.ts checks it); other backends (webgl, webgpu) keep the op
 * path in optimizers.ts.
 *
 * The gradient clipping (clipping.ts) has two more: StudioSumSquares (each gradient's Σ g², in
 * the order and precision the backend's own Square then Sum use, so the norm is the same) and
 * StudioScaleAll (every gradient times the clip factor), one kernel each for all gradients.
 */

export const ADAM_UPDATE = 'StudioAdamUpdate'
export const SGD_UPDATE = 'StudioSgdUpdate'
export const SUM_SQUARES = 'StudioSumSquares'
export const SCALE_ALL = 'StudioScaleAll'
export const COMBINE_HALVES = 'StudioCombineHalves'

/** How a weight is decayed: not at all, AdamW's decoupled p·(1 − lr·wd), or the L2 penalty
 *  g + wd·p (Adam, SGD). */
export type DecayKind = 'none' | 'decoupled' | 'l2'

/** The scalars exactly as the op path turns them into float32 tensors. */
export interface AdamAttrs {
  decay: DecayKind
  b1: number // β₁
  c1: number // 1 − β₁
  b2: number
  c2: number // 1 − β₂
  bc1: number // 1 − β₁ᵗ
  bc2: number // 1 − β₂ᵗ
  eps: number
  lr: number
  wd: number // L2: wd; decoupled: the factor 1 − lr·wd
}

export interface SgdAttrs {
  decay: 'none' | 'l2'
  momentum: number // 0: no buffer
  lr: number
  wd: number
}

type Arrays = { out: Float32Array[]; ins: Float32Array[]; infos: tf.TensorInfo[] }

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array
}
interface CpuLike {
  data: { get(dataId: tf.DataId): { values: unknown } }
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo
}

/** Outputs first and then the inputs' views: on wasm allocating may grow (move) the heap. */
function arrays(backendName: 'wasm' | 'cpu', backend: unknown, inputs: tf.TensorInfo[], outputs: number, shape: number[]): Arrays {
  const n = shape.reduce((a, b) => a * b, 1)
  for (const t of inputs) {
    if (t.dtype !== 'float32') throw new Error(`Optimizer update: a ${t.dtype} tensor where float32 was expected`)
    if (t.shape.reduce((a, b) => a * b, 1) !== n) throw new Error(`Optimizer update: shapes [${t.shape}] and [${shape}] differ`)
  }
  if (backendName === 'wasm') {
    const b = backend as WasmLike
    const infos = Array.from({ length: outputs }, () => b.makeOutput(shape, 'float32'))
    return { infos, out: infos.map((t) => b.typedArrayFromHeap(t)), ins: inputs.map((t) => b.typedArrayFromHeap(t)) }
  }
  const b = backend as CpuLike
  const out = Array.from({ length: outputs }, () => new Float32Array(n))
  const ins = inputs.map((t) => {
    const v = b.data.get(t.dataId).values
    if (!(v instanceof Float32Array)) throw new Error('Optimizer update: the cpu backend holds this tensor in another form')
    return v
  })
  return { infos: out.map((o) => b.makeTensorInfo(shape, 'float32', o)), out, ins }
}

const f = Math.fround

// ───────────── the wasm backend: a SIMD loop over tfjs-wasm's own memory ─────────────
//
// A plain JavaScript loop over the heap needed Math.fround after every operation to give
// float32's results and ran at 16 ms for tiny-lm's million weights, slower than the 14 tf ops it
// replaced (XNNPACK's SIMD kernels): the update must be SIMD too. So a small WebAssembly module,
// assembled below byte by byte (no compiler in the build), imports the backend's memory and
// runs the update four lanes at a time with f32x4 operations, which WebAssembly defines as
// IEEE float32 arithmetic (add, sub, mul, div and sqrt correctly rounded): the same results as
// the op path's kernels. The last n mod 4 values go through the JavaScript loop.

/** Unsigned LEB128. */
function leb(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}
const str = (s: string) => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))]
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body]
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()]

const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b
const get = (i: number) => [0x20, ...leb(i)]
const set = (i: number) => [0x21, ...leb(i)]
const tee = (i: number) => [0x22, ...leb(i)]
const i32c = (v: number) => [0x41, ...leb(v)] // small non-negative constants only
const simd = (op: number) => [0xfd, ...leb(op)]
const load = [...simd(0x00), 0, 0] // v128.load align=1 offset=0
const store = [...simd(0x0b), 0, 0]
const [splat, sqrt, add, sub, mul, div] = [simd(0x13), simd(0xe3), simd(0xe4), simd(0xe5), simd(0xe6), simd(0xe7)]
const I32_ADD = 0x6a, I32_SHL = 0x74, I32_EQ = 0x46, I32_LT_U = 0x49, I32_GE_U = 0x4f, I32_AND = 0x71
const at = (ptr: number, i: number) => [...get(ptr), ...get(i), I32_ADD]
const IF = [0x04, 0x40], BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], END = 0x0b

/** adam(p, g, m, v, p2, m2, v2: byte addresses, n: values (a multiple of 4), b1, c1, b2, c2, bc1,
 *  bc2, eps, lr, wd: f32, decay: 0 none, 1 decoupled, 2 L2). */
function adamBody(): number[] {
  const [P, G, M, V, P2, M2, V2, N, MODE, I, END_, pv, gv, mv, vv, pd] = [0, 1, 2, 3, 4, 5, 6, 7, 17, 18, 19, 20, 21, 22, 23, 24]
  const sc = (k: number) => 25 + k // splats of params 8..16: b1 c1 b2 c2 bc1 bc2 eps lr wd
  const [B1, C1, B2, C2, BC1, BC2, EPS, LR, WD] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(sc) as number[]
  const code: number[] = []
  for (let k = 0; k < 9; k++) code.push(...get(8 + k), ...splat, ...set(sc(k)))
  code.push(...get(N), ...i32c(2), I32_SHL, ...set(END_), ...i32c(0), ...set(I))
  code.push(...BLOCK, ...get(I), ...get(END_), I32_GE_U, 0x0d, 0, ...LOOP)
  code.push(...at(P, I), ...load, ...set(pv))
  code.push(...at(G, I), ...load, ...set(gv))
  code.push(...get(MODE), ...i32c(2), I32_EQ, ...IF, ...get(gv), ...get(pv), ...get(WD!), ...mul, ...add, ...set(gv), END)
  code.push(...at(M, I), ...load, ...get(B1!), ...mul, ...get(gv), ...get(C1!), ...mul, ...add, ...set(mv))
  code.push(...at(V, I), ...load, ...get(B2!), ...mul, ...get(gv), ...get(gv), ...mul, ...get(C2!), ...mul, ...add, ...set(vv))
  code.push(...at(M2, I), ...get(mv), ...store, ...at(V2, I), ...get(vv), ...store)
  code.push(...get(pv), ...set(pd), ...get(MODE), ...i32c(1), I32_EQ, ...IF, ...get(pv), ...get(WD!), ...mul, ...set(pd), END)
  code.push(...at(P2, I), ...get(pd))
  code.push(...get(mv), ...get(BC1!), ...div, ...get(vv), ...get(BC2!), ...div, ...sqrt, ...get(EPS!), ...add, ...div, ...get(LR!), ...mul, ...sub, ...store)
  code.push(...get(I), ...i32c(16), I32_ADD, ...tee(I), ...get(END_), I32_LT_U, 0x0d, 0, END, END, END)
  return [...vec([[2, I32], [14, V128]]), ...code]
}

/** sgd(p, g, b, p2, b2: byte addresses, n: a multiple of 4, mu, lr, wd: f32, flags: 1 L2, 2 momentum). */
function sgdBody(): number[] {
  const [P, G, B, P2, B2, N, MU, LR, WD, FLAGS, I, END_, pv, dv, muv, lrv, wdv] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
  const code: number[] = []
  code.push(...get(MU), ...splat, ...set(muv), ...get(LR), ...splat, ...set(lrv), ...get(WD), ...splat, ...set(wdv))
  code.push(...get(N), ...i32c(2), I32_SHL, ...set(END_), ...i32c(0), ...set(I))
  code.push(...BLOCK, ...get(I), ...get(END_), I32_GE_U, 0x0d, 0, ...LOOP)
  code.push(...at(P, I), ...load, ...set(pv), ...at(G, I), ...load, ...set(dv))
  code.push(...get(FLAGS), ...i32c(1), I32_AND, ...IF, ...get(dv), ...get(pv), ...get(wdv), ...mul, ...add, ...set(dv), END)
  code.push(...get(FLAGS), ...i32c(2), I32_AND, ...IF, ...at(B, I), ...load, ...get(muv), ...mul, ...get(dv), ...add, ...set(dv), ...at(B2, I), ...get(dv), ...store, END)
  code.push(...at(P2, I), ...get(pv), ...get(dv), ...get(lrv), ...mul, ...sub, ...store)
  code.push(...get(I), ...i32c(16), I32_ADD, ...tee(I), ...get(END_), I32_LT_U, 0x0d, 0, END, END, END)
  return [...vec([[2, I32], [5, V128]]), ...code]
}

const F32_LOAD = [0x2a, 0, 0], F32_STORE = [0x38, 0, 0], F32_MUL = 0x94, F32_ADD = 0x92

/** sumsq(p: byte address, n: values, acc: f32) → acc + Σ p[i]² in float32, one value after the
 *  other as tfjs-wasm's Square then Sum accumulate (each product and sum rounded to float32). */
function sumsqBody(): number[] {
  const [PTR, N, ACC, I, END_] = [0, 1, 2, 3, 4]
  const code: number[] = []
  code.push(...get(PTR), ...set(I), ...get(PTR), ...get(N), ...i32c(2), I32_SHL, I32_ADD, ...set(END_))
  code.push(...BLOCK, ...get(I), ...get(END_), I32_GE_U, 0x0d, 0, ...LOOP)
  code.push(...get(ACC), ...get(I), ...F32_LOAD, ...get(I), ...F32_LOAD, F32_MUL, F32_ADD, ...set(ACC))
  code.push(...get(I), ...i32c(4), I32_ADD, ...tee(I), ...get(END_), I32_LT_U, 0x0d, 0, END, END, ...get(ACC), END)
  return [...vec([[2, I32]]), ...code]
}

/** sumsq4(p0, p1, p2, p3: byte addresses, n: values, o0, o1, o2, o3: byte addresses of f32
 *  accumulators): four gradients' chains side by side, each exactly as sumsq adds it (its own
 *  values in order); one chain waits on its last addition, four keep the adder busy. */
function sumsq4Body(): number[] {
  const P = [0, 1, 2, 3], N = 4, O = [5, 6, 7, 8], I = 9, END_ = 10, ACC = [11, 12, 13, 14]
  const code: number[] = []
  for (let k = 0; k < 4; k++) code.push(...get(O[k]!), ...F32_LOAD, ...set(ACC[k]!))
  code.push(...get(N), ...i32c(2), I32_SHL, ...set(END_), ...i32c(0), ...set(I))
  code.push(...BLOCK, ...get(I), ...get(END_), I32_GE_U, 0x0d, 0, ...LOOP)
  for (let k = 0; k < 4; k++) code.push(...get(ACC[k]!), ...at(P[k]!, I), ...F32_LOAD, ...at(P[k]!, I), ...F32_LOAD, F32_MUL, F32_ADD, ...set(ACC[k]!))
  code.push(...get(I), ...i32c(4), I32_ADD, ...tee(I), ...get(END_), I32_LT_U, 0x0d, 0, END, END)
  for (let k = 0; k < 4; k++) code.push(...get(O[k]!), ...get(ACC[k]!), ...F32_STORE)
  code.push(END)
  return [...vec([[2, I32], [4, F32]]), ...code]
}

/** scale(src, dst: byte addresses, n: a multiple of 4, factor: f32): dst = src · factor. */
function scaleBody(): number[] {
  const [SRC, DST, N, FACTOR, I, END_, FV] = [0, 1, 2, 3, 4, 5, 6]
  const code: number[] = []
  code.push(...get(FACTOR), ...splat, ...set(FV), ...get(N), ...i32c(2), I32_SHL, ...set(END_), ...i32c(0), ...set(I))
  code.push(...BLOCK, ...get(I), ...get(END_), I32_GE_U, 0x0d, 0, ...LOOP)
  code.push(...at(DST, I), ...at(SRC, I), ...load, ...get(FV), ...mul, ...store)
  code.push(...get(I), ...i32c(16), I32_ADD, ...tee(I), ...get(END_), I32_LT_U, 0x0d, 0, END, END, END)
  return [...vec([[2, I32], [1, V128]]), ...code]
}

/** halves(a, b, dst: byte addresses, n: a multiple of 4): dst = (a + b) · 0.5. */
function halvesBody(): number[] {
  const [A, B, DST, N, I, END_, HALF] = [0, 1, 2, 3, 4, 5, 6]
  const F32_CONST_HALF = [0x43, 0x00, 0x00, 0x00, 0x3f] // f32.const 0.5 (little-endian 0x3f000000)
  const code: number[] = []
  code.push(...F32_CONST_HALF, ...splat, ...set(HALF), ...get(N), ...i32c(2), I32_SHL, ...set(END_), ...i32c(0), ...set(I))
  code.push(...BLOCK, ...get(I), ...get(END_), I32_GE_U, 0x0d, 0, ...LOOP)
  code.push(...at(DST, I), ...at(A, I), ...load, ...at(B, I), ...load, ...add, ...get(HALF), ...mul, ...store)
  code.push(...get(I), ...i32c(16), I32_ADD, ...tee(I), ...get(END_), I32_LT_U, 0x0d, 0, END, END, END)
  return [...vec([[2, I32], [1, V128]]), ...code]
}

/** The module's bytes, importing env.memory (shared for a threaded build's memory). */
export function updateModuleBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  const adamType = [0x60, ...vec([...Array(8).fill([I32]), ...Array(9).fill([F32]), [I32]]), 0]
  const sgdType = [0x60, ...vec([...Array(6).fill([I32]), ...Array(3).fill([F32]), [I32]]), 0]
  const sumsqType = [0x60, ...vec([[I32], [I32], [F32]]), ...vec([[F32]])]
  const sumsq4Type = [0x60, ...vec([...Array(9).fill([I32])]), 0]
  const scaleType = [0x60, ...vec([[I32], [I32], [I32], [F32]]), 0]
  const halvesType = [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0]
  const memory = shared ? [0x03, ...leb(0), ...leb(65536)] : [0x00, ...leb(0)]
  const body = (b: number[]) => [...leb(b.length), ...b]
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([adamType, sgdType, sumsqType, scaleType, halvesType, sumsq4Type])),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, ...memory]])),
    ...section(3, vec([[0], [1], [2], [3], [4], [5]])),
    ...section(7, vec([[...str('adam'), 0x00, 0], [...str('sgd'), 0x00, 1], [...str('sumsq'), 0x00, 2], [...str('scale'), 0x00, 3], [...str('halves'), 0x00, 4], [...str('sumsq4'), 0x00, 5]])),
    ...section(10, vec([body(adamBody()), body(sgdBody()), body(sumsqBody()), body(scaleBody()), body(halvesBody()), body(sumsq4Body())])),
  ])
}

interface UpdateExports {
  adam(p: number, g: number, m: number, v: number, p2: number, m2: number, v2: number, n: number, b1: number, c1: number, b2: number, c2: number, bc1: number, bc2: number, eps: number, lr: number, wd: number, decay: number): void
  sgd(p: number, g: number, b: number, p2: number, b2: number, n: number, mu: number, lr: number, wd: number, flags: number): void
  sumsq(p: number, n: number, acc: number): number
  sumsq4(p0: number, p1: number, p2: number, p3: number, n: number, o0: number, o1: number, o2: number, o3: number): void
  scale(src: number, dst: number, n: number, factor: number): void
  halves(a: number, b: number, dst: number, n: number): void
}
interface WasmInternals {
  wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown }
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined }
}

const instances = new WeakMap<object, UpdateExports | null>()

/** The SIMD module bound to this backend's memory; null where that memory cannot be reached
 *  (the threaded build keeps it private) or WebAssembly SIMD is missing: the op path runs then. */
export function simdUpdates(backend: unknown): UpdateExports | null {
  const b = backend as WasmInternals
  if (instances.has(b as object)) return instances.get(b as object)!
  let out: UpdateExports | null = null
  try {
    const memory = b.wasm?.asm?.memory ?? b.wasm?.wasmMemory
    if (memory instanceof WebAssembly.Memory) {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer
      const instance = new WebAssembly.Instance(new WebAssembly.Module(updateModuleBytes(shared)), { env: { memory } })
      out = instance.exports as unknown as UpdateExports
    }
  } catch {
    out = null
  }
  instances.set(b as object, out)
  return out
}

function offset(backend: unknown, t: tf.TensorInfo): number {
  const d = (backend as WasmInternals).dataIdMap.get(t.dataId)
  if (!d) throw new Error('Optimizer update: a tensor the wasm backend does not hold')
  return d.memoryOffset
}

/** inputs p, g, m, v → [p′, m′, v′]:
 *  g′ = g + wd·p (L2 only); m′ = m·β₁ + g′·(1 − β₁); v′ = v·β₂ + g′²·(1 − β₂);
 *  a = (m′ / bc₁) / (√(v′ / bc₂) + ε); p′ = p·(1 − lr·wd) − a·lr (decoupled) or p − a·lr. */
function adamKernel(backendName: 'wasm' | 'cpu') {
  return ({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] => {
    const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>
    const a = attrs as unknown as AdamAttrs
    const { infos, out, ins } = arrays(backendName, backend, [p, g, m, v], 3, [...p.shape])
    const [P, G, M, V] = ins as [Float32Array, Float32Array, Float32Array, Float32Array]
    const [P2, M2, V2] = out as [Float32Array, Float32Array, Float32Array]
    const b1 = f(a.b1), c1 = f(a.c1), b2 = f(a.b2), c2 = f(a.c2), bc1 = f(a.bc1), bc2 = f(a.bc2), eps = f(a.eps), lr = f(a.lr), wd = f(a.wd)
    const l2 = a.decay === 'l2'
    const decoupled = a.decay === 'decoupled'
    let from = 0
    const fast = backendName === 'wasm' ? simdUpdates(backend) : null
    if (fast) {
      from = P.length & ~3
      const [op, og, om, ov, op2, om2, ov2] = [p, g, m, v, ...infos].map((t) => offset(backend, t)) as number[]
      fast.adam(op!, og!, om!, ov!, op2!, om2!, ov2!, from, b1, c1, b2, c2, bc1, bc2, eps, lr, wd, decoupled ? 1 : l2 ? 2 : 0)
    }
    for (let i = from, n = P.length; i < n; i++) {
      const pi = P[i]!
      const gi = l2 ? f(G[i]! + f(pi * wd)) : G[i]!
      const mi = f(f(M[i]! * b1) + f(gi * c1))
      const vi = f(f(V[i]! * b2) + f(f(gi * gi) * c2))
      M2[i] = mi
      V2[i] = vi
      const denom = f(f(Math.sqrt(f(vi / bc2))) + eps)
      const step = f(f(f(mi / bc1) / denom) * lr)
      P2[i] = f((decoupled ? f(pi * wd) : pi) - step)
    }
    return infos
  }
}

/** inputs p, g (and b with momentum) → [p′] or [p′, b′]: g′ = g + wd·p (L2 only);
 *  b′ = b·μ + g′; p′ = p − b′·lr (p − g′·lr without momentum). */
function sgdKernel(backendName: 'wasm' | 'cpu') {
  return ({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] => {
    const a = attrs as unknown as SgdAttrs
    const { p, g, b } = inputs as Record<'p' | 'g' | 'b', tf.TensorInfo | undefined>
    const withMomentum = a.momentum > 0
    if (!p || !g || (withMomentum && !b)) throw new Error('SGD update: missing input')
    const { infos, out, ins } = arrays(backendName, backend, withMomentum ? [p, g, b!] : [p, g], withMomentum ? 2 : 1, [...p.shape])
    const [P, G, B] = ins as [Float32Array, Float32Array, Float32Array | undefined]
    const [P2, B2] = out as [Float32Array, Float32Array | undefined]
    const mu = f(a.momentum), lr = f(a.lr), wd = f(a.wd)
    const l2 = a.decay === 'l2'
    let from = 0
    const fast = backendName === 'wasm' ? simdUpdates(backend) : null
    if (fast) {
      from = P.length & ~3
      const o = (t: tf.TensorInfo | undefined) => (t ? offset(backend, t) : 0)
      fast.sgd(o(p), o(g), o(withMomentum ? b : undefined), o(infos[0]), o(infos[1]), from, mu, lr, wd, (l2 ? 1 : 0) | (withMomentum ? 2 : 0))
    }
    for (let i = from, n = P.length; i < n; i++) {
      const pi = P[i]!
      let d = l2 ? f(G[i]! + f(pi * wd)) : G[i]!
      if (B && B2) {
        d = f(f(B[i]! * mu) + d)
        B2[i] = d
      }
      P2[i] = f(pi - f(d * lr))
    }
    return infos
  }
}

/** inputs g0 … g(n−1) → n scalars Σ gₖ², each as the backend's own Square then Sum gives it:
 *  tfjs-wasm accumulates in float32 one value after the other; the cpu backend in float64,
 *  rounded to float32 at the end. */
function sumSquaresKernel(backendName: 'wasm' | 'cpu') {
  return ({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] => {
    const n = (attrs as unknown as { n: number }).n
    const gs = Array.from({ length: n }, (_, k) => inputs[`g${k}`]!)
    for (const t of gs) if (t.dtype !== 'float32') throw new Error(`Gradient norm: a ${t.dtype} gradient where float32 was expected`)
    if (backendName === 'wasm') {
      const b = backend as WasmLike
      const fast = simdUpdates(backend)
      const infos = gs.map(() => b.makeOutput([], 'float32'))
      const sizes = gs.map((g) => g.shape.reduce((x, y) => x * y, 1))
      if (!fast) {
        infos.forEach((out, k) => {
          const G = b.typedArrayFromHeap(gs[k]!)
          let sum = 0
          for (let i = 0; i < G.length; i++) sum = f(sum + f(G[i]! * G[i]!))
          b.typedArrayFromHeap(out)[0] = sum
        })
        return infos
      }
      for (const out of infos) b.typedArrayFromHeap(out)[0] = 0
      // Largest first, four at a time: each group's common length side by side, then each
      // gradient's own rest, continuing its chain from the partial sum.
      const order = sizes.map((_, k) => k).sort((x, y) => sizes[y]! - sizes[x]!)
      for (let j = 0; j < order.length; j += 4) {
        const group = order.slice(j, j + 4)
        let done = 0
        if (group.length === 4) {
          done = sizes[group[3]!]!
          const [a, c, d, e] = group.map((k) => offset(backend, gs[k]!)) as [number, number, number, number]
          const [oa, oc, od, oe] = group.map((k) => offset(backend, infos[k]!)) as [number, number, number, number]
          fast.sumsq4(a, c, d, e, done, oa, oc, od, oe)
        }
        for (const k of group) {
          if (sizes[k]! === done) continue
          const acc = b.typedArrayFromHeap(infos[k]!)
          acc[0] = fast.sumsq(offset(backend, gs[k]!) + 4 * done, sizes[k]! - done, acc[0]!)
        }
      }
      return infos
    }
    const b = backend as CpuLike
    return gs.map((g) => {
      const G = b.data.get(g.dataId).values as Float32Array
      let sum = 0
      for (let i = 0; i < G.length; i++) sum += f(G[i]! * G[i]!)
      return b.makeTensorInfo([], 'float32', Float32Array.of(sum))
    })
  }
}

/** inputs factor (a scalar) and g0 … g(n−1) → n tensors gₖ · factor (tf.mul's float32 product). */
function scaleAllKernel(backendName: 'wasm' | 'cpu') {
  return ({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] => {
    const n = (attrs as unknown as { n: number }).n
    const gs = Array.from({ length: n }, (_, k) => inputs[`g${k}`]!)
    const factorInfo = inputs.factor!
    for (const t of [factorInfo, ...gs]) if (t.dtype !== 'float32') throw new Error(`Gradient clipping: a ${t.dtype} tensor where float32 was expected`)
    if (backendName === 'wasm') {
      const b = backend as WasmLike
      const fast = simdUpdates(backend)
      const infos = gs.map((g) => b.makeOutput([...g.shape], 'float32'))
      const factor = b.typedArrayFromHeap(factorInfo)[0]!
      infos.forEach((out, k) => {
        const g = gs[k]!
        const size = g.shape.reduce((x, y) => x * y, 1)
        const from = fast ? size & ~3 : 0
        if (fast) fast.scale(offset(backend, g), offset(backend, out), from, factor)
        const G = b.typedArrayFromHeap(g)
        const O = b.typedArrayFromHeap(out)
        for (let i = from; i < size; i++) O[i] = f(G[i]! * factor)
      })
      return infos
    }
    const b = backend as CpuLike
    const factor = (b.data.get(factorInfo.dataId).values as Float32Array)[0]!
    return gs.map((g) => {
      const G = b.data.get(g.dataId).values as Float32Array
      const O = new Float32Array(G.length)
      for (let i = 0; i < G.length; i++) O[i] = f(G[i]! * factor)
      return b.makeTensorInfo([...g.shape], 'float32', O)
    })
  }
}

/** inputs g0 … g(n−1) (this worker's half's gradients) and other (the other half's, all of them
 *  end to end) → n tensors, the full batch's mean gradient as dataParallel.ts combined it with tf
 *  ops: equal halves (g + o)·0.5, else (g·n₀ + o·n₁) / (n₀ + n₁), each operation rounded to float32. */
function combineKernel(backendName: 'wasm' | 'cpu') {
  return ({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] => {
    const a = attrs as unknown as CombineAttrs
    const gs = Array.from({ length: a.n }, (_, k) => inputs[`g${k}`]!)
    const otherInfo = inputs.other!
    for (const t of [otherInfo, ...gs]) if (t.dtype !== 'float32') throw new Error(`Combining the halves: a ${t.dtype} tensor where float32 was expected`)
    const sizes = gs.map((g) => g.shape.reduce((x, y) => x * y, 1))
    const total = sizes.reduce((x, y) => x + y, 0)
    if (otherInfo.shape.reduce((x, y) => x * y, 1) !== total) throw new Error(`Combining the halves: ${otherInfo.shape} values from the other worker for ${total} weights`)
    const wasm = backendName === 'wasm' ? (backend as WasmLike) : null
    const cpu = backend as CpuLike
    const fast = wasm && a.equal ? simdUpdates(backend) : null
    const infos = wasm ? gs.map((g) => wasm.makeOutput([...g.shape], 'float32')) : []
    const outs = wasm ? infos.map((t) => wasm.typedArrayFromHeap(t)) : sizes.map((n) => new Float32Array(n))
    const view = (t: tf.TensorInfo) => (wasm ? wasm.typedArrayFromHeap(t) : (cpu.data.get(t.dataId).values as Float32Array))
    const O = view(otherInfo)
    const [n0, n1, n] = [f(a.n0), f(a.n1), f(a.n0 + a.n1)]
    let o = 0
    gs.forEach((g, k) => {
      const size = sizes[k]!
      const G = view(g)
      const D = outs[k]!
      let from = 0
      if (fast) {
        from = size & ~3
        fast.halves(offset(backend, g), offset(backend, otherInfo) + 4 * o, offset(backend, infos[k]!), from)
      }
      if (a.equal) for (let i = from; i < size; i++) D[i] = f(f(G[i]! + O[o + i]!) * 0.5)
      else for (let i = from; i < size; i++) D[i] = f(f(f(G[i]! * n0) + f(O[o + i]! * n1)) / n)
      o += size
    })
    return wasm ? infos : outs.map((D, k) => cpu.makeTensorInfo([...gs[k]!.shape], 'float32', D))
  }
}

interface CombineAttrs {
  n: number // gradients
  equal: boolean
  n0: number // rows of this half
  n1: number // rows of the other
}

const KERNELS = { [ADAM_UPDATE]: adamKernel, [SGD_UPDATE]: sgdKernel, [SUM_SQUARES]: sumSquaresKernel, [SCALE_ALL]: scaleAllKernel, [COMBINE_HALVES]: combineKernel }

/** Registers one of the kernels for wasm and cpu the first time it runs (harmless where a
 *  backend is not loaded): so a worker's kernel registry shows which ran (e2e/fused-optimizer.spec.ts). */
function register(kernelName: keyof typeof KERNELS): void {
  for (const backendName of ['wasm', 'cpu'] as const) {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: KERNELS[kernelName](backendName) as never })
  }
}

/** Whether the active backend runs the fused kernels: cpu, and wasm where the SIMD module can
 *  reach the backend's memory. */
export function fusedBackend(): boolean {
  const name = tf.getBackend()
  if (name === 'cpu') return true
  return name === 'wasm' && simdUpdates(tf.backend()) !== null
}

export function runAdamUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] {
  register(ADAM_UPDATE)
  return tf.engine().runKernel(ADAM_UPDATE, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor]
}

export function runSgdUpdate(p: tf.Tensor, g: tf.Tensor, b: tf.Tensor | null, attrs: SgdAttrs): tf.Tensor[] {
  register(SGD_UPDATE)
  const inputs: tf.NamedTensorMap = b ? { p, g, b } : { p, g }
  return tf.engine().runKernel(SGD_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[]
}

/** Σ gₖ² of each gradient as a scalar, in one kernel (clipping.ts). */
export function runSumSquares(grads: tf.Tensor[]): tf.Scalar[] {
  register(SUM_SQUARES)
  const inputs: tf.NamedTensorMap = {}
  grads.forEach((g, k) => (inputs[`g${k}`] = g))
  return tf.engine().runKernel(SUM_SQUARES, inputs, { n: grads.length }) as unknown as tf.Scalar[]
}

/** Every gradient times a scalar on the device, in one kernel (clipping.ts). */
export function runScaleAll(grads: tf.Tensor[], factor: tf.Tensor): tf.Tensor[] {
  register(SCALE_ALL)
  const inputs: tf.NamedTensorMap = { factor }
  grads.forEach((g, k) => (inputs[`g${k}`] = g))
  return tf.engine().runKernel(SCALE_ALL, inputs, { n: grads.length }) as unknown as tf.Tensor[]
}

/** The two halves' gradients as the full batch's mean, in one kernel (dataParallel.ts): `other`
 *  holds the other worker's gradients end to end, in the order of `mine`. */
export function runCombineHalves(mine: tf.Tensor[], other: tf.Tensor, rows: [number, number]): tf.Tensor[] {
  register(COMBINE_HALVES)
  const inputs: tf.NamedTensorMap = { other }
  mine.forEach((g, k) => (inputs[`g${k}`] = g))
  const attrs: CombineAttrs = { n: mine.length, equal: rows[0] === rows[1], n0: rows[0], n1: rows[1] }
  return tf.engine().runKernel(COMBINE_HALVES, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[]
}
