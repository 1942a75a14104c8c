// A run whose kernels WebGPU refused must stop in words, not "complete". The fault for real:
// Dawn on lavapipe allows 128 MiB in one storage binding; a TinyGpt whose embedding is 153.6 MB
// (600,000 × 64) cannot bind it, WebGPU rejects the gather's bind group (no exception: an
// "uncaptured error" event), and every step runs on numbers nothing computed. Without the guard
// the held-out loss passed every check and the run ended "Training diverged at step 2 (loss
// NaN) … Lower the learning rate": the wrong diagnosis, and advice that cannot help.
import * as tf from '@tensorflow/tfjs'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/settings/schema'
import type { Settings } from '../../src/settings/types'
import { explainEngineError } from '../../src/engine/engineErrors'
import { TinyGpt } from '../../src/engine/models/tinyGpt'
import { fineTune, Tuning } from '../../src/engine/train/fineTune'
import { RunControl } from '../../src/engine/train/runControl'
import { toyClassification } from '../../src/engine/train/toyClassificationRows'
import { throwOnWebgpuFault, webgpuDeviceLost, webgpuFaultMark, webgpuFaultSince } from '../../src/engine/webgpuFaults'
import { startDawn } from './dawn'

const T = 8
const s: Settings = { ...DEFAULTS, method: 'full', batchSize: 8, epochs: 1, warmupSteps: 0, seqLen: T, dropout: 0, learningRate: 3e-3 }

async function run(vocabSize: number) {
  const model = new TinyGpt({ vocabSize, seqLen: T, dModel: 64, nLayers: 1, nHeads: 2, dFF: 64 }, undefined, 3)
  const tuning = new Tuning(model, s, 2)
  const steps: number[] = []
  let error: Error | null = null
  let end = ''
  try {
    const r = await fineTune(model, tuning, { train: toyClassification(16), val: toyClassification(8) }, s, new RunControl(), { onStep: (e) => steps.push(e.loss) })
    end = r.message
  } catch (e) {
    error = e as Error
  }
  tuning.dispose()
  model.dispose()
  return { error, steps, end }
}

describe('a run on WebGPU whose kernels the device refused (Dawn + lavapipe)', () => {
  beforeAll(async () => {
    await startDawn()
  }, 120_000)

  it('stops with words for the person, before its first step, when the model cannot be bound', async () => {
    const limit = (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } }).device.limits.maxStorageBufferBindingSize
    expect(600_000 * 64 * 4).toBeGreaterThan(limit) // 153.6 MB over lavapipe's 128 MiB
    const r = await run(600_000)
    expect(r.end).toBe('') // without the guard: "Training diverged at step 2 (loss NaN) …"
    expect(r.error?.name).toBe('WebgpuFaultError')
    expect(r.error?.message).toMatch(/^The GPU refused to run part of this model: WebGPU reported \d+ errors by the time of the held-out loss of the model before training, .* The run was stopped \(before its first step; nothing was changed\)\. Choose WebAssembly in the Backend setting/)
    expect(r.steps).toEqual([])
    // the device's own words stay out of the message and go with the error for the console
    expect(r.error?.message).not.toMatch(/Binding size|BindGroup|CommandBuffer/)
    expect((r.error as Error & { deviceSaid: string }).deviceSaid).toMatch(/Binding size \(153600000\) .* larger than the maximum storage buffer binding size \(134217728\)/)
    // the page shows these words as they are
    expect(explainEngineError(r.error, { doing: 'training', backend: 'webgpu' })).toEqual({ failure: 'gpu-invalid', restart: false, message: r.error!.message })
  }, 240_000)

  it('lets a model within the limits train on the same device, after the refused one', async () => {
    const mark = webgpuFaultMark()
    const r = await run(1000)
    expect(r.error).toBeNull()
    expect(r.end).toMatch(/^Training complete/)
    expect(r.steps.length).toBe(2)
    expect(webgpuFaultSince(mark)).toBeNull()
  }, 240_000)
})

describe('work other than a run on WebGPU (a blend measured, an evaluation)', () => {
  it('gives no numbers when the device refused a kernel on the way, and words instead', async () => {
    await startDawn()
    const big = tf.ones([600_000, 64]) // 153.6 MB: over lavapipe's 128 MiB binding
    const mark = webgpuFaultMark()
    const s = tf.sum(big)
    await s.data()
    tf.dispose([s, big])
    let error: Error | null = null
    try {
      throwOnWebgpuFault(mark, 'measuring the blend')
    } catch (e) {
      error = e as Error
    }
    expect(error?.name).toBe('WebgpuFaultError')
    expect(error?.message).toMatch(/^The GPU refused to run part of this model while measuring the blend: WebGPU reported (an error|\d+ errors), so the numbers were never computed, and none are shown\./)
    expect(explainEngineError(error, { doing: 'interpolating', backend: 'webgpu' }).message).toBe(error!.message)
    // and nothing since a fresh mark
    expect(() => throwOnWebgpuFault(webgpuFaultMark(), 'measuring the blend')).not.toThrow()
  }, 60_000)
})

describe('a run on a WebGPU device that is lost (Dawn + lavapipe; destroys the device: last)', () => {
  // measured: the first read on the destroyed device rejects with an AbortError whose message is
  // empty, which the page showed as an empty alert ("Training: ") and did not restart the engine
  it('stops in words and asks for a fresh engine', async () => {
    await startDawn()
    const device = (tf.backend() as unknown as { device: { destroy(): void } }).device
    webgpuFaultMark() // listening on this device
    device.destroy() // what a driver reset does to the page's device
    const r = await run(1000)
    expect(r.end).toBe('')
    const why = explainEngineError(r.error, { doing: 'training', backend: 'webgpu' })
    expect(why.restart).toBe(true)
    expect(why.failure).toBe('gpu-lost')
    expect(why.message).toMatch(/^The graphics device was lost while training \(the GPU driver reset, or the tab used too much GPU memory\)\./)
    expect(webgpuDeviceLost()).toMatch(/destroyed/)
    expect(why.message).not.toMatch(/destroy|Dawn|GPUDevice/)
  }, 240_000)
})
