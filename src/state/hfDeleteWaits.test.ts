/**
 * When a stored Hugging Face repo's Delete waits (ui/models/HfStoredRepos.tsx), through the real
 * store and the worker events as the bridge hands them on: each Hub load in flight (the store's
 * hf.loads, as actions.ts sendHf records them; several can be out) keeps its repo waiting until
 * its own answer or its own error (the error names its loadId: handler.ts); the answer to a load
 * sent before it does not end it. The e2e test (hf-models.spec) shows the button itself.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { hfDeleteWaits, loadingRepos, onHfError, onHfEvent, useHf } from './hfModels'
import type { HfLoadInFlight } from './parts'
import { useStudio } from './store'

const waits = (repo: string) => {
  const st = useStudio.getState()
  return hfDeleteWaits(repo, { loading: loadingRepos(st.hf.loads), modelId: st.model?.id ?? null, status: st.status })
}
/** A Hub load in flight as actions.ts sendHf records it. */
const hubLoad = (loadId: number, repo: string): HfLoadInFlight => ({ load: { type: 'hfLoad', loadId, source: { kind: 'hub', ref: { repo, revision: 'main' } } }, keeps: true })

afterEach(() => {
  useHf.setState({ loads: [] })
  useStudio.setState({ status: 'idle', model: null })
})

describe("a stored Hugging Face repo's Delete", () => {
  it('waits while its load is out: not ended by the answer to a load sent before it, ended by its own', () => {
    useHf.setState({ loads: [hubLoad(6, 'b/model'), hubLoad(7, 'a/model')] })
    expect(waits('a/model')).toBe('a/model is loading: its files can be deleted once the load has ended.')
    expect(waits('a/model-two'), 'another repo (a name that starts the same)').toBeNull()
    onHfEvent({ type: 'hfLoaded', loadId: 6, loaded: 'model' })
    expect(waits('a/model'), 'after the answer to load 6').not.toBeNull()
    onHfEvent({ type: 'hfLoaded', loadId: 7, loaded: 'model' })
    expect(waits('a/model')).toBeNull()
  })

  it("the load's own error ends the wait (the failed load keeps what came whole, which can then be deleted); other errors meanwhile do not", () => {
    useHf.setState({ loads: [hubLoad(3, 'a/model')] })
    // storage commands are answered even mid-load (handler.ts): their errors carry no loadId
    onHfError({ type: 'error', message: 'Could not rename the checkpoint: the disk is full.', where: 'renameCheckpoint' })
    onHfError({ type: 'error', message: 'mine.csv could not be stored in this browser.', where: 'loadDataset' })
    expect(waits('a/model'), 'after a checkpoint and a dataset error').not.toBeNull()
    onHfError({ type: 'error', loadId: 2, message: 'config.json is missing from the chosen files (notes.json).', where: 'config.json' })
    expect(waits('a/model'), "after the error of load 2, sent before it").not.toBeNull()
    onHfError({ type: 'error', loadId: 3, message: 'Could not download model.safetensors from a/model (HTTP 503).', where: 'model.safetensors' })
    expect(waits('a/model')).toBeNull()
  })

  it('several loads in flight: each keeps its own repo waiting until its own answer or error; a load from files makes none wait', () => {
    const files: HfLoadInFlight = { load: { type: 'hfLoad', loadId: 10, source: { kind: 'files', files: [] } }, keeps: true }
    useHf.setState({ loads: [hubLoad(8, 'a/model'), hubLoad(9, 'b/model'), files] })
    expect(waits('a/model')).not.toBeNull()
    expect(waits('b/model')).not.toBeNull()
    onHfEvent({ type: 'hfLoaded', loadId: 8, loaded: 'model' })
    expect(waits('a/model'), 'a/model after its answer').toBeNull()
    expect(waits('b/model'), 'b/model after the answer to a/model').toBe('b/model is loading: its files can be deleted once the load has ended.')
    onHfError({ type: 'error', loadId: 9, message: 'Could not download model.safetensors from b/model (HTTP 503).', where: 'model.safetensors' })
    expect(waits('b/model')).toBeNull()
    expect(useHf.getState().loads, 'the files load is still out').toEqual([files])
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
