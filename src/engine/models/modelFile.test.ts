import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BpeTokenizer } from '../data/bpeTokenizer'
import { expectedWeightShapes, loadTinyGpt, serializeTinyGpt, type FetchFn, type TinyGptModelJson } from './modelFile'
import { TinyGpt, type TinyGptConfig } from './tinyGpt'

const config: TinyGptConfig = { vocabSize: 300, seqLen: 8, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }
const base = 'https://example.test/models/tiny/'

/** A fetch over an in-memory file map; bodies stream in 1 kB chunks like a network would. */
function fakeFetch(files: Map<string, string | Uint8Array>): FetchFn {
  return async (url) => {
    const body = files.get(url)
    if (body === undefined) return new Response('not found', { status: 404 })
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 1024) c.enqueue(bytes.slice(i, i + 1024))
        c.close()
      },
    })
    return new Response(stream, { status: 200 })
  }
}

describe('model file', () => {
  let json: TinyGptModelJson
  let weights: ArrayBuffer
  let tokenizer: BpeTokenizer
  let expectedLogits: Float32Array
  let expectedWeights: Map<string, Float32Array>
  const tokens = [[5, 17, 42, 200, 3, 9, 11, 250]]

  beforeAll(async () => {
    await tf.setBackend('cpu')
    tokenizer = BpeTokenizer.train('the whale the whale the sea the ship the sea', config.vocabSize)
    const model = new TinyGpt(config, undefined, 7)
    ;({ json, weights } = await serializeTinyGpt(model, tokenizer, { note: 'test' }))
    expectedLogits = tf.tidy(() => model.lmLogits(model.forward(tf.tensor2d(tokens, undefined, 'int32')))).dataSync() as Float32Array
    expectedWeights = new Map(model.params.map((p) => [p.name, p.variable.dataSync() as Float32Array]))
    // Variable names are global in tfjs: free them before loading a model with the same names.
    model.dispose()
  })
  afterAll(() => tf.disposeVariables())

  const files = (w: ArrayBuffer | Uint8Array = weights, j: object = json) =>
    new Map<string, string | Uint8Array>([
      [base + 'model.json', JSON.stringify(j)],
      [base + 'weights.bin', new Uint8Array(w)],
    ])

  it('writes a tf.io-style manifest that matches the config', () => {
    expect(json.format).toBe('studio-tinygpt')
    const specs = json.weightsManifest[0]?.weights ?? []
    expect(json.weightsManifest[0]?.paths).toEqual(['weights.bin'])
    const shapes = expectedWeightShapes(config)
    expect(specs.map((s) => s.name)).toEqual([...shapes.keys()])
    const floats = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0)
    expect(weights.byteLength).toBe(floats * 4)
  })

  it('loads back identical weights, tokenizer and outputs, reporting progress', async () => {
    const progress: [number, number][] = []
    const { model, tokenizer: tok, card } = await loadTinyGpt(base + 'model.json', fakeFetch(files()), (a, b) => progress.push([a, b]))
    try {
      expect(card).toEqual({ note: 'test' })
      expect(tok.toJSON()).toEqual(tokenizer.toJSON())
      for (const p of model.params) expect(p.variable.dataSync()).toEqual(expectedWeights.get(p.name))
      const logits = tf.tidy(() => model.lmLogits(model.forward(tf.tensor2d(tokens, undefined, 'int32'))))
      expect(logits.dataSync()).toEqual(expectedLogits)
      logits.dispose()
      expect(progress.length).toBeGreaterThan(2)
      expect(progress.at(-1)).toEqual([weights.byteLength, weights.byteLength])
    } finally {
      model.dispose()
    }
  })

  it('reads a tokenizer stored as a separate file', async () => {
    const split = { ...json, tokenizer: 'tokenizer.json' }
    const f = files(weights, split)
    f.set(base + 'tokenizer.json', JSON.stringify(tokenizer.toJSON()))
    const fetched: string[] = []
    const fetcher = fakeFetch(f)
    const { model, tokenizer: tok } = await loadTinyGpt(base + 'model.json', async (url) => (fetched.push(url), fetcher(url)))
    try {
      expect(fetched).toContain(base + 'tokenizer.json')
      expect(tok.toJSON()).toEqual(tokenizer.toJSON())
      expect(tok.decode(tok.encode('the whale and the sea'))).toBe('the whale and the sea')
    } finally {
      model.dispose()
    }
  })

  it('names the file and the byte counts when weights are truncated', async () => {
    const cut = weights.slice(0, weights.byteLength - 100)
    await expect(loadTinyGpt(base + 'model.json', fakeFetch(files(cut)))).rejects.toThrow(
      `weights.bin: expected ${weights.byteLength} bytes of weights, got ${weights.byteLength - 100}`,
    )
    expect(tf.memory().numTensors).toBeLessThan(5) // nothing leaked on the error path
  })

  it('names a missing shard', async () => {
    const f = files()
    f.delete(base + 'weights.bin')
    await expect(loadTinyGpt(base + 'model.json', fakeFetch(f))).rejects.toThrow(`Could not fetch ${base}weights.bin (HTTP 404)`)
  })

  it('names the weight that does not fit the config', async () => {
    const wrong = { ...json, config: { ...config, dFF: 64 } }
    await expect(loadTinyGpt(base + 'model.json', fakeFetch(files(weights, wrong)))).rejects.toThrow(/h0\.mlp\.fc\.kernel has shape \[16, 32\] but the config needs \[16, 64\]/)
  })

  it('rejects files of another format', async () => {
    await expect(loadTinyGpt(base + 'model.json', fakeFetch(files(weights, { format: 'other' })))).rejects.toThrow('not a studio-tinygpt model file')
  })
})
