import * as tf from '@tensorflow/tfjs'
import { strToU8, zipSync } from 'fflate'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { BpeTokenizer } from '../data/bpeTokenizer'
import { TinyGpt, type TinyGptConfig } from '../models/tinyGpt'
import { serializeTinyGpt } from '../models/modelFile'
import { Tuning } from '../train/fineTune'
import { TunedBlend } from '../tuning/blend'
import { disposeWeights, snapshotWeights, type WeightMap } from '../tuning/interpolate'
import { bitsEqual, maxAbsDiff } from '../tuning/testUtils'
import { buildModelZip, readModelZip } from './modelZip'
import { safeUnzip } from './safeUnzip'
import { holdText } from '../session/families/text'
import { restoreTuning, type ExportChoice } from './tuningPack'

const cfg: TinyGptConfig = { vocabSize: 300, seqLen: 8, dModel: 16, nLayers: 2, nHeads: 2, dFF: 32 }
let tokenizer: BpeTokenizer
const owned: { dispose(): void }[] = []
const bases: WeightMap[] = []

beforeAll(async () => {
  await tf.setBackend('cpu')
  tokenizer = BpeTokenizer.train('the whale the whale the sea the ship the sea call me ishmael', cfg.vocabSize)
})
afterEach(() => {
  owned.splice(0).forEach((o) => o.dispose())
  bases.splice(0).forEach(disposeWeights)
})

const settings = (over: Partial<Settings>): Settings => ({ ...DEFAULTS, seqLen: cfg.seqLen, dropout: 0, ...over })

/** A "run": base model, Tuning, then every weight the method trains moved at random. */
function tuned(method: Settings['method'], over: Partial<Settings> = {}) {
  const model = new TinyGpt(cfg, undefined, 5)
  const base = snapshotWeights(model.params)
  const tuning = new Tuning(model, settings({ method, loraRank: 2, adapterSize: 4, ...over }), 3)
  let seed = 100
  const move = (v: tf.Variable, std: number) => v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, std, 'float32', seed++))))
  for (const p of tuning.head?.params ?? []) move(p.variable, 0.5)
  for (const p of tuning.lora?.params ?? []) move(p.variable, 0.3)
  for (const p of tuning.adapters?.params ?? []) move(p.variable, 0.3)
  if (method === 'full') for (const p of model.params) move(p.variable, 0.05)
  if (method === 'freeze') for (const p of model.params.filter((q) => q.block >= 1)) move(p.variable, 0.05)
  const blend = new TunedBlend(model, base, tuning)
  owned.push(blend, tuning, model)
  bases.push(base)
  return { model, base, tuning, blend }
}

const tokens = () => tf.tensor2d([[1, 5, 17, 42, 200, 3, 9, 11], [1, 250, 7, 8, 0, 0, 0, 0]], undefined, 'int32')
const mask = () => tf.tensor2d([[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0, 0]])

/** Class logits the way training computes them: body (+ hooks) → mean pool → head. */
function logits(model: TinyGpt, tuning: Tuning): tf.Tensor {
  return tf.tidy(() => tuning.head!.apply(model.pool(model.forward(tokens(), { hooks: tuning.hooks }), mask()), false))
}

function facts() {
  return {
    baseModel: { id: 'tiny-test', title: 'Tiny test model' },
    dataset: { name: 'toy.csv', source: 'file: toy.csv', task: 'text-classification', rows: 10, classes: [{ name: 'a', count: 5 }, { name: 'b', count: 3 }, { name: 'c', count: 2 }] },
    settings: settings({}),
    metrics: { base: { loss: 1.1, accuracy: 0.33 }, tuned: { loss: 0.4, accuracy: 0.9 } },
    date: '2026-11-24T10:00:00.000Z',
  }
}

async function exportAndRead(run: ReturnType<typeof tuned>, choice: ExportChoice, alpha = 1) {
  const built = await buildModelZip({ choice, alpha, body: run.model, serialize: (card) => serializeTinyGpt(run.model, tokenizer, card), baseCard: { title: 'Tiny test model' }, base: run.base, tuning: run.tuning, blend: run.blend, task: 'text-classification', classes: ['a', 'b', 'c'], facts: facts() })
  const read = await readModelZip(built.bytes, built.fileName)
  if (read.loaded) owned.push(read.loaded.model)
  return { built, read }
}

