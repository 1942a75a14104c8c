/**
 * When a stored Hugging Face repo's Delete waits (ui/models/HfStoredRepos.tsx), through the real
 * store and the worker events as the bridge hands them on: the Hub load in flight is the one sent
 * last, so the answer to an earlier load (the worker carries commands out in order) does not end
 * it; its own answer or its own error (the error names its loadId: handler.ts) does. The e2e test (hf-models.spec) shows the button itself.
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

  it("the load's own error ends the wait (the failed load keeps what came whole, which can then be deleted); other errors meanwhile do not", () => {
    useHf.setState({ loading: { loadId: 3, repo: 'a/model' } })
    // storage commands are answered even mid-load (handler.ts): their errors carry no loadId
    onHfError({ type: 'error', message: 'Could not rename the checkpoint: the disk is full.', where: 'renameCheckpoint' })
    onHfError({ type: 'error', message: 'mine.csv could not be stored in this browser.', where: 'loadDataset' })
    expect(waits('a/model'), 'after a checkpoint and a dataset error').not.toBeNull()
    onHfError({ type: 'error', loadId: 2, message: 'config.json is missing from the chosen files (notes.json).', where: 'config.json' })
    expect(waits('a/model'), "after the error of load 2, sent before it").not.toBeNull()
    onHfError({ type: 'error', loadId: 3, message: 'Could not download model.safetensors from a/model (HTTP 503).', where: 'model.safetensors' })
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
