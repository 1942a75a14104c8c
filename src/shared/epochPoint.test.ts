import { describe, expect, it } from 'vitest'
import { epochPoint } from './epochPoint'

describe('epochPoint', () => {
  it('numbers epochs from 1, gives accuracy in percent and only the metrics the task has', () => {
    expect(epochPoint({ epoch: 0, train: { loss: 0.9 }, val: { loss: 0.7, accuracy: 0.625 } })).toEqual({ epoch: 1, trainLoss: 0.9, valLoss: 0.7, valAcc: 62.5 })
    expect(epochPoint({ epoch: 2, train: { loss: 4.1 }, val: { loss: 3.5, perplexity: 33.1 } })).toEqual({ epoch: 3, trainLoss: 4.1, valLoss: 3.5, valPpl: 33.1 })
    expect(epochPoint({ epoch: 4, train: { loss: 20 }, val: { loss: 18, rmse: 4.25 } })).toEqual({ epoch: 5, trainLoss: 20, valLoss: 18, valRmse: 4.25 })
  })
})
