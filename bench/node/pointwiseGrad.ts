/**
 * A pointwise (1×1) convolution's weight gradient on wasm (src/engine/models/wasmConvGrads.ts):
 * the old transposeA product (tfjs-wasm's scalar loop) against a transpose then a plain XNNPACK
 * product, at MobileNet v1 (α 1.0, 224 px) and v2 projection shapes, batch 4; old and new
 * alternating in one run, the median of the rounds, the load average recorded.
 *
 *   npx tsx bench/node/pointwiseGrad.ts [--rounds 5] [--batch 4]
 *
 * Writes bench/results/<stamp>-pointwise-grad.json and .md.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { oldKernels } from '../../src/engine/benchSwitches'
import { registerWasmConvGrads } from '../../src/engine/models/wasmConvGrads'

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, batch: { type: 'string', default: '4' } } })
const ROUNDS = Number(args.rounds)
const B = Number(args.batch)
// [side, Ci, Co]: MobileNet v1 1.0's pointwise convs (224 px), and two v2 projections (Ci > Co)
const SHAPES: [number, number, number][] = [
  [112, 32, 64], [56, 64, 128], [56, 128, 128], [28, 128, 256], [28, 256, 256], [14, 256, 512], [14, 512, 512], [7, 512, 1024], [7, 1024, 1024],
  [28, 192, 32], [14, 384, 64],
]

async function main() {
  await tf.setBackend('wasm')
  await tf.ready()
  registerWasmConvGrads()
  const load0 = os.loadavg()
  const rows: { shape: string; gflop: number; oldMs: number; newMs: number; speedup: number; maxDiff: number }[] = []
  for (const [s, ci, co] of SHAPES) {
    const x = tf.randomUniform([B, s, s, ci], -1, 1, 'float32', 1)
    const dy = tf.randomUniform([B, s, s, co], -1, 1, 'float32', 2)
    const run = async (old: boolean) => {
      oldKernels.convGradTransposeA = old
      const t0 = performance.now()
      const g = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, ci, co] }) as tf.Tensor
      const v = await g.data()
      const ms = performance.now() - t0
      g.dispose()
      oldKernels.convGradTransposeA = false
      return { ms, v }
    }
    const a = await run(true), b = await run(false) // warm-up, and the values compared
    let maxDiff = 0
    for (let i = 0; i < a.v.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.v[i]! - b.v[i]!))
    const olds: number[] = [], news: number[] = []
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2) { news.push((await run(false)).ms); olds.push((await run(true)).ms) } else { olds.push((await run(true)).ms); news.push((await run(false)).ms) }
    }
    const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!
    const row = { shape: `[${B}·${s}·${s}, ${ci}]ᵀ·[…, ${co}]`, gflop: (2 * B * s * s * ci * co) / 1e9, oldMs: med(olds), newMs: med(news), speedup: med(olds) / med(news), maxDiff }
    rows.push(row)
    console.log(JSON.stringify(row))
    tf.dispose([x, dy])
  }
  const load1 = os.loadavg()
  const tot = (k: 'oldMs' | 'newMs') => rows.reduce((p, r) => p + r[k], 0)
  const meta = { when: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadBefore: load0, loadAfter: load1, batch: B, rounds: ROUNDS, node: process.version, totalOldMs: tot('oldMs'), totalNewMs: tot('newMs') }
  const stamp = meta.when.replace(/[:.]/g, '-')
  const dir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, `${stamp}-pointwise-grad.json`), JSON.stringify({ meta, rows }, null, 2))
  const md = [
    `# Pointwise conv weight gradient on wasm, old (transposeA product) vs new (transpose + plain product), ${meta.when}`,
    '',
    `${meta.cpus} × ${meta.cpu}, load average ${load0.map((v) => v.toFixed(1)).join(' / ')} before, ${load1.map((v) => v.toFixed(1)).join(' / ')} after (shared machine); batch ${B}; median of ${ROUNDS} alternating rounds.`,
    '',
    '| dW = xᵀ·dy | GFLOP | old ms | new ms | old/new | max \\|old − new\\| |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.shape} | ${r.gflop.toFixed(3)} | ${r.oldMs.toFixed(1)} | ${r.newMs.toFixed(1)} | ${r.speedup.toFixed(1)}× | ${r.maxDiff.toExponential(1)} |`),
    `| all (sum of medians) | | ${meta.totalOldMs.toFixed(0)} | ${meta.totalNewMs.toFixed(0)} | ${(meta.totalOldMs / meta.totalNewMs).toFixed(1)}× | |`,
    '',
  ].join('\n')
  writeFileSync(path.join(dir, `${stamp}-pointwise-grad.md`), md)
  console.log(md)
}
main().catch((e) => { console.error(e); process.exit(1) })
