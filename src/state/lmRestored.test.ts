import { beforeEach, describe, expect, it } from 'vitest'
import type { ModelSummary } from '../worker/protocol'
import { useCheckpoints } from './checkpoints'
import { useLm } from './lmObjectives'
import { useStudio } from './store'
import { bridgeChannel } from './bridgeChannel.testing'

const job = { id: 'job-1', next: 3, settings: useStudio.getState().settings, message: "Restored 2 of 3 self-training rounds on texts.csv: the model is round 2's." }
const model = (id: string) => ({ id, title: id }) as unknown as ModelSummary // the field the page compares

describe('a restored self-training job (state/lmObjectives.ts)', () => {
  beforeEach(() => {
    useStudio.setState({ model: model('tiny-lm'), runId: null, status: 'idle' })
    useCheckpoints.setState({ restoredId: null })
    useLm.setState({ restored: job })
  })

  it('stays restored through what leaves the round’s model in the session: settings, a worker restart’s idle state', () => {
    useStudio.setState((st) => ({ settings: { ...st.settings, epochs: st.settings.epochs + 1 } }))
    useStudio.setState({ status: 'idle', runId: null, busy: null }) // actions.ts restartEngine
    useStudio.setState({ model: model('tiny-lm') }) // the same model loaded again
    expect(useLm.getState().restored).toEqual(job)
  })

  it('is no longer restored once another run, another model or a checkpoint takes the session’s model', () => {
    const worker = bridgeChannel()
    useStudio.getState().startRun('run-normal') // a classification run from step 4
    expect(useLm.getState().restored).toEqual(job) // the worker may still refuse it (refusedRun.test.ts)
    worker.post({ type: 'weightsReset', runId: 'run-normal' }) // it has taken the model
    expect(useLm.getState().restored).toBeNull()
    worker.off()

    useLm.setState({ restored: job })
    useStudio.setState({ model: model('emoji-cnn') })
    expect(useLm.getState().restored).toBeNull()

    useLm.setState({ restored: job })
    useCheckpoints.setState({ restoredId: 'ckpt-7' })
    expect(useLm.getState().restored).toBeNull()
  })
})
