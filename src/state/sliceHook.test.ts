import { describe, expect, it } from 'vitest'
import type { CheckpointMeta } from '../worker/checkpointProtocol'
import type { HfProbe } from '../worker/hfProtocol'
import { onCheckpointEvent, useCheckpoints } from './checkpoints'
import { useDatasets } from './datasets'
import { onHfEvent, useHf } from './hfModels'
import { useLm } from './lmObjectives'
import { useStudio } from './store'
import { bridgeChannel } from './bridgeChannel.testing'

describe('the parts of the one store', () => {
  it('reads and merges one part without touching the others', () => {
    const before = useStudio.getState()
    useDatasets.setState({ currentId: 'd1' })
    const after = useStudio.getState()
    expect(useDatasets.getState().currentId).toBe('d1')
    expect(after.datasets.stored).toBe(before.datasets.stored) // merged, not replaced
    expect(after.checkpoints).toBe(before.checkpoints) // other parts untouched
    expect(after.settings).toBe(before.settings)
    useDatasets.setState((d) => ({ stored: [...d.stored] }))
    expect(useDatasets.getState().currentId).toBe('d1')
  })

  it('a restored checkpoint updates its part and the evaluation in one store update', () => {
    let updates = 0
    const off = useStudio.subscribe(() => void updates++)
    const checkpoint = { id: 'c1', name: 'Epoch 1', epoch: 1 } as CheckpointMeta // the fields the handler reads
    onCheckpointEvent({ type: 'restored', checkpoint, metrics: { loss: 0.5, accuracy: 0.8 }, baseline: { loss: 0.7, accuracy: 0.5 }, baselineNote: 'base' })
    off()
    const st = useStudio.getState()
    expect(useCheckpoints.getState().restoredId).toBe('c1')
    expect(st.lastVal?.accuracy).toBe(0.8)
    expect(st.baseline?.note).toBe('base')
    expect(updates).toBe(2) // the restore itself, then its notice
  })

  it('the LM objectives and Hugging Face models are parts of it: a probe\u2019s answer and the busy line it ends in one update', () => {
    useLm.setState({ beta: 0.25 })
    expect(useStudio.getState().lm.beta).toBe(0.25)
    expect(useStudio.getState().lm.objective).toBe('sft') // merged, not replaced
    useStudio.setState({ busy: { task: 'model', done: 0, total: 1, label: 'Looking at a/b on the Hub' } })
    useHf.setState({ probing: true })
    let updates = 0
    const off = useStudio.subscribe(() => void updates++)
    onHfEvent({ type: 'hfProbe', probe: { repo: 'a/b' } as HfProbe }) // the one field this test reads
    off()
    expect(updates).toBe(1)
    expect(useStudio.getState().busy).toBeNull()
    expect(useHf.getState()).toMatchObject({ probe: { repo: 'a/b' }, probing: false })
  })

  it('a new run forgets the last run\u2019s interpolation once it has set the weights back to the base (its weightsReset), not as it is asked for', () => {
    const worker = bridgeChannel()
    useStudio.setState((st) => ({ exporting: { ...st.exporting, alpha: 0.3, kept: 0.3, best: 0.3 } }))
    useStudio.getState().startRun('r2')
    expect(useStudio.getState().exporting).toMatchObject({ alpha: 0.3, kept: 0.3, best: 0.3 }) // the worker may still refuse it
    worker.post({ type: 'weightsReset', runId: 'r2' })
    expect(useStudio.getState().exporting).toMatchObject({ alpha: 1, kept: 1, best: null, sweep: [] })
    worker.off()
  })
})