describe('model export', () => {
  it('round-trips a fine-tuned model through the zip with bit-identical logits', async () => {
    const run = tuned('full')
    const { built, read } = await exportAndRead(run, 'merged')
    expect([...safeUnzip(built.bytes, built.fileName).keys()].sort()).toEqual(['README.md', 'card.json', 'model.json', 'tuning.bin', 'tuning.json', 'weights.bin'])
    expect(built.fileName).toBe('tiny-test-toy-merged.zip')
    const model = read.loaded!.model
    const restored = restoreTuning(model, read.pack!)
    owned.push(restored)
    const [a, b] = [logits(run.model, run.tuning), logits(model, restored)]
    expect(await bitsEqual(a, b)).toBe(true)
    expect(read.card.title).toBe('Tiny test model fine-tuned on toy.csv')
    // Loaded back, the model says it is fine-tuned and from which base, not "pretrained".
    const held = holdText(read.loaded!, 'file: tiny-test-toy-merged.zip')
    expect(held.summary.finetunedFrom).toBe('Tiny test model')
    disposeWeights(held.base!)
    expect(read.loaded!.tokenizer.encode('the whale')).toEqual(tokenizer.encode('the whale'))
    tf.dispose([a, b])
  })

  it('merged LoRA predicts what the unmerged LoRA model does, within 1e-5', async () => {
    const run = tuned('lora')
    const { read } = await exportAndRead(run, 'merged')
    expect(read.pack!.json.method).toBe('full') // nothing left to hook in
    const restored = restoreTuning(read.loaded!.model, read.pack!)
    owned.push(restored)
    expect(restored.lora).toBeNull()
    const [a, b] = [logits(run.model, run.tuning), logits(read.loaded!.model, restored)]
    expect(await maxAbsDiff(a, b)).toBeLessThan(1e-5)
    expect(await maxAbsDiff(a, tf.tidy(() => tf.zerosLike(a)))).toBeGreaterThan(1e-3) // not trivially zero
    // The session's model itself is untouched by the export (kernels put back bit for bit).
    expect(await bitsEqual(run.model.get('h0.attn.qkv.kernel'), run.base.get('h0.attn.qkv.kernel')!)).toBe(true)
    tf.dispose([a, b])
  })

  for (const method of ['lora', 'adapter', 'freeze', 'head'] as const) {
    it(`adapter-only export (${method}) + the base model gives the tuned predictions`, async () => {
      const run = tuned(method, { freezeFirst: 1 })
      const { built, read } = await exportAndRead(run, 'adapter')
      expect(read.loaded).toBeNull()
      const names = [...safeUnzip(built.bytes, built.fileName).keys()]
      expect(names).not.toContain('weights.bin')
      const base = new TinyGpt(cfg, undefined, 5) // the same pretrained weights, loaded afresh
      owned.push(base)
      const restored = restoreTuning(base, read.pack!)
      owned.push(restored)
      const [a, b] = [logits(run.model, run.tuning), logits(base, restored)]
      expect(await bitsEqual(a, b)).toBe(true)
      const bodyWeights = read.pack!.json.weights.filter((w) => w.section === 'body').map((w) => w.name)
      if (method === 'freeze') expect(bodyWeights.every((n) => !n.startsWith('h0.') && !n.startsWith('wte') && !n.startsWith('wpe'))).toBe(true)
      else expect(bodyWeights).toEqual([])
      if (method !== 'freeze') expect(built.bytes.length).toBeLessThan(0.25 * 4 * run.model.parameterCount())
      tf.dispose([a, b])
    })
  }

  it('interpolated export equals the blend at that α and leaves the session at its α', async () => {
    const run = tuned('lora')
    const { read } = await exportAndRead(run, 'interpolated', 0.4)
    expect(run.blend.alpha).toBe(1)
    const restored = restoreTuning(read.loaded!.model, read.pack!)
    owned.push(restored)
    run.blend.apply(0.4)
    const [a, b] = [logits(run.model, run.tuning), logits(read.loaded!.model, restored)]
    expect(await maxAbsDiff(a, b)).toBeLessThan(1e-5)
    run.blend.apply(1)
    const c = logits(run.model, run.tuning)
    expect(await maxAbsDiff(a, c)).toBeGreaterThan(1e-4) // α really changed the model
    expect(read.card.alpha).toBe(0.4)
    tf.dispose([a, b, c])
  })

  it('writes a card and README with base model, data, settings, metrics and date', async () => {
    const run = tuned('head')
    const { built } = await exportAndRead(run, 'merged')
    const files = safeUnzip(built.bytes, built.fileName)
    const card = JSON.parse(new TextDecoder().decode(files.get('card.json')!)) as Record<string, unknown>
    expect(card).toMatchObject({ choice: 'merged', baseModel: { id: 'tiny-test' }, dataset: { name: 'toy.csv', rows: 10 }, metrics: { tuned: { accuracy: 0.9 } }, date: '2026-11-24T10:00:00.000Z' })
    const readme = new TextDecoder().decode(files.get('README.md')!)
    expect(readme).toContain('# Tiny test model fine-tuned on toy.csv')
    expect(readme).toContain('| Fine-tuned | 0.400 | 90.0% |')
  })
})

