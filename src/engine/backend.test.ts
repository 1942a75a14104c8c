import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adapterKind, chooseBackend, compareSelfTest, gradientSelfTest, selfTestInputs, selfTestReference, SELF_TEST_TOLERANCE, type BackendEnvironment, type GpuAdapterLike } from './backend'

// The start-up self-test decides whether a backend may train. Its expected values come from
// plain loops (selfTestReference); here they are checked against a one-unit network worked by
// hand and against TensorFlow.js' own gradients on the cpu backend, and the decision is
// driven by real backends: the cpu and wasm ones, and a registered backend whose reads come
// back as zeros — the failure a broken GPU driver shows (tfjs#7733).

/** A backend that computes with the cpu kernels but hands back zeros, as a bad driver does. */
function registerZeroReadBackend(name: string) {
  if (tf.findBackendFactory(name)) tf.removeBackend(name)
  const Cpu = tf.engine().findBackend('cpu')!.constructor as new () => tf.KernelBackend
  class ZeroReads extends Cpu {
    override readSync(dataId: object) {
      const v = super.readSync(dataId) as tf.TypedArray
      return new (v.constructor as Float32ArrayConstructor)(v.length)
    }
    override async read(dataId: object) {
      return this.readSync(dataId)
    }
  }
  tf.registerBackend(name, () => new ZeroReads())
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: name })
}

beforeAll(async () => {
  await tf.setBackend('cpu')
})
afterAll(async () => {
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu')
  await tf.setBackend('cpu')
})

describe('the self-test reference', () => {
  it('matches a one-unit network worked by hand', () => {
    // x = 1, w1 = 0.5, w2 = 2: h = tanh(0.5), y = 2h, L = y²; dL/dw2 = 2y·h, dL/dw1 = 2y·w2·(1 − h²)·x
    const h = 0.46211715726000974 // tanh(0.5)
    const y = 2 * h
    const got = selfTestReference({ B: 1, D: 1, H: 1, O: 1 }, { x: Float32Array.of(1), w1: Float32Array.of(0.5), w2: Float32Array.of(2) })
    expect(got[0]).toBeCloseTo(0.8542089, 6)
    expect(got[2]).toBeCloseTo(2 * y * h, 12)
    expect(got[1]).toBeCloseTo(2 * y * 2 * (1 - h * h), 12)
    expect(got[1]).toBeCloseTo(2.907448, 5)
  })

  it('agrees with TensorFlow.js gradients on the cpu backend, shape and order included', async () => {
    const shape = { B: 16, D: 12, H: 16, O: 9 }
    const { x, w1, w2 } = selfTestInputs(shape)
    const v1 = tf.variable(tf.tensor2d(w1, [12, 16]))
    const v2 = tf.variable(tf.tensor2d(w2, [16, 9]))
    const xt = tf.tensor2d(x, [16, 12])
    const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(tf.zeros([16, 9]), tf.matMul(tf.tanh(tf.matMul(xt, v1)), v2)) as tf.Scalar, [v1, v2])
    const tfjs = [...(await value.data()), ...(await grads[v1.name]!.data()), ...(await grads[v2.name]!.data())]
    const ref = selfTestReference(shape)
    expect(ref).toHaveLength(1 + 12 * 16 + 16 * 9)
    for (let i = 0; i < ref.length; i++) expect(Math.abs(tfjs[i]! - ref[i]!)).toBeLessThan(1e-6)
    // Not a degenerate check: the gradients are far from zero.
    expect(ref[0]).toBeGreaterThan(0.5)
    expect(Math.max(...ref.slice(1, 193).map(Math.abs))).toBeGreaterThan(0.5)
    expect(Math.max(...ref.slice(193).map(Math.abs))).toBeGreaterThan(0.05)
    tf.dispose([v1, v2, xt, value, ...Object.values(grads)])
  })
})

describe('the self-test decision', () => {
  it('passes the cpu and wasm backends with float32 error far under the tolerance', async () => {
    for (const name of ['cpu', 'wasm']) {
      await tf.setBackend(name)
      const before = tf.memory().numTensors
      const r = await gradientSelfTest()
      expect(r.ok, name).toBe(true)
      expect(r.maxError, name).toBeLessThan(SELF_TEST_TOLERANCE / 100)
      expect(tf.memory().numTensors, `${name} leaks no tensor`).toBe(before)
    }
    await tf.setBackend('cpu')
  })

  it('fails zeros, NaN, a shifted result and a slightly wrong kernel', () => {
    const want = selfTestReference()
    expect(compareSelfTest(new Float32Array(want.length), want)).toEqual({ ok: false, maxError: 1 })
    expect(compareSelfTest([NaN, ...want.slice(1)], want)).toEqual({ ok: false, maxError: Infinity })
    expect(compareSelfTest([...want.slice(1), want[0]!], want).ok).toBe(false)
    expect(compareSelfTest(want.slice(1), want).ok).toBe(false) // a missing gradient
    expect(compareSelfTest(want.map((v) => v * 1.01), want).ok).toBe(false) // 1 % off
    expect(compareSelfTest(want.map((v, i) => (i >= 193 ? v * 1.01 : v)), want).ok).toBe(false) // only dL/dw2, 1 % off
    expect(compareSelfTest(Float32Array.from(want), want).ok).toBe(true) // float32 rounding is fine
  })

  it('a backend whose reads come back as zeros fails, and a chosen one falls back to the next backend that passes', async () => {
    registerZeroReadBackend('webgpu')
    await tf.setBackend('webgpu')
    expect((await gradientSelfTest()).maxError).toBe(1)
    // Chosen in settings: WebGPU fails, WebAssembly is next and passes.
    const host: BackendEnvironment = { loadBackend: async () => {} }
    const info = await chooseBackend('webgpu', host)
    expect(info.name).toBe('wasm')
    expect(tf.getBackend()).toBe('wasm')
    expect(info.selfTestFailed).toEqual([{ name: 'webgpu', maxError: 1 }])
    expect(info.reason).toBe(
      'WebGPU computed wrong numbers in the start-up check (one training step of a small network came out off by 100.0% of the largest value; a graphics-driver fault), so training uses WebAssembly instead',
    )
  })

  it('a real GPU adapter whose backend computes garbage loses to the next backend, automatically', async () => {
    registerZeroReadBackend('webgpu')
    const host: BackendEnvironment = { gpu: { requestAdapter: async () => ({ info: { vendor: 'nvidia', architecture: 'ampere' } }) }, loadBackend: async () => {} }
    const info = await chooseBackend('auto', host)
    expect(info.name).toBe('wasm')
    expect(info.selfTestFailed?.map((f) => f.name)).toEqual(['webgpu'])
    expect(info.reason).toContain('so training uses WebAssembly instead')
  })

  it('a backend that passes is kept, with no failure reported', async () => {
    const info = await chooseBackend('wasm', { loadBackend: async () => {} })
    expect(info.name).toBe('wasm')
    expect(info.selfTestFailed).toBeUndefined()
    expect(info.reason).toBe('chosen in settings')
  })
})

