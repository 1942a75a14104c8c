import { describe, expect, it } from 'vitest'
import { explainUncaught, uncaughtText } from './uncaughtErrors'

/** The shape Emscripten's pthread glue rethrows: a thread worker's ErrorEvent, not an Error. */
function threadErrorEvent(message: string) {
  return { type: 'error', message, filename: 'http://localhost/assets/tfjs-backend-wasm-threaded-simd.js', lineno: 9, colno: 1 }
}

describe('uncaught errors in the training worker', () => {
  it('reads the words on a rethrown thread ErrorEvent, not only "Uncaught [object ErrorEvent]"', () => {
    const text = uncaughtText({ message: 'Uncaught [object ErrorEvent]', error: threadErrorEvent('Uncaught RuntimeError: Aborted(). Build with -sASSERTIONS for more info.') })
    expect(text).toContain('Aborted()')
    expect(text).toContain('[object ErrorEvent]')
  })

  it('an out-of-memory abort in a WebAssembly thread is explained as running out of memory, with a restart', () => {
    const why = explainUncaught({ message: 'Uncaught [object ErrorEvent]', error: threadErrorEvent('Uncaught RuntimeError: Aborted(). Build with -sASSERTIONS for more info.') }, { doing: 'training', backend: 'wasm' })
    expect(why?.restart).toBe(true)
    expect(why?.message).toContain('WebAssembly engine ran out of memory and stopped while training')
    expect(why?.message).toContain('Try a smaller batch size')
    expect(why?.message).not.toMatch(/Aborted\(|ASSERTIONS/)
  })

  it('"memory access out of bounds" thrown as an Error in the worker itself is an engine failure too', () => {
    const err = new WebAssembly.RuntimeError('memory access out of bounds')
    const why = explainUncaught({ message: 'Uncaught RuntimeError: memory access out of bounds', error: err }, { doing: 'training', backend: 'wasm' })
    expect(why?.failure).toBe('aborted')
    expect(why?.restart).toBe(true)
  })

  it('a thread error with unknown words still restarts the engine, and says so without the raw text', () => {
    const why = explainUncaught({ message: 'Uncaught [object ErrorEvent]', error: threadErrorEvent('Uncaught TypeError: x is not a function') }, { doing: 'evaluating', backend: 'wasm' })
    expect(why?.restart).toBe(true)
    expect(why?.message).toContain('stopped inside one of its threads while evaluating')
    expect(why?.message).not.toContain('x is not a function')
  })

  it('an ordinary uncaught Error of the studio is not dressed up as an engine failure', () => {
    expect(explainUncaught({ message: 'Uncaught TypeError: cannot read properties of null', error: new TypeError('cannot read properties of null') }, { doing: 'training', backend: 'wasm' })).toBeNull()
    expect(explainUncaught({ message: 'Uncaught (in promise) boom', error: 'boom' }, {})).toBeNull()
  })
})
