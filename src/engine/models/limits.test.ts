// The limits the built-in models declare, read from their real weights, and the settings
// check that uses them: it refuses what `new Tuning` would throw on, on the control to change,
// with a value that works — and that value really does build.
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import type { Settings } from '../../settings/types'
import { contextFromLimits, validateSettings } from '../../settings/validate'
import { Tuning } from '../train/fineTune'
import { checkCnnModelJson, tinyCnnFromParts } from './cnnFile'
import { modelLimits } from './limits'
import { loadTinyGpt } from './modelFile'
import type { TinyCnn } from './tinyCnn'
import type { TinyGpt } from './tinyGpt'
import { smallModel } from '../tuning/testUtils'

const root = path.resolve(import.meta.dirname, '../../..')
const fileFetch = async (url: string) => new Response(await readFile(path.join(root, 'public', url.replace(/^\//, ''))))

let cnn: TinyCnn
let gpt: TinyGpt
beforeAll(async () => {
  await tf.setBackend('cpu')
  const dir = path.join(root, 'public/models/emoji-cnn')
  cnn = tinyCnnFromParts(checkCnnModelJson(JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')), 'model.json'), new Uint8Array(readFileSync(path.join(dir, 'weights.bin'))))
  gpt = (await loadTinyGpt('/models/tiny-lm/model.json', fileFetch)).model
})
afterAll(() => {
  cnn.dispose()
  gpt.dispose()
})

const lora = (rank: number, extra: Partial<Settings> = {}): Settings => ({ ...DEFAULTS, method: 'lora', loraRank: rank, loraAlpha: 2 * rank, ...extra })
const images = { rows: 200, task: 'image-classification' } // 160 training images at a 0.2 split

describe('model limits', () => {
  it('the emoji CNN: LoRA on its pointwise convs, capped by b0.pw (32 → 64 channels); no adapters', () => {
    // Its card: a 32-channel stem, then blocks of 64, 96, 96, 192, 192, 192, 256 channels.
    const limits = modelLimits(cnn)
    expect(limits).toEqual({ nLayers: 7, width: 256, methods: ['head', 'freeze', 'lora', 'full', 'custom'], why: { adapter: 'Adapters go between the blocks of a transformer; this CNN has none' }, lora: [{ target: 'pointwise', layer: 'b0.pw', maxRank: 32 }], loraTargetsChosen: false })
  })

  it('the tiny LM: every method, each LoRA target capped by d = 128, 128-token context', () => {
    const limits = modelLimits(gpt)
    expect(limits.methods).toEqual(['head', 'freeze', 'lora', 'adapter', 'full', 'custom'])
    expect(limits.lora.map((l) => [l.target, l.layer, l.maxRank])).toEqual([
      ['qkv', 'h0.attn.qkv', 128],
      ['proj', 'h0.attn.proj', 128],
      ['fc', 'h0.mlp.fc', 128],
      ['out', 'h0.mlp.out', 128],
    ])
    expect(limits).toMatchObject({ nLayers: 4, width: 128, loraTargetsChosen: true, maxSeqLen: 128 })
  })

  it('LoRA rank 48 on the emoji CNN is refused on the LoRA rank control with 32, and 32 builds while 33 does not', () => {
    const ctx = contextFromLimits(modelLimits(cnn), images, DEFAULTS)
    expect(ctx.trainSize).toBe(160)
    const problems = validateSettings(lora(48), ctx)
    expect(problems.map((p) => p.field)).toEqual(['loraRank'])
    expect(problems[0]!.message).toMatch(/LoRA rank 48 is larger than layer b0\.pw allows/)
    expect(problems[0]!.message).toMatch(/set LoRA rank to 32 or less/)
    // Without the model's limits (the check before), only the width 256 was known: 48 passed.
    expect(validateSettings(lora(48), { ...ctx, limits: undefined }).map((p) => p.field)).toEqual([])

    expect(validateSettings(lora(32), ctx)).toEqual([])
    const ok = new Tuning(cnn, lora(32), 5)
    expect(ok.lora?.params.length).toBe(14) // A and B for each of the 7 pointwise convs
    ok.dispose()
    expect(validateSettings(lora(33), ctx).map((p) => p.field)).toEqual(['loraRank'])
    expect(() => new Tuning(cnn, lora(33), 5)).toThrow(/LoRA rank 33 is too large for layer b0\.pw/)
  })

  it('adapters on the emoji CNN are refused on the Method control, naming the methods that work', () => {
    const ctx = contextFromLimits(modelLimits(cnn), images, DEFAULTS)
    const problems = validateSettings({ ...DEFAULTS, method: 'adapter' }, ctx)
    expect(problems).toEqual([
      { field: 'method', message: 'Adapters go between the blocks of a transformer; this CNN has none; choose "Head only (linear probe)", "Freeze early blocks", "LoRA", "Full fine-tune" or "Choose blocks to freeze".' },
    ])
    expect(() => new Tuning(cnn, { ...DEFAULTS, method: 'adapter' }, 5)).toThrow()
    // A model that gives no reason gets a plain refusal, still naming what works.
    const plain = { ...ctx, limits: { ...ctx.limits!, why: undefined, methods: ['head', 'full'] as const } }
    expect(validateSettings({ ...DEFAULTS, method: 'lora' }, plain)).toEqual([{ field: 'method', message: 'This model cannot train with "LoRA"; choose "Head only (linear probe)" or "Full fine-tune".' }])
  })

  it('a transformer caps LoRA rank at its width, and sequence length at its context', () => {
    // The tiny LM (d = 128) is wider than the schema's largest rank (64): only its context limits.
    const lm = contextFromLimits(modelLimits(gpt), { rows: 600, task: 'text-classification' }, DEFAULTS)
    expect(validateSettings(lora(64, { loraAlpha: 128, loraTargets: 'qkv,fc' }), lm)).toEqual([])
    expect(validateSettings({ ...DEFAULTS, seqLen: 256 }, lm)).toEqual([{ field: 'seqLen', message: expect.stringMatching(/covers only 128 tokens; set Sequence length to 128 or less/) }])
    // A narrow one (d = 16): rank 24 is refused on LoRA rank with 16, which builds.
    const narrow = smallModel({ seqLen: DEFAULTS.seqLen })
    const ctx = contextFromLimits(modelLimits(narrow), { rows: 600, task: 'text-classification' }, DEFAULTS)
    const problems = validateSettings(lora(24, { loraTargets: 'proj' }), ctx)
    expect(problems.map((p) => p.field)).toEqual(['loraRank'])
    expect(problems[0]!.message).toMatch(/layer h0\.attn\.proj allows .* set LoRA rank to 16 or less/)
    expect(() => new Tuning(narrow, lora(24, { loraTargets: 'proj' }), 2)).toThrow(/LoRA rank 24 is too large/)
    const ok = new Tuning(narrow, lora(16, { loraTargets: 'proj' }), 2)
    expect(validateSettings(lora(16, { loraTargets: 'proj' }), ctx)).toEqual([])
    ok.dispose()
    narrow.dispose()
  })
})
