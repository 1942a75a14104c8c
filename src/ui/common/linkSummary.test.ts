import { describe, expect, it } from 'vitest'
import { decodeSettings } from '../../settings/codec'
import { linkSummary } from './linkSummary'

describe('link summary', () => {
  it('names settings by label, keeps the reason short and caps the list', () => {
    const { report } = decodeSettings('?v=2&lr=1e308&bs=abc&zz=1&m=lora&r=8')
    const s = linkSummary(report)
    expect(s.applied).toBe('Method lora, LoRA rank 8')
    expect(s.ignored).toBe('Learning rate (1e308 is outside 1e-6–0.1), Batch size (expected a number, got "abc"), zz (unknown setting)')
    const many = linkSummary(decodeSettings('?v=2&lr=0.002&ep=3&m=lora&r=4&la=8&bs=16&sl=32&wu=0&sd=7').report)
    expect(many.applied).toMatch(/^Learning rate 0\.002, Epochs 3, .* and 3 more$/)
  })

  it('names the language-model choices and the Hub model by label', () => {
    const s = linkSummary(decodeSettings('?v=2&lo=dpo&db=0.05&dw=0.25&hm=owner/model&hv=v1.0').report)
    expect(s.applied).toBe('Objective dpo, DPO beta 0.05, SFT term weight 0.25, Hugging Face model owner/model, Model revision v1.0')
    const bad = linkSummary(decodeSettings('?v=2&hm=a/b/c&db=9').report)
    expect(bad.ignored).toBe('Hugging Face model ("a/b/c" is not of the form owner/name; no model offered), DPO beta (9 is outside 0.01–2)')
  })
})
