import { describe, expect, it } from 'vitest'
import { SPEC } from './schema'

describe('weight decay help', () => {
  it('is true for every optimizer it is shown with: decoupled for AdamW only, an L2 term for Adam and SGD', () => {
    const help = SPEC.weightDecay.help
    // The old text called it "decoupled, as in AdamW" whichever optimizer was chosen.
    expect(help).not.toMatch(/\(decoupled, as in AdamW\)/)
    expect(help).toMatch(/AdamW shrinks them directly/)
    expect(help).toMatch(/Adam and SGD add it to the gradient as an L2 penalty/)
    const optimizers = (SPEC.optimizer.choices ?? []).map((c) => c.value)
    expect(optimizers.sort()).toEqual(['adam', 'adamw', 'sgd'])
  })
})
