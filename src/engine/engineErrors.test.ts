import { describe, expect, it } from 'vitest'
import { explainEngineError } from './engineErrors'

// What TensorFlow.js and the browser really throw (texts copied from the failures: the wasm
// backend's emscripten abort, V8's allocation failure, WebGL and WebGPU), and what a person
// must read instead: what happened and what to try, never the raw text.
const RAW = [
  'Aborted(). Build with -sASSERTIONS for more info.',
  'RuntimeError: Aborted(). Build with -sASSERTIONS for more info.',
  'Array buffer allocation failed',
  'WebAssembly.Memory(): could not allocate memory',
  'Requested texture size [16384x16385] greater than WebGL maximum on this browser / GPU [16384x16384].',
  'GPUValidationError: Binding size (201326592) of [Buffer] is larger than the maximum binding size (134217728).',
  'WebGL context lost.',
]

describe('explainEngineError', () => {
  it('turns a WebAssembly abort into words that say what happened and what to try, and asks for a fresh engine', () => {
    const r = explainEngineError(new Error('Aborted(). Build with -sASSERTIONS for more info.'), { doing: 'training', backend: 'wasm' })
    expect(r.failure).toBe('aborted')
    expect(r.restart).toBe(true)
    expect(r.message).toBe(
      'The WebAssembly engine ran out of memory and stopped while training (a browser tab gives it at most 4 GB). Try a smaller batch size, fewer images per pass (head only or more frozen blocks, so fewer activations are kept), a smaller model, or another backend in the Backend setting (WebGL, or WebGPU where there is a GPU). The page started a fresh engine: your dataset and checkpoints are kept.',
    )
  })

  it('an emscripten abort thrown as a string or a RuntimeError is the same failure', () => {
    expect(explainEngineError('Aborted(OOM)', { backend: 'wasm' }).failure).toBe('aborted')
    const e = new Error('Aborted(). Build with -sASSERTIONS for more info.')
    e.name = 'RuntimeError'
    expect(explainEngineError(e).restart).toBe(true)
  })

  it('a failed allocation is running out of memory: the worker goes on', () => {
    const e = new RangeError('Array buffer allocation failed')
    const r = explainEngineError(e, { doing: 'caching features', backend: 'webgl' })
    expect(r).toMatchObject({ failure: 'memory', restart: false })
    expect(r.message).toMatch(/^The browser ran out of memory while caching features\. Try a smaller batch size, fewer images per pass/)
    expect(r.message).toContain('(WebAssembly, or another one)')
  })

  it('GPU failures: too large, a WebGPU validation error, a lost context', () => {
    expect(explainEngineError(new Error(RAW[4]), { backend: 'webgl' }).failure).toBe('too-large')
    expect(explainEngineError(new Error(RAW[5]), { backend: 'webgpu' }).failure).toBe('too-large')
    expect(explainEngineError(new Error('GPUValidationError: Invalid BindGroup "x"'), { backend: 'webgpu' }).failure).toBe('gpu-invalid')
    expect(explainEngineError(new Error(RAW[6]), { backend: 'webgl' })).toMatchObject({ failure: 'gpu-lost', restart: true })
  })

  it('no raw engine text survives in any explained message', () => {
    for (const raw of RAW) {
      const r = explainEngineError(new Error(raw), { doing: 'training', backend: 'wasm' })
      expect(r.failure, raw).not.toBeNull()
      expect(r.message).not.toContain(raw)
      expect(r.message).not.toMatch(/ASSERTIONS|Aborted\(|RangeError|GPUValidationError/)
      expect(r.message).toMatch(/Try a smaller batch size/)
    }
  })

  it("the studio's own errors, already in words, pass through unchanged", () => {
    const msg = 'The split left 3 training and 0 validation images. Add images, or change the validation split.'
    expect(explainEngineError(new Error(msg))).toEqual({ failure: null, restart: false, message: msg })
    expect(explainEngineError(new RangeError('Maximum call stack size exceeded')).failure).toBeNull()
  })

  it('never gives an empty message, and a lost WebGPU device restarts the engine whatever the error says', () => {
    const abort = Object.assign(new Error(''), { name: 'AbortError' }) // what a read on a lost Dawn device rejects with
    const onGpu = explainEngineError(abort, { doing: 'training', backend: 'webgpu' })
    expect(onGpu.failure).toBe('gpu-lost')
    expect(onGpu.restart).toBe(true)
    const noWords = explainEngineError(abort, { doing: 'training', backend: 'wasm' })
    expect(noWords.message).toBe('Something failed while training without saying what (AbortError). Try again; if it happens again, choose another backend in the Backend setting (WebGL, or WebGPU where there is a GPU).')
    const saidLost = explainEngineError(new Error('anything at all'), { doing: 'evaluating', backend: 'webgpu', deviceLost: true })
    expect(saidLost.failure).toBe('gpu-lost')
    expect(saidLost.message.startsWith('The graphics device was lost while evaluating')).toBe(true)
    expect(explainEngineError(new Error('Device is lost')).failure).toBe('gpu-lost') // "device was lost" said with "is"
  })
})
