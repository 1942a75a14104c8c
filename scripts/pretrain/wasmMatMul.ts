/** Faster BatchMatMul for tfjs' wasm backend (4.22).
 *  Measured: its XNNPACK path only serves 2-D products without transposes (~30 GFLOP/s);
 *  a transposed operand or a batch falls back to a naive loop at 1-5 GFLOP/s, and training
 *  is mostly such products (dW = xᵀ·dy, dx = dy·Wᵀ). This wrapper transposes 2-D operands
 *  explicitly so those multiplies take the fast path (one TinyGpt step: 10.2 s → 2.4 s). */
import * as tf from '@tensorflow/tfjs'

type Info = tf.TensorInfo
interface Attrs {
  transposeA: boolean
  transposeB: boolean
}

export function installFastWasmMatMul(): void {
  const original = tf.getKernel('BatchMatMul', 'wasm')
  const transposeK = tf.getKernel('Transpose', 'wasm')
  const reshapeK = tf.getKernel('Reshape', 'wasm')
  if (!original || !transposeK || !reshapeK) throw new Error('wasm kernels are not registered yet')
  if ((original as { fast?: boolean }).fast) return

  tf.unregisterKernel('BatchMatMul', 'wasm')
  const config: tf.KernelConfig & { fast: boolean } = {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    fast: true,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = backend as tf.KernelBackend
      const temps: Info[] = []
      const run = (k: tf.KernelConfig, ins: tf.NamedTensorInfoMap, at: tf.NamedAttrMap): Info => {
        const out = k.kernelFunc({ inputs: ins, backend, attrs: at }) as Info
        temps.push(out)
        return out
      }
      const mm = (a: Info, b: Info): Info => run(original, { a, b }, { transposeA: false, transposeB: false })
      const { transposeA, transposeB } = attrs as unknown as Attrs
      let a = inputs.a as Info
      let b = inputs.b as Info
      const batched = a.shape.slice(0, -2).some((d) => d > 1) || b.shape.slice(0, -2).some((d) => d > 1)
      // Batched products (attention) stay on the original kernel: measured, splitting them into
      // many small XNNPACK products or pre-transposing was slower.
      if (batched) return original.kernelFunc({ inputs, backend, attrs }) as Info
      // Every batch dim is 1 here: work on the last two dims as plain matrices.
      const outBatchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2))
      const to2 = (x: Info): Info => run(reshapeK, { x }, { shape: x.shape.slice(-2) })
      const tr = (x: Info): Info => run(transposeK, { x }, { perm: [1, 0] })
      a = to2(a)
      b = to2(b)
      const [ar, ac] = a.shape as [number, number]
      const [br, bc] = b.shape as [number, number]
      const [m, k] = transposeA ? [ac, ar] : [ar, ac]
      const n = transposeB ? br : bc
      // Transposing costs memory traffic in proportion to the elements moved; (Aᵀ·B) = (Bᵀ·A)ᵀ
      // and (Aᵀ·Bᵀ) = (B·A)ᵀ let the smaller matrices move (the one-hot embedding gradient
      // would otherwise transpose a [B·T, vocab] matrix every step).
      let out: Info
      if (transposeA && !transposeB && k * m > k * n + m * n) out = tr(mm(tr(b), a))
      else if (transposeA && transposeB && k * m + k * n > m * n) out = tr(mm(b, a))
      else out = mm(transposeA ? tr(a) : a, transposeB ? tr(b) : b)
      const result = run(reshapeK, { x: out }, { shape: [...outBatchShape, m, n] })
      // Reshape shares data; disposing every temp but the result releases what it owns.
      for (const t of temps) if (t !== result) be.disposeData(t.dataId)
      return result
    },
  }
  tf.registerKernel(config)
}

/** Compares the patched kernel with a plain-JS product for every transpose combination. */
export async function checkFastWasmMatMul(): Promise<void> {
  for (const [m, k, n] of [[5, 7, 3], [3, 40, 30], [30, 40, 2], [2, 3, 4]] as const) await checkShape(m, k, n)
}

async function checkShape(m: number, k: number, n: number): Promise<void> {
  const rand = (size: number) => Float32Array.from({ length: size }, (_, i) => Math.sin(i * 12.9898 + size) * 2)
  const av = rand(m * k)
  const bv = rand(k * n)
  const want = new Float32Array(m * n)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) want[i * n + j]! += av[i * k + p]! * bv[p * n + j]!
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      const a = ta ? tf.tensor2d(av, [m, k]).transpose() : tf.tensor2d(av, [m, k])
      const b = tb ? tf.tensor2d(bv, [k, n]).transpose() : tf.tensor2d(bv, [k, n])
      const y = tf.matMul(a, b, ta, tb)
      const got = await y.data()
      tf.dispose([a, b, y])
      for (let i = 0; i < want.length; i++) {
        if (Math.abs((got[i] ?? NaN) - want[i]!) > 1e-4) throw new Error(`fast wasm matMul is wrong (transposeA=${ta}, transposeB=${tb})`)
      }
    }
  }
}
