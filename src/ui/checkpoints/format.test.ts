import { describe, expect, it } from 'vitest'
import type { EpochPoint } from '../../worker/checkpointProtocol'
import { metricsText, runProgress } from './format'

const point = (epoch: number, partial = false): EpochPoint => ({ epoch, trainLoss: 0.5, valLoss: 0.6, ...(partial ? { partial: true as const } : {}) })

describe('how far a run got, in the Runs list (runProgress)', () => {
  it('a run stopped inside its second epoch of three: the epoch it stopped in, and the one trained in full', () => {
    expect(runProgress({ status: 'stopped', epochs: [point(1), point(2, true)] })).toBe('stopped in epoch 2 · 1 epoch trained in full')
    expect(runProgress({ status: 'stopped', epochs: [point(1), point(2), point(3), point(4, true)] })).toBe('stopped in epoch 4 · 3 epochs trained in full')
    expect(runProgress({ status: 'stopped', epochs: [point(1, true)] })).toBe('stopped in epoch 1 · none trained in full')
  })

  it('whole epochs are counted as before, also in records stored before the mark', () => {
    expect(runProgress({ status: 'stopped', epochs: [point(1), point(2)] })).toBe('stopped · 2 epochs')
    expect(runProgress({ status: 'finished', epochs: [point(1)] })).toBe('finished · 1 epoch')
    expect(runProgress({ status: 'running', epochs: [] })).toBe('running · 0 epochs')
  })
})

describe('a checkpoint\'s metrics line (metricsText)', () => {
  it('a large perplexity has thousands separators', () => {
    expect(metricsText({ loss: 9.421, perplexity: 12345.6 })).toBe('val loss 9.421 · perplexity 12,345.60')
  })
})
