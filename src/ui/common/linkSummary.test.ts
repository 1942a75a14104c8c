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
})
