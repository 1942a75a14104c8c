/**
 * What the Node benches of one wasm training step share (cnnFixedCost.ts, cnnStepProfile.ts,
 * gcSteps.ts): the wasm backend on one thread as the app's workers run it, with the app's files
 * and the PNG decoder (nodeHost.ts), and a tf.profile's kernels grouped by kind.
 */
import * as tf from '@tensorflow/tfjs'
import * as wasm from '@tensorflow/tfjs-backend-wasm'
import { servePublic, pngDecoder } from './nodeHost'
import { useImageDecoder } from '../page/workloads'

/** The wasm backend, single thread, ready; fetch serves public/, images decode as PNG. */
export async function startOneThreadWasm(): Promise<void> {
  wasm.setThreadsCount(1)
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm did not start')
  await tf.ready()
  servePublic()
  useImageDecoder(pngDecoder)
}

export type KernelTally = Map<string, { n: number; ms: number }>

/** A profile's wasm kernels by name and by name with input shapes (calls, ms; wasm runs a
 *  kernel synchronously, so its time is its wall time), and how many entries were no wasm
 *  kernel (a custom gradient's wrapper). */
export function kernelsByKind(kernels: Awaited<ReturnType<typeof tf.profile>>['kernels']): { by: KernelTally; byShape: KernelTally; wrappers: number } {
  const by: KernelTally = new Map()
  const byShape: KernelTally = new Map()
  let wrappers = 0
  for (const k of kernels) {
    if (!tf.getKernel(k.name, 'wasm')) {
      wrappers++
      continue
    }
    const add = (m: KernelTally, key: string) => {
      const e = m.get(key) ?? { n: 0, ms: 0 }
      e.n++
      e.ms += Number(k.kernelTimeMs)
      m.set(key, e)
    }
    add(by, k.name)
    add(byShape, `${k.name} ${k.inputShapes.map((sh) => `[${sh}]`).join(',')}`)
  }
  return { by, byShape, wrappers }
}
