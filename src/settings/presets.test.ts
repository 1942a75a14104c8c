import { describe, expect, it } from 'vitest'
import { applyPreset, matchPreset, presetById, PRESETS } from './presets'
import { coerce, DEFAULTS } from './schema'
import type { Settings } from './types'
import { validateSettings } from './validate'

describe('presets', () => {
  it('includes the named starting points', () => {
    expect(PRESETS.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'Head only (linear probe)',
        'Last block + head (default)',
        'LoRA r=8',
        'Adapters',
        'Full fine-tune, gentle',
        'Gradual unfreezing',
      ]),
    )
    const ids = PRESETS.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const p of PRESETS) {
      expect(p.sentence).toMatch(/^[A-Z].*\.$/)
      expect(p.sentence.split(/\.\s/)).toHaveLength(1) // one sentence
    }
  })

  it('holds only values the schema accepts', () => {
    for (const p of PRESETS) {
      for (const [k, v] of Object.entries(p.settings)) {
        expect(coerce(k as keyof Settings, v), `${p.id}.${k}`).toMatchObject({ ok: true, value: v })
      }
    }
  })

  it('gives settings that train the built-in model on the sample data', () => {
    const ctx = { trainSize: 480, nLayers: 4, dModel: 64, hasHead: true }
    for (const p of PRESETS) expect(validateSettings(applyPreset(DEFAULTS, p), ctx), p.id).toEqual([])
  })

  it('resets the recipe but keeps the environment', () => {
    const mine: Settings = { ...DEFAULTS, backend: 'wasm', seed: 7, learningRate: 0.05, loraRank: 2 }
    const lora = presetById('lora-r8')
    if (!lora) throw new Error('missing preset')
    const s = applyPreset(mine, lora)
    expect(s).toMatchObject({ method: 'lora', backend: 'wasm', seed: 7, learningRate: 2e-3, loraRank: 8 })
  })

  it('recognises the default as the "last block" preset, and a changed one as none', () => {
    expect(matchPreset(DEFAULTS)?.id).toBe('last-block')
    expect(matchPreset({ ...DEFAULTS, learningRate: 0.05 })).toBeUndefined()
    const full = presetById('full-gentle')
    if (!full) throw new Error('missing preset')
    expect(matchPreset(applyPreset(DEFAULTS, full))?.id).toBe('full-gentle')
  })
})
