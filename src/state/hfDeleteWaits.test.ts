/**
 * When a stored Hugging Face repo's Delete waits (ui/models/HfStoredRepos.tsx), through the real
 * store and the worker events as the bridge hands them on: the Hub load in flight is the one sent
 * last, so the answer to an earlier load (the worker carries commands out in order) does not end
 * it; its own answer or an error does. The e2e test (hf-models.spec) shows the button itself.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { hfDeleteWaits, onHfError, onHfEvent, useHf } from './hfModels'
import { useStudio } from './store'

const waits = (repo: string) => {
  const st = useStudio.getState()
  return hfDeleteWaits(repo, { loading: st.hf.loading?.repo ?? null, modelId: st.model?.id ?? null, status: st.status })
}

afterEach(() => {
  useHf.setState({ loading: null })
  useStudio.setState({ status: 'idle', model: null })
})

describe("a stored Hugging Face repo's Delete", () => {
  it('waits while the load sent last is out: not ended by the answer to a load before it, ended by its own', () => {
    useHf.setState({ loading: { loadId: 7, repo: 'a/model' } })
    expect(waits('a/model')).toBe('a/model is loading: its files can be deleted once the load has ended.')
    expect(waits('a/model-two'), 'another repo (a name that starts the same)').toBeNull()
    onHfEvent({ type: 'hfLoaded', loadId: 6, loaded: 'model' })
    expect(waits('a/model'), 'after the answer to load 6').not.toBeNull()
    onHfEvent({ type: 'hfLoaded', loadId: 7, loaded: 'model' })
    expect(waits('a/model')).toBeNull()
  })

  it('an error ends the wait (the failed load keeps what came whole, which can then be deleted)', () => {
    useHf.setState({ loading: { loadId: 3, repo: 'a/model' } })
    onHfError()
    expect(waits('a/model')).toBeNull()
  })

  it('waits while the open model is in a run, any revision of it, and only then', () => {
    useStudio.setState({ model: { id: 'hf:a/model@v2' } as never }) // the one field read here
    for (const status of ['starting', 'running', 'paused', 'stopping'] as const) {
      useStudio.setState({ status })
      expect(waits('a/model'), status).toBe('a/model is the open model and the run uses it: its files can be deleted once the run has ended.')
      expect(waits('a/model-two'), `${status}: another repo`).toBeNull()
    }
    for (const status of ['idle', 'done'] as const) {
      useStudio.setState({ status })
      expect(waits('a/model'), status).toBeNull()
    }
  })
})
