/**
 * The weight gradient aᵀ·dy of a 2-D product on the single-threaded wasm backend in Node, in its two
 * forms (models/matMulFast.ts packNarrower): aᵀ·dy, where XNNPACK packs dy as its weights, and
 * (dyᵀ·a)ᵀ, where it packs a; and each again with the packed operand a tensor it has seen before
 * (its operator cached: no packing), so the difference is the packing. Fresh operands each
 * repetition (a multiply by 1), forms alternating, medians of 20; each time includes reading the
 * [K, M] result back (dataSync). Then transposing [1024, 512]: the heap kernel's SIMD module
 * alone, the kernel, and tfjs-wasm's Transpose.
 *
 *   npx tsx bench/node/weightGradForms.ts
 */
import * as tf from '@tensorflow/tfjs'
import * as wasm from '@tensorflow/tfjs-backend-wasm'
import os from 'node:os'
import { swapLastAxes as T, swapModule } from '../../src/engine/models/heapTranspose'
async function main() {
  wasm.setThreadsCount(1)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
  await tf.setBackend('wasm'); await tf.ready()
  for (const [N, K, M] of [[1024, 128, 512], [1024, 512, 128], [1024, 128, 384], [1024, 128, 128], [512, 128, 512]]) {
    const x0 = tf.randomNormal([N!, K!]), d0 = tf.randomNormal([N!, M!]), one = tf.scalar(1)
    const forms: Record<string, (x: tf.Tensor, d: tf.Tensor) => tf.Tensor> = {
      'aT·dy (pack dy)': (x, d) => tf.matMul(T(x), d),
      '(dyT·a)T (pack a)': (x, d) => T(tf.matMul(T(d), x)),
      'aT·dy cached dy': (x, d) => tf.matMul(T(x), d0),
      '(dyT·a)T cached a': (x, d) => T(tf.matMul(T(d), x0)),
      'T(a) alone': (x) => T(x),
      'T(dy) alone': (x, d) => T(d),
    }
    const res: Record<string, number[]> = {}
    for (let i = 0; i < 24; i++) for (const [k, f] of Object.entries(forms)) {
      const x = tf.mul(x0, one), d = tf.mul(d0, one); x.dataSync(); d.dataSync()
      const t = performance.now(); const o = tf.tidy(() => f(x, d)); o.dataSync(); const ms = performance.now() - t
      tf.dispose([o, x, d]); if (i >= 4) (res[k] ??= []).push(ms)
    }
    const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!
    console.log(`\n### a [${N},${K}], dy [${N},${M}] (load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`)
    for (const [k, v] of Object.entries(res)) console.log(`| ${k} | ${med(v).toFixed(2)} ms | ${(2 * N! * K! * M! / med(v) / 1e6).toFixed(1)} GFLOP/s |`)
    tf.dispose([x0, d0, one])
  }
  const be = tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } }; dataIdMap: { get(id: object): { memoryOffset: number } } }
  const swap = swapModule(be.wasm.asm.memory)!
  const [R, C] = [1024, 512]
  const x = tf.randomNormal([R, C])
  const y = tf.zeros([C, R])
  const xo = be.dataIdMap.get(x.dataId).memoryOffset
  const yo = be.dataIdMap.get(y.dataId).memoryOffset
  const med = (f: () => void) => {
    const ts: number[] = []
    for (let i = 0; i < 30; i++) {
      const t = performance.now()
      f()
      ts.push(performance.now() - t)
    }
    return ts.sort((a, b) => a - b)[15]!
  }
  console.log(`\n### transposing [${R}, ${C}] (no read back; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`)
  console.log(`| SIMD module alone | ${med(() => swap(xo, yo, R, C, R, C)).toFixed(3)} ms |`)
  console.log(`| StudioSwapLast kernel | ${med(() => T(x).dispose()).toFixed(3)} ms |`)
  console.log(`| tfjs-wasm Transpose | ${med(() => tf.transpose(x).dispose()).toFixed(3)} ms |`)
  tf.dispose([x, y])
}
main()