/** A backend computing with the cpu kernels, correctly: a stand-in WebGPU for Node. */
function registerCpuAs(name: string) {
  if (tf.findBackendFactory(name)) tf.removeBackend(name)
  const Cpu = tf.engine().findBackend('cpu')!.constructor as new () => tf.KernelBackend
  tf.registerBackend(name, () => new Cpu())
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: name })
}

// adapter.info as Chromium 156 reports it, read in the real browser (2026-12-06): with
// e2e/webgpu-binding-split.spec.ts's flags (WebGPU compatibility mode, ANGLE on lavapipe) and
// with playwright.config.ts's (SwiftShader).
const LAVAPIPE_COMPAT: GpuAdapterLike = { info: { vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false } }
const SWIFTSHADER: GpuAdapterLike = { info: { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: true } }

describe('what an adapter says it is', () => {
  it('tells a named GPU, a software adapter and one whose info is hidden apart', () => {
    expect(adapterKind(LAVAPIPE_COMPAT)).toBe('hidden')
    expect(adapterKind({})).toBe('hidden')
    expect(adapterKind(SWIFTSHADER)).toBe('software')
    expect(adapterKind({ info: { vendor: 'google', architecture: 'swiftshader' } })).toBe('software') // by name, isFallbackAdapter absent
    expect(adapterKind({ isFallbackAdapter: true, info: {} })).toBe('software') // older browsers: on the adapter
    expect(adapterKind({ info: { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } })).toBe('software')
    expect(adapterKind({ info: { vendor: 'nvidia', architecture: 'ampere' } })).toBe('gpu')
    expect(adapterKind({ info: { vendor: ' ', architecture: '' } })).toBe('hidden')
  })

  it('an adapter that hides what it is is not called a real GPU: the backends are measured and the fastest kept', async () => {
    registerCpuAs('webgpu')
    // a clock under which WebGPU's probe takes 1 ms and every other one 1 s: the measurement
    // decides, so WebGPU is kept, and said so
    let t = 0
    const now = () => (t += tf.getBackend() === 'webgpu' ? 0.5 : 500)
    const info = await chooseBackend('auto', { gpu: { requestAdapter: async () => LAVAPIPE_COMPAT }, loadBackend: async () => {}, now })
    expect(info.probes.map((p) => p.name)).toEqual(['wasm', 'webgl', 'webgpu'])
    expect(info.name).toBe('webgpu')
    expect(info.adapter).toBe('a WebGPU adapter that does not say what it is')
    expect(info.reason).toMatch(/^a WebGPU adapter that does not say what it is \(its vendor, architecture and description are hidden\), so the backends were measured; webgpu measured fastest here \([\d.]+ GFLOP\/s\)$/)
    expect(info.reason).not.toContain('real GPU')
    expect(info.software).toBe(false) // it measured faster than the CPU backends
    // the same adapter on a machine where WebAssembly is faster: WebAssembly
    t = 0
    const slow = () => (t += tf.getBackend() === 'webgpu' ? 500 : 0.5)
    const cpuWins = await chooseBackend('auto', { gpu: { requestAdapter: async () => LAVAPIPE_COMPAT }, loadBackend: async () => {}, now: slow })
    expect(cpuWins.name).toBe('wasm')
    expect(cpuWins.reason).toMatch(/^a WebGPU adapter that does not say what it is .*; wasm measured fastest here/)
    // a named GPU still wins outright, unmeasured
    const named = await chooseBackend('auto', { gpu: { requestAdapter: async () => ({ info: { vendor: 'nvidia', architecture: 'ampere' } }) }, loadBackend: async () => {} })
    expect(named.name).toBe('webgpu')
    expect(named.probes).toEqual([])
    expect(named.reason).toBe('WebGPU on a real GPU (nvidia / ampere)')
    tf.removeBackend('webgpu')
    await tf.setBackend('cpu')
  })
})

