import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../settings/schema'
import { cardReadme, fineTunedFromCard, makeCard } from './modelCard'

describe('model card', () => {
  it('names the line to beat in its metrics table', () => {
    const facts = {
      baseModel: { id: 'tiny-lm', title: 'Tiny LM' },
      dataset: { name: 'mail.csv', source: 'file: mail.csv', task: 'text-classification', rows: 80, classes: [{ name: 'ordinary', count: 40 }] },
      settings: { ...DEFAULTS },
      metrics: { base: { loss: NaN, accuracy: 0.5 }, baseName: 'majority class (ordinary)', tuned: { loss: 0.4, accuracy: 0.74 } },
      date: '2026-12-06T05:00:00.000Z',
    }
    const card = makeCard(facts, 'merged', 1, ['model.json'])
    expect(card.metrics.baseName).toBe('majority class (ordinary)')
    const md = cardReadme(card)
    expect(md).toContain('| Line to beat: majority class (ordinary) | – | 50.0% |')
    expect(md).toContain('| Fine-tuned | 0.400 | 74.0% |')
  })

  it('says, read back, which base an export was fine-tuned from; a pretrained model\'s own card says none', () => {
    const facts = { baseModel: { id: 'emoji-cnn', title: 'Emoji CNN' }, dataset: null, settings: { ...DEFAULTS }, metrics: {}, date: '2026-12-07T20:00:00.000Z' }
    const card = JSON.parse(JSON.stringify(makeCard(facts, 'interpolated', 0.5, ['model.json']))) as Record<string, unknown>
    expect(fineTunedFromCard(card)).toBe('Emoji CNN')
    expect(fineTunedFromCard({ title: 'Emoji CNN (170k parameters, 32×32 RGB)', description: 'pretrained on emoji' })).toBeUndefined()
  })
})
