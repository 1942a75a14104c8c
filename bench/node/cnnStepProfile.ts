/**
 * Where one emoji-cnn full fine-tuning step goes on the wasm backend (single thread, as the
 * app's workers), kernel by kernel: the forward and backward pass of the built-in model with
 * its head and cross-entropy (the optimizer's update left out), at batch 16 and 8, timed with
 * the CNN's fused kernels (engine/models/cnnFused.ts) and as tf ops (`benchSwitch.cnnOpPath`, as
 * before them), alternating in one process; then one step under tf.profile: kernels, calls,
 * ms (wasm runs kernels synchronously, so each kernel's time is its wall time).
 *
 *   npx tsx bench/node/cnnStepProfile.ts [--shapes] [--ops]   (--ops: profile the op path)
 */
import os from 'node:os'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import { startOneThreadWasm, kernelsByKind } from './wasmStepBench'
import { workload } from '../page/workloads'
import { benchSettings } from '../page/loops'
import { Tuning } from '../../src/engine/train/fineTune'
import { softmaxCrossEntropy } from '../../src/engine/train/losses'
import { trainableVariables } from '../../src/engine/tuning/freeze'
import { benchSwitch } from '../../src/engine/benchSwitches'
import type { TinyCnn } from '../../src/engine/models/tinyCnn'
import type { EncodedImages } from '../../src/engine/train/imageBatches'

async function main() {
  const { values: opts } = parseArgs({ options: { shapes: { type: 'boolean', default: false }, ops: { type: 'boolean', default: false } } })
  await startOneThreadWasm()
  const w = await workload('emoji-cnn', 32)
  const model = w.model as unknown as TinyCnn
  const all = w.all as EncodedImages
  for (const B of [16, 8]) {
    const s = { ...benchSettings(w, 'full', B, 32, 1), seed: 42 }
    const tuning = new Tuning(w.model, s, w.classes)
    const vars = trainableVariables(w.model, s, 0, tuning.parts)
    const S = all.height
    const x = tf.tensor4d(all.pixels!.slice(0, B * S * S * 3), [B, S, S, 3])
    const labels = tf.tensor1d(Array.from(all.labels.slice(0, B)), 'int32')
    const step = () =>
      tf.tidy(() => {
        const r = tf.variableGrads(() => softmaxCrossEntropy(tuning.head!.apply(model.pool(model.forward(x, { training: true }), null), true), labels), vars)
        return [r.value, ...Object.values(r.grads)]
      })
    const time = async (off: boolean, n: number) => {
      benchSwitch.cnnOpPath = off
      const t = performance.now()
      for (let i = 0; i < n; i++) {
        const o = step()
        await o[0]!.data()
        tf.dispose(o)
      }
      return (performance.now() - t) / n
    }
    await time(true, 3)
    await time(false, 5)
    const ts = { ops: [] as number[], fused: [] as number[] }
    const load0 = os.loadavg()[0]!
    for (let r = 0; r < 4; r++) {
      ts.ops.push(await time(true, 5))
      ts.fused.push(await time(false, 5))
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b).slice(1, 3).reduce((a, b) => a + b, 0) / 2
    console.log(`\nbatch ${B}: ms a step (forward + backward, no optimizer), 4 alternating rounds of 5 steps, load ${load0.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}`)
    console.log(`  tf ops: ${ts.ops.map((v) => v.toFixed(1)).join(' ')} (median ${med(ts.ops).toFixed(1)})`)
    console.log(`  fused:  ${ts.fused.map((v) => v.toFixed(1)).join(' ')} (median ${med(ts.fused).toFixed(1)})`)
    for (const off of opts.ops ? [true, false] : [false]) {
      benchSwitch.cnnOpPath = off
      const p = await tf.profile(() => tf.dispose(step()))
      const { by, byShape } = kernelsByKind(p.kernels) // custom gradients' wrappers left out
      const n = [...by.values()].reduce((a, e) => a + e.n, 0)
      const total = [...by.values()].reduce((a, e) => a + e.ms, 0)
      console.log(`  one profiled step, ${off ? 'tf ops' : 'fused'}: ${n} kernels, ${total.toFixed(1)} ms in kernels`)
      console.log('  | kernel | calls | ms |')
      console.log('  |---|---|---|')
      for (const [k, e] of [...by].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  | ${k} | ${e.n} | ${e.ms.toFixed(2)} |`)
      if (opts.shapes) for (const [k, e] of [...byShape].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) console.log(`    ${k.padEnd(80)} ${String(e.n).padStart(4)} ${e.ms.toFixed(2)}`)
    }
    benchSwitch.cnnOpPath = false
    tuning.dispose()
    tf.dispose([x, labels])
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)
