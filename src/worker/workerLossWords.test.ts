import { describe, expect, it } from 'vitest'
import { workerWords } from './gradientPeer'
import { peerLostTail, peerLostWords } from './workerLossWords'

describe('what the page is told when engine workers stop', () => {
  it('two workers: the words the studio has always used', () => {
    expect(workerWords(1, 2)).toBe('The second training worker')
    expect(peerLostWords({ lost: 1, workers: 2 })).toBe('in this run the second worker stopped, so the first computes every batch')
    expect(peerLostTail('The second training worker ended', { lost: 1, workers: 2 })).toBe(' The second training worker ended; the run went on in one worker with the same numbers, at about half the speed.')
    expect(peerLostWords()).toBe(peerLostWords({ lost: 1, workers: 2 }))
  })
  it('more workers: which one, how many of them, and what the run did', () => {
    expect(workerWords(2, 4)).toBe('Training worker 3 of 4')
    expect(peerLostWords({ lost: 1, workers: 4 })).toBe('in this run 1 of the 3 other workers stopped, so the first computes their shares of every batch')
    expect(peerLostWords({ lost: 3, workers: 4 })).toBe('in this run the other 3 workers stopped, so the first computes every batch')
    expect(peerLostTail('Training worker 3 of 4 ended', { lost: 1, workers: 4 })).toBe(' Training worker 3 of 4 ended; the run went on with the same numbers, the first worker also computing the share of the worker that stopped, so more slowly.')
    expect(peerLostTail('Training worker 2 of 4 ended', { lost: 2, workers: 4 })).toBe(' Training worker 2 of 4 ended; the run went on with the same numbers, the first worker also computing the share of the 2 workers that stopped, so more slowly.')
    expect(peerLostTail('Training worker 2 of 3 ended', { lost: 2, workers: 3 })).toBe(' Training worker 2 of 3 ended; the run went on in one worker with the same numbers, at about 1/3 of the speed.')
  })
})
