import { describe, expect, it } from 'vitest'
import { originWords } from './modelOrigin'

describe('originWords: what follows the model title, said once', () => {
  it("a studio export loaded back, titled '<base> fine-tuned on <data>', says nothing more", () => {
    expect(originWords({ title: 'Tiny LM fine-tuned on small-spam-ham.csv', pretrained: true, finetunedFrom: 'Tiny LM' })).toBeNull()
    expect(originWords({ title: 'my_mlp fine-tuned on people.csv', pretrained: true, finetunedFrom: 'MY_MLP' })).toBeNull()
  })

  it('a title that does not say it names the base', () => {
    expect(originWords({ title: 'studio-e2e-tiny-gpt2-merged.zip', pretrained: true, finetunedFrom: 'sshleifer/tiny-gpt2' })).toBe('fine-tuned from sshleifer/tiny-gpt2')
    // says fine-tuned, but not from which base
    expect(originWords({ title: 'my fine-tuned classifier', pretrained: true, finetunedFrom: 'Tiny LM' })).toBe('fine-tuned from Tiny LM')
    // names the base, but not that it was fine-tuned
    expect(originWords({ title: 'Tiny LM (copy)', pretrained: true, finetunedFrom: 'Tiny LM' })).toBe('fine-tuned from Tiny LM')
  })

  it('a model as published: pretrained or randomly initialised', () => {
    expect(originWords({ title: 'Tiny LM', pretrained: true })).toBe('pretrained')
    expect(originWords({ title: 'Tabular MLP for 3 numeric columns', pretrained: false })).toBe('randomly initialised')
  })
})