describe('model import refuses bad files with clear errors', () => {
  it('a damaged zip', async () => {
    const run = tuned('head')
    const { built } = await exportAndRead(run, 'merged')
    const bad = built.bytes.slice()
    bad[Math.floor(bad.length / 2)]! ^= 0xff // inside weights.bin (stored, not deflated)
    await expect(readModelZip(bad, 'model.zip')).rejects.toThrow(/model\.zip: "weights\.bin" is damaged/)
    await expect(readModelZip(built.bytes.slice(0, built.bytes.length - 30), 'cut.zip')).rejects.toThrow(/cut\.zip is not a zip file \(or it is truncated\)/)
    await expect(readModelZip(strToU8('just text, not a zip at all'), 'notes.zip')).rejects.toThrow(/notes\.zip is not a zip file/)
  })

  it('a zip that is not a studio export, or whose model.json points outside the zip', async () => {
    await expect(readModelZip(zipSync({ 'photo.jpg': new Uint8Array(10) }), 'photos.zip')).rejects.toThrow(/not a studio export: it has neither model\.json nor tuning\.json \(it holds photo\.jpg\)/)
    const run = tuned('head')
    const files = safeUnzip((await exportAndRead(run, 'merged')).built.bytes, 'x.zip')
    const json = JSON.parse(new TextDecoder().decode(files.get('model.json')!)) as { weightsManifest: { paths: string[] }[] }
    json.weightsManifest[0]!.paths = ['https://evil.example/weights.bin']
    const evil = zipSync({ 'model.json': strToU8(JSON.stringify(json)), 'weights.bin': files.get('weights.bin')! })
    await expect(readModelZip(evil, 'evil.zip')).rejects.toThrow(/evil\.zip: .*https:\/\/evil\.example\/weights\.bin", which is not in evil\.zip/)
  })

  it('zip bombs: a huge unpack ratio, or a header that lies about the size', () => {
    const bomb = zipSync({ 'weights.bin': new Uint8Array(8 * 2 ** 20) }, { level: 9 })
    expect(bomb.length).toBeLessThan(100_000)
    expect(() => safeUnzip(bomb, 'bomb.zip')).toThrow(/bomb\.zip: "weights\.bin" would unpack \d+x larger than it is packed — that looks like a zip bomb/)
    const small = zipSync({ 'model.json': strToU8('{}') })
    // Forge the central directory's uncompressed size (offset 24 in the entry) to 3 GiB.
    const forged = small.slice()
    const cd = findCentral(forged)
    new DataView(forged.buffer).setUint32(cd + 24, 3 * 2 ** 30, true)
    expect(() => safeUnzip(forged, 'liar.zip')).toThrow(/liar\.zip: "model\.json" would unpack to 3\.22 GB, over the 537 MB limit per file/)
    const many = zipSync(Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`f${i}.txt`, strToU8('x')])))
    expect(() => safeUnzip(many, 'many.zip')).toThrow(/many\.zip holds 80 files/)
  })

  it('paths that escape the folder', () => {
    for (const name of ['../evil.js', 'a/../../evil.js', '/etc/passwd', 'C:/Windows/evil.dll', 'a\\..\\evil']) {
      const z = zipSync({ [name]: strToU8('x'), 'model.json': strToU8('{}') })
      expect(() => safeUnzip(z, 'trap.zip'), name).toThrow(/trap\.zip: the entry ".*" points outside the zip's folder/)
    }
  })
})

function findCentral(b: Uint8Array): number {
  for (let i = 0; i < b.length - 4; i++) if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 0x01 && b[i + 3] === 0x02) return i
  throw new Error('no central directory')
}
